"""The bot's own memory: users, their bookings, and each chat's conversation state, in SQLite.

One file, WAL journal (readers never block the writer), a busy timeout (a second process such
as a health check does not fail at once). The schema is versioned in `meta` and migrated on open
by an ordered list of migrations, so a newer bot opens an older file and upgrades it in place.

Writes are counted (`writes`, one per committed transaction) because the benchmark reports
SQLite writes per update; `batch()` groups several writes of one event into one transaction.
No row is ever deleted implicitly: a file that cannot be read raises StorageError instead of
being recreated, so data is never lost silently.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlite_utils


class StorageError(Exception):
    """The database cannot be opened or used; `str()` is one line for the operator."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---- schema ---------------------------------------------------------------------------------


def _create(db: sqlite_utils.Database, name: str, columns: dict[str, type], **kw: Any) -> None:
    """CREATE TABLE inside the caller's transaction (Table.create would commit on its own)."""
    db.execute(db.create_table_sql(name, columns, **kw))


def _m1_initial(db: sqlite_utils.Database) -> None:
    _create(
        db,
        "users",
        {"user_id": int, "language": str, "prefs": str, "created_at": str, "updated_at": str},
        pk="user_id",
        not_null={"created_at", "updated_at"},
    )
    _create(
        db,
        "bookings",
        {
            "id": int,
            "user_id": int,
            "chat_id": int,
            "appointment_id": str,
            "service_id": str,
            "service_name": str,
            "location_id": str,
            "location_name": str,
            "location_address": str,
            "timezone": str,
            "start": str,
            "end": str,
            "status": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"user_id", "chat_id", "appointment_id", "start", "status"},
    )
    db.execute("CREATE INDEX idx_bookings_user_id ON bookings (user_id)")
    db.execute("CREATE UNIQUE INDEX idx_bookings_appointment_id ON bookings (appointment_id)")
    _create(
        db,
        "conversations",
        {"chat_id": int, "user_id": int, "state": str, "pending": int, "updated_at": str},
        pk="chat_id",
        not_null={"state"},
        defaults={"pending": 0},
    )
    db.execute("CREATE INDEX idx_conversations_pending ON conversations (pending)")


# Ordered: migration N brings the schema from version N-1 to N. Append, never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_m1_initial]
SCHEMA_VERSION = len(MIGRATIONS)


# ---- rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRow:
    """A booking as the bot remembers it; `start`/`end` are aware UTC datetimes."""

    id: int
    user_id: int
    chat_id: int
    appointment_id: str
    service_id: str
    service_name: str
    location_id: str
    location_name: str
    location_address: str
    timezone: str
    start: datetime
    end: datetime | None
    status: str
    created_at: str
    updated_at: str

    @property
    def active(self) -> bool:
        return self.status not in {"cancelled", "canceled", "released", "expired"}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BookingRow:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            appointment_id=row["appointment_id"],
            service_id=row["service_id"] or "",
            service_name=row["service_name"] or "",
            location_id=row["location_id"] or "",
            location_name=row["location_name"] or "",
            location_address=row["location_address"] or "",
            timezone=row["timezone"] or "UTC",
            start=datetime.fromisoformat(row["start"]),
            end=datetime.fromisoformat(row["end"]) if row["end"] else None,
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(frozen=True)
class ConversationRow:
    chat_id: int
    user_id: int
    state: str


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


# ---- the store --------------------------------------------------------------------------------


class Storage:
    """Synchronous SQLite access; calls are short, so the event loop calls it directly."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.writes = 0
        self._depth = 0
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 5000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            check = self._conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise StorageError(f"{path}: SQLite integrity check failed ({check})")
            self.db = sqlite_utils.Database(self._conn)
            self._migrate()
        except sqlite3.Error as exc:
            self._close_quietly()
            raise StorageError(f"{path}: cannot open the bot database: {exc}") from None
        except StorageError:
            self._close_quietly()
            raise

    def _close_quietly(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self._conn.close()

    # -- transactions --

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one transaction (counted as one write); nests."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
            self.writes += 1
        finally:
            self._depth = 0

    def _write(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> sqlite3.Cursor:
        try:
            with self.batch():
                return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: write failed: {exc}") from None

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        try:
            cursor = self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: read failed: {exc}") from None
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- schema --

    @property
    def schema_version(self) -> int:
        if not self.db["meta"].exists():
            return 0
        rows = self._read("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0]["value"]) if rows else 0

    def _migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path}: schema version {current} is newer than this bot ({SCHEMA_VERSION})"
            )
        if current == 0 and set(self.db.table_names()) - {"meta"}:
            raise StorageError(f"{self.path}: has tables but no schema version; not a bot db")
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.batch():
                if not self.db["meta"].exists():
                    _create(self.db, "meta", {"key": str, "value": str}, pk="key")
                MIGRATIONS[version - 1](self.db)
                self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (str(version),),
                )

    # -- users --

    def get_language(self, user_id: int) -> str | None:
        rows = self._read("SELECT language FROM users WHERE user_id = ?", (user_id,))
        return rows[0]["language"] if rows else None

    def set_language(self, user_id: int, language: str) -> None:
        now = _now()
        self._write(
            "INSERT INTO users (user_id, language, prefs, created_at, updated_at) "
            "VALUES (?, ?, '{}', ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
            "language = excluded.language, updated_at = excluded.updated_at",
            (user_id, language, now, now),
        )

    def get_prefs(self, user_id: int) -> dict[str, Any]:
        rows = self._read("SELECT prefs FROM users WHERE user_id = ?", (user_id,))
        return json.loads(rows[0]["prefs"] or "{}") if rows else {}

    # -- bookings --

    def add_booking(
        self,
        *,
        user_id: int,
        chat_id: int,
        appointment_id: str,
        service_id: str,
        service_name: str,
        location_id: str,
        location_name: str,
        location_address: str,
        timezone: str,
        start: datetime,
        end: datetime | None,
        status: str,
    ) -> int:
        """Insert (or, for a replayed confirm, update) a booking; returns its local id."""
        now = _now()
        self._write(
            "INSERT INTO bookings (user_id, chat_id, appointment_id, service_id, service_name, "
            "location_id, location_name, location_address, timezone, start, end, status, "
            "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(appointment_id) DO UPDATE SET start = excluded.start, "
            "end = excluded.end, status = excluded.status, updated_at = excluded.updated_at",
            (
                user_id,
                chat_id,
                appointment_id,
                service_id,
                service_name,
                location_id,
                location_name,
                location_address,
                timezone,
                _iso(start),
                _iso(end),
                status,
                now,
                now,
            ),
        )
        rows = self._read("SELECT id FROM bookings WHERE appointment_id = ?", (appointment_id,))
        return int(rows[0]["id"])

    def update_booking(
        self,
        booking_id: int,
        *,
        status: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self._write(
            "UPDATE bookings SET status = COALESCE(?, status), start = COALESCE(?, start), "
            "end = COALESCE(?, end), updated_at = ? WHERE id = ?",
            (status, _iso(start), _iso(end), _now(), booking_id),
        )

    def get_booking(self, booking_id: int) -> BookingRow | None:
        rows = self._read("SELECT * FROM bookings WHERE id = ?", (booking_id,))
        return BookingRow.from_row(rows[0]) if rows else None

    def bookings_for_user(self, user_id: int) -> list[BookingRow]:
        rows = self._read("SELECT * FROM bookings WHERE user_id = ? ORDER BY start", (user_id,))
        return [BookingRow.from_row(r) for r in rows]

    # -- conversations --

    def load_conversation(self, chat_id: int) -> ConversationRow | None:
        rows = self._read(
            "SELECT chat_id, user_id, state FROM conversations WHERE chat_id = ?", (chat_id,)
        )
        return ConversationRow(**rows[0]) if rows else None

    def save_conversation(self, chat_id: int, user_id: int, state: str, *, pending: bool) -> None:
        self._write(
            "INSERT INTO conversations (chat_id, user_id, state, pending, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(chat_id) DO UPDATE SET user_id = excluded.user_id, "
            "state = excluded.state, pending = excluded.pending, updated_at = excluded.updated_at",
            (chat_id, user_id, state, int(pending), _now()),
        )

    def pending_conversations(self) -> list[ConversationRow]:
        rows = self._read("SELECT chat_id, user_id, state FROM conversations WHERE pending = 1")
        return [ConversationRow(**r) for r in rows]

    def forget_user(self, user_id: int) -> None:
        """Delete every row about a customer (their bookings at the business stay there)."""
        with self.batch():
            self._write("DELETE FROM bookings WHERE user_id = ?", (user_id,))
            self._write("DELETE FROM conversations WHERE user_id = ?", (user_id,))
            self._write("DELETE FROM users WHERE user_id = ?", (user_id,))

    def conversation_count(self) -> int:
        return int(self._read("SELECT count(*) AS n FROM conversations")[0]["n"])
