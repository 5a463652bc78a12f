"""The bot's own memory: users, their bookings, and each chat's conversation state, in SQLite.

One file, WAL journal (readers never block the writer), a busy timeout (a second process such
as a health check does not fail at once). The schema is versioned in `meta` and migrated on open
by an ordered list of migrations, so a newer bot opens an older file and upgrades it in place.

One file and one connection for every business of the process (issue 19): each row carries
its business, a `Storage` is scoped to one (`for_business` makes another on the same
connection), and every statement binds the business the one way bot.store.scope checks.

Writes are counted (`writes`, one per committed transaction) because the benchmark reports
SQLite writes per update; `batch()` groups several writes of one event into one transaction.
No row is ever deleted implicitly: a file that cannot be read raises StorageError instead of
being recreated, so data is never lost silently.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import partialmethod
from typing import Any

import sqlite_utils

from bot.core.lifecycle import Notice, Stored, Write
from bot.core.records import (
    INACTIVE_STATUSES,
    BookingRow,
    ConversationRow,
    FunnelEvent,
    NoticeRow,
    ReminderRow,
    WaitlistRow,
)
from bot.store import files as db_files
from bot.store.scope import check_scoped


class StorageError(Exception):
    """The database cannot be opened or used; `str()` is one line for the operator."""


def _real_now() -> datetime:
    return datetime.now(UTC)


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


def _m2_reminders_and_funnel(db: sqlite_utils.Database) -> None:
    """Reminders (one row per booking and offset) and the anonymous booking funnel.

    A reminder row dies with its booking (ON DELETE CASCADE), so deleting a customer's bookings
    can never leave a reminder behind. Funnel rows carry no user or chat id at all: `attempt` is
    a random id of one booking attempt, so statistics survive /forget without being personal.
    """
    db.execute(
        "CREATE TABLE reminders ("
        " id INTEGER PRIMARY KEY,"
        " booking_id INTEGER NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " offset_minutes INTEGER NOT NULL,"
        " due_at TEXT NOT NULL,"
        " language TEXT,"
        " status TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " sent_at TEXT,"
        " created_at TEXT NOT NULL,"
        " UNIQUE (booking_id, offset_minutes))"
    )
    db.execute("CREATE INDEX idx_reminders_due ON reminders (status, due_at)")
    db.execute("CREATE INDEX idx_reminders_user_id ON reminders (user_id)")
    db.execute(
        "CREATE TABLE funnel ("
        " id INTEGER PRIMARY KEY,"
        " at TEXT NOT NULL,"
        " attempt TEXT NOT NULL,"
        " event TEXT NOT NULL,"
        " step TEXT,"
        " location_name TEXT,"
        " service_name TEXT)"
    )
    db.execute("CREATE INDEX idx_funnel_at ON funnel (at)")


def _m3_ledger(db: sqlite_utils.Database) -> None:
    """What the booking ledger (bot.followup.ledger) keeps besides the booking itself.

    bookings.language: the language the customer used when they last booked or changed it, for
    reminders and notices sent outside a conversation. bookings.checked_at / next_check_at: when
    the appointment was last compared with Zimun and when it is due again (the reconcile
    schedule, bot.core.cadence); NULL next_check_at means "as soon as possible".

    notices: the customer's outbox of changes made at the business (cancelled, moved), written
    in the same transaction as the booking's change and claimed before sending, so each is sent
    at most once and a restart finds the ones not sent yet. A notice dies with its booking.
    """
    db.execute("ALTER TABLE bookings ADD COLUMN language TEXT")
    db.execute("ALTER TABLE bookings ADD COLUMN checked_at TEXT")
    db.execute("ALTER TABLE bookings ADD COLUMN next_check_at TEXT")
    db.execute("CREATE INDEX idx_bookings_next_check ON bookings (next_check_at)")
    db.execute(
        "CREATE TABLE notices ("
        " id INTEGER PRIMARY KEY,"
        " booking_id INTEGER NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " kind TEXT NOT NULL,"
        " start TEXT NOT NULL,"
        " previous_start TEXT NOT NULL,"
        " language TEXT,"
        " status TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL,"
        " sent_at TEXT)"
    )
    db.execute("CREATE INDEX idx_notices_status ON notices (status, id)")
    db.execute("CREATE INDEX idx_notices_booking_id ON notices (booking_id)")
    db.execute("CREATE INDEX idx_notices_user_id ON notices (user_id)")


def _m4_waitlist(db: sqlite_utils.Database) -> None:
    """The waiting list (bot.chat.waitlist, bot.followup.waitlist_watch): customers who asked to be
    told when a time frees up on a full day, for one service at one branch.

    One row per customer, service, branch and day (`day` is the branch's calendar day,
    `ends_at` its end as a UTC instant: the entry ends then). `status`: waiting (polled),
    due (a free time was found for it: to tell), told (claimed before sending: never told
    twice), booked (the customer booked that day). `joined_at` orders the line (first come,
    first told); `next_check_at` is when availability is next asked for its service and branch
    (the same for every waiting entry of the pair); `checked_at` when its day was last judged;
    `offered_at` when a free time was found for it (the offer's exclusive window starts then).
    """
    db.execute(
        "CREATE TABLE waitlist ("
        " id INTEGER PRIMARY KEY,"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " service_id TEXT NOT NULL,"
        " service_name TEXT NOT NULL DEFAULT '',"
        " location_id TEXT NOT NULL,"
        " location_name TEXT NOT NULL DEFAULT '',"
        " timezone TEXT NOT NULL,"
        " day TEXT NOT NULL,"
        " ends_at TEXT NOT NULL,"
        " language TEXT,"
        " status TEXT NOT NULL DEFAULT 'waiting',"
        " joined_at TEXT NOT NULL,"
        " next_check_at TEXT,"
        " checked_at TEXT,"
        " offered_at TEXT,"
        " told_at TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (user_id, service_id, location_id, day))"
    )
    db.execute("CREATE INDEX idx_waitlist_status ON waitlist (status, next_check_at)")
    db.execute("CREATE INDEX idx_waitlist_pair ON waitlist (service_id, location_id, day)")
    db.execute("CREATE INDEX idx_waitlist_ends_at ON waitlist (ends_at)")


def _m5_booked_at(db: sqlite_utils.Database) -> None:
    """bookings.booked_at: when the customer booked, by the bot's clock (the one its rules
    read), for the cap on bookings per customer in 24 hours (MAX_BOOKINGS_PER_DAY); created_at
    is the wall clock's bookkeeping. Older rows take their created_at."""
    db.execute("ALTER TABLE bookings ADD COLUMN booked_at TEXT")
    db.execute("UPDATE bookings SET booked_at = created_at")
    db.execute("CREATE INDEX idx_bookings_user_booked ON bookings (user_id, booked_at)")


# Tables rebuilt by _m6_business, as they are from schema 6 on: `business` leads every key.
_BUSINESS_TABLES: dict[str, str] = {
    "users": (
        "CREATE TABLE {name} ("
        " business TEXT NOT NULL DEFAULT '',"
        " user_id INTEGER NOT NULL,"
        " language TEXT,"
        " prefs TEXT,"
        " created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL,"
        " PRIMARY KEY (business, user_id))"
    ),
    "bookings": (
        "CREATE TABLE {name} ("
        " id INTEGER PRIMARY KEY,"
        " business TEXT NOT NULL DEFAULT '',"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " appointment_id TEXT NOT NULL,"
        " service_id TEXT,"
        " service_name TEXT,"
        " location_id TEXT,"
        " location_name TEXT,"
        " location_address TEXT,"
        " timezone TEXT,"
        " start TEXT NOT NULL,"
        ' "end" TEXT,'
        " status TEXT NOT NULL,"
        " created_at TEXT,"
        " updated_at TEXT,"
        " language TEXT,"
        " checked_at TEXT,"
        " next_check_at TEXT,"
        " booked_at TEXT,"
        " UNIQUE (business, id),"
        " UNIQUE (business, appointment_id))"
    ),
    "conversations": (
        "CREATE TABLE {name} ("
        " business TEXT NOT NULL DEFAULT '',"
        " chat_id INTEGER NOT NULL,"
        " user_id INTEGER,"
        " state TEXT NOT NULL,"
        " pending INTEGER DEFAULT 0,"
        " updated_at TEXT,"
        " PRIMARY KEY (business, chat_id))"
    ),
    "reminders": (
        "CREATE TABLE {name} ("
        " id INTEGER PRIMARY KEY,"
        " business TEXT NOT NULL DEFAULT '',"
        " booking_id INTEGER NOT NULL,"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " offset_minutes INTEGER NOT NULL,"
        " due_at TEXT NOT NULL,"
        " language TEXT,"
        " status TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " sent_at TEXT,"
        " created_at TEXT NOT NULL,"
        " UNIQUE (business, booking_id, offset_minutes),"
        " FOREIGN KEY (business, booking_id) REFERENCES bookings (business, id)"
        " ON DELETE CASCADE)"
    ),
    "notices": (
        "CREATE TABLE {name} ("
        " id INTEGER PRIMARY KEY,"
        " business TEXT NOT NULL DEFAULT '',"
        " booking_id INTEGER NOT NULL,"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " kind TEXT NOT NULL,"
        " start TEXT NOT NULL,"
        " previous_start TEXT NOT NULL,"
        " language TEXT,"
        " status TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " created_at TEXT NOT NULL,"
        " sent_at TEXT,"
        " FOREIGN KEY (business, booking_id) REFERENCES bookings (business, id)"
        " ON DELETE CASCADE)"
    ),
    "waitlist": (
        "CREATE TABLE {name} ("
        " id INTEGER PRIMARY KEY,"
        " business TEXT NOT NULL DEFAULT '',"
        " user_id INTEGER NOT NULL,"
        " chat_id INTEGER NOT NULL,"
        " service_id TEXT NOT NULL,"
        " service_name TEXT NOT NULL DEFAULT '',"
        " location_id TEXT NOT NULL,"
        " location_name TEXT NOT NULL DEFAULT '',"
        " timezone TEXT NOT NULL,"
        " day TEXT NOT NULL,"
        " ends_at TEXT NOT NULL,"
        " language TEXT,"
        " status TEXT NOT NULL DEFAULT 'waiting',"
        " joined_at TEXT NOT NULL,"
        " next_check_at TEXT,"
        " checked_at TEXT,"
        " offered_at TEXT,"
        " told_at TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " UNIQUE (business, user_id, service_id, location_id, day))"
    ),
}

# Every index of the business's tables from schema 6 on, the business first: each query filters
# by it, so an index not led by it would be scanned across every business.
_BUSINESS_INDEXES = (
    "CREATE INDEX idx_bookings_user_booked ON bookings (business, user_id, booked_at)",
    "CREATE INDEX idx_bookings_next_check ON bookings (business, next_check_at)",
    "CREATE INDEX idx_conversations_pending ON conversations (business, pending)",
    "CREATE INDEX idx_reminders_due ON reminders (business, status, due_at)",
    "CREATE INDEX idx_reminders_user_id ON reminders (business, user_id)",
    "CREATE INDEX idx_notices_status ON notices (business, status, id)",
    "CREATE INDEX idx_notices_booking_id ON notices (business, booking_id)",
    "CREATE INDEX idx_notices_user_id ON notices (business, user_id)",
    "CREATE INDEX idx_waitlist_status ON waitlist (business, status, next_check_at)",
    "CREATE INDEX idx_waitlist_pair ON waitlist (business, service_id, location_id, day)",
    "CREATE INDEX idx_waitlist_ends_at ON waitlist (business, ends_at)",
    "CREATE INDEX idx_funnel_at ON funnel (business, at)",
)


def _m6_business(db: sqlite_utils.Database) -> None:
    """One database for many businesses (issue 19): every table that holds a business's data
    gets `business` (the id from BUSINESSES_FILE; '' for the one business from the
    environment, so every existing row stays that business's), and every key that names a
    user, chat, booking, appointment or waiting-list entry includes it. Ids (bookings.id and
    the outboxes' ids) stay global, so the ones in callback payloads stay unique; a lookup by id
    also checks the business.

    SQLite cannot change a primary key or a UNIQUE constraint in place: each table is copied
    into its new shape, the old one dropped and the new one renamed, in this migration's
    transaction (foreign keys are off meanwhile, as SQLite's documented procedure says, so
    dropping the old bookings cascades into nothing; they are checked before commit). A
    reminder's or notice's booking is its business's: the foreign key is (business, id).
    idx_bookings_user_id goes: idx_bookings_user_booked starts with the same columns.
    """
    for table, create in _BUSINESS_TABLES.items():
        columns = ", ".join(f'"{c}"' for c in db[table].columns_dict)
        db.execute(create.format(name=f"{table}_v6"))
        db.execute(f"INSERT INTO {table}_v6 ({columns}) SELECT {columns} FROM {table}")
    for table in ("reminders", "notices", "waitlist", "conversations", "users", "bookings"):
        db.execute(f"DROP TABLE {table}")
    for table in _BUSINESS_TABLES:
        db.execute(f"ALTER TABLE {table}_v6 RENAME TO {table}")
    db.execute("ALTER TABLE funnel ADD COLUMN business TEXT NOT NULL DEFAULT ''")
    db.execute("DROP INDEX idx_funnel_at")
    for index in _BUSINESS_INDEXES:
        db.execute(index)
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StorageError(f"migration to schema 6 left {len(broken)} rows without their booking")


# Ordered: migration N brings the schema from version N-1 to N. Append, never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m1_initial,
    _m2_reminders_and_funnel,
    _m3_ledger,
    _m4_waitlist,
    _m5_booked_at,
    _m6_business,
]
SCHEMA_VERSION = len(MIGRATIONS)
SCRUBBED = "free_space_scrubbed"  # meta key: the one VACUUM of an older database is done


# ---- rows -----------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _utc(value: datetime) -> str:
    """A fixed-width UTC timestamp, so SQL compares them as strings in time order."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _maybe_utc(value: datetime | None) -> str | None:
    return _utc(value) if value is not None else None


@dataclass(frozen=True)
class Outbox:
    """A table of messages the bot sends on its own: a row moves from `due` to `claimed` (its
    time in `claimed_at`, attempts counted) before it is sent, back after a send that
    certainly failed, or to `skipped` when it is no longer worth sending."""

    table: str
    due: str
    claimed: str
    claimed_at: str


REMINDERS = Outbox("reminders", due="pending", claimed="sent", claimed_at="sent_at")
NOTICES = Outbox("notices", due="pending", claimed="sent", claimed_at="sent_at")
WAITLIST = Outbox("waitlist", due="due", claimed="told", claimed_at="told_at")


# ---- the store --------------------------------------------------------------------------------


class _Shared:
    """What every business's Storage on one file shares: the one connection (one file handle
    for a thousand businesses), the lock that keeps one thread's transaction whole, the clock,
    and the transaction machinery (nesting depth, writes counted, erasure after a /forget)."""

    def __init__(self, conn: sqlite3.Connection, now: Callable[[], datetime]) -> None:
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self.now = now
        self.lock = threading.RLock()
        self.writes = 0
        self.depth = 0
        self.erase_after_commit = False  # set by deletions of personal data (db_files)


class Storage:
    """Synchronous SQLite access for one business; calls are short, so the event loop calls it
    directly.

    `Storage(path)` opens the file (and migrates it); `for_business(id)` gives the same file's
    storage for another business, sharing the connection: no new file handle, cheap enough to
    make for each of a thousand businesses. The business '' is the one business configured by
    the environment (every row written before businesses existed is its). Every statement on a
    business's table binds the business (bot.store.scope), so one business's storage can never
    read or write another's rows. Only the storage that opened the file closes it: `close()` on
    one made by `for_business` does nothing, and the opener's close ends them all.
    """

    def __init__(
        self, path: str, *, now: Callable[[], datetime] = _real_now, business: str = ""
    ) -> None:
        self.path = path
        self.business = business
        self._owner = True
        try:
            db_files.make_private(path)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._shared = _Shared(conn, now)
            self._conn = conn
            self.db = self._shared.db
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise StorageError(f"{path}: SQLite integrity check failed ({check})")
            older = self.schema_version > 0
            self._migrate()
            self._scrub_once(older)
        except sqlite3.Error as exc:
            self._close_quietly()
            raise StorageError(f"{path}: cannot open the bot database: {exc}") from None
        except StorageError:
            self._close_quietly()
            raise

    def for_business(self, business_id: str) -> Storage:
        """The storage of `business_id` on this one's file, sharing its connection, lock, clock
        and transactions (a batch opened by either holds the other's writes too)."""
        scoped = object.__new__(Storage)
        scoped.path = self.path
        scoped.business = business_id
        scoped._owner = False
        scoped._shared = self._shared
        scoped._conn = self._conn
        scoped.db = self.db
        return scoped

    @property
    def now(self) -> Callable[[], datetime]:
        """The clock of every time the store writes by itself (shared by every business)."""
        return self._shared.now

    @now.setter
    def now(self, clock: Callable[[], datetime]) -> None:
        self._shared.now = clock

    @property
    def writes(self) -> int:
        """Committed transactions on the file, whichever business made them."""
        return self._shared.writes

    def _close_quietly(self) -> None:
        shared = getattr(self, "_shared", None)
        if shared is not None:
            shared.conn.close()

    def close(self) -> None:
        """Close the file: only the storage that opened it does (see the class)."""
        if self._owner:
            self._conn.close()

    # -- transactions --

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one transaction (counted as one write); nests, across the
        businesses sharing the connection too."""
        shared = self._shared
        with shared.lock:
            if shared.depth:
                shared.depth += 1
                try:
                    yield
                finally:
                    shared.depth -= 1
                return
            shared.depth = 1
            shared.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                shared.conn.execute("ROLLBACK")
                raise
            else:
                shared.conn.execute("COMMIT")
                shared.writes += 1
                if shared.erase_after_commit:  # kept until done: a reader may hold the WAL
                    shared.erase_after_commit = not db_files.erase_deleted(shared.conn, self.path)
            finally:
                shared.depth = 0

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A statement on a business's table: the business is bound as ?1 (bot.store.scope)."""
        check_scoped(sql)
        return self._raw_write(sql, (self.business, *params))

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """A query on a business's table: the business is bound as ?1 (bot.store.scope)."""
        check_scoped(sql)
        return self._raw_read(sql, (self.business, *params))

    def _raw_write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """Unscoped: only for `meta`, which belongs to the file, not to a business."""
        try:
            with self.batch():
                return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: write failed: {exc}") from None

    def _raw_read(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Unscoped: only for `meta`, which belongs to the file, not to a business."""
        try:
            with self._shared.lock:
                cursor = self._conn.execute(sql, params)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: read failed: {exc}") from None

    def _now(self) -> str:
        return _utc(self.now())

    # -- schema --

    @property
    def schema_version(self) -> int:
        if not self.db["meta"].exists():
            return 0
        rows = self._raw_read("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0]["value"]) if rows else 0

    def _migrate(self) -> None:
        current = self.schema_version
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path}: schema version {current} is newer than this bot ({SCHEMA_VERSION})"
            )
        if current == 0 and set(self.db.table_names()) - {"meta"}:
            raise StorageError(f"{self.path}: has tables but no schema version; not a bot db")
        if current == SCHEMA_VERSION:
            return
        # Rebuilding a table (schema 6) must not cascade the old one's deletion into its
        # children: foreign keys are off while migrating (a no-op inside a transaction, so set
        # here), and each rebuild checks them before its commit.
        self._conn.execute("PRAGMA foreign_keys = OFF")
        try:
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
        finally:
            self._conn.execute("PRAGMA foreign_keys = ON")

    def _scrub_once(self, older: bool) -> None:
        """A database written by a version without `secure_delete` is rewritten once, so the
        names and emails deleted back then leave its free space (bot.store.files)."""
        if self._raw_read("SELECT value FROM meta WHERE key = ?", (SCRUBBED,)):
            return
        if older:
            db_files.scrub_free_space(self._conn, self.path)
        self._raw_write("INSERT INTO meta (key, value) VALUES (?, '1')", (SCRUBBED,))

    # -- users --

    def get_language(self, user_id: int) -> str | None:
        rows = self._read(
            "SELECT language FROM users WHERE business = ?1 AND user_id = ?", (user_id,)
        )
        return rows[0]["language"] if rows else None

    def set_language(self, user_id: int, language: str) -> None:
        now = self._now()
        self._write(
            "INSERT INTO users (business, user_id, language, prefs, created_at, updated_at) "
            "VALUES (?1, ?, ?, '{}', ?, ?) ON CONFLICT(business, user_id) DO UPDATE SET "
            "language = excluded.language, updated_at = excluded.updated_at",
            (user_id, language, now, now),
        )

    def get_prefs(self, user_id: int) -> dict[str, Any]:
        rows = self._read("SELECT prefs FROM users WHERE business = ?1 AND user_id = ?", (user_id,))
        return json.loads(rows[0]["prefs"] or "{}") if rows else {}

    def update_prefs(self, user_id: int, **changes: Any) -> None:
        """Merge `changes` into the customer's preferences; a None value removes the key."""
        with self.batch():
            prefs = self.get_prefs(user_id)
            for key, value in changes.items():
                if value is None:
                    prefs.pop(key, None)
                else:
                    prefs[key] = value
            now = self._now()
            self._write(
                "INSERT INTO users (business, user_id, language, prefs, created_at, updated_at) "
                "VALUES (?1, ?, NULL, ?, ?, ?) ON CONFLICT(business, user_id) DO UPDATE SET "
                "prefs = excluded.prefs, updated_at = excluded.updated_at",
                (user_id, json.dumps(prefs, sort_keys=True), now, now),
            )

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
        language: str | None = None,
        checked_at: datetime | None = None,
        next_check_at: datetime | None = None,
        booked_at: datetime | None = None,
    ) -> int:
        """Insert (or, for a replayed confirm, update) a booking; returns its local id.
        `booked_at` (the bot's clock; the wall clock when not given) is kept from the first
        write: a replayed confirm is not a second booking."""
        now = self._now()
        self._write(
            "INSERT INTO bookings (business, user_id, chat_id, appointment_id, service_id, "
            "service_name, location_id, location_name, location_address, timezone, start, end, "
            "status, language, checked_at, next_check_at, booked_at, created_at, updated_at) "
            "VALUES (?1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(business, appointment_id) DO UPDATE SET start = excluded.start, "
            "end = excluded.end, status = excluded.status, "
            "language = COALESCE(excluded.language, language), checked_at = excluded.checked_at, "
            "next_check_at = excluded.next_check_at, updated_at = excluded.updated_at",
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
                language,
                _maybe_utc(checked_at),
                _maybe_utc(next_check_at),
                _maybe_utc(booked_at) or now,
                now,
                now,
            ),
        )
        rows = self._read(
            "SELECT id FROM bookings WHERE business = ?1 AND appointment_id = ?", (appointment_id,)
        )
        return int(rows[0]["id"])

    def update_booking(
        self,
        booking_id: int,
        *,
        status: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        language: str | None = None,
        checked_at: datetime | None = None,
        next_check_at: datetime | None = None,
    ) -> None:
        """Change the given fields (None leaves one as it is)."""
        self._write(
            "UPDATE bookings SET status = COALESCE(?2, status), start = COALESCE(?3, start), "
            "end = COALESCE(?4, end), language = COALESCE(?5, language), "
            "checked_at = COALESCE(?6, checked_at), next_check_at = COALESCE(?7, next_check_at), "
            "updated_at = ?8 WHERE business = ?1 AND id = ?9",
            (
                status,
                _iso(start),
                _iso(end),
                language,
                _maybe_utc(checked_at),
                _maybe_utc(next_check_at),
                self._now(),
                booking_id,
            ),
        )

    def bookings_to_check(self, now: datetime, limit: int) -> list[BookingRow]:
        """Active bookings whose appointment is ahead and whose next comparison with Zimun is
        due, in turns across customers: every customer's most overdue booking first (never
        checked: first of all), then every customer's second, and so on. The budget is shared
        per customer, not per booking: one account with many bookings cannot starve the
        others' change notices."""
        inactive = ",".join("?" for _ in INACTIVE_STATUSES)
        rows = self._read(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER ("
            "PARTITION BY user_id ORDER BY next_check_at, start, id) AS turn FROM bookings "
            f"WHERE business = ?1 AND status NOT IN ({inactive}) AND start > ? "
            "AND (next_check_at IS NULL OR next_check_at <= ?)) "
            "ORDER BY turn, next_check_at, start, id LIMIT ?",
            (*INACTIVE_STATUSES, _iso(now), _utc(now), limit),
        )
        return [BookingRow.from_row(r) for r in rows]

    def upcoming_bookings(self, now: datetime) -> list[BookingRow]:
        """Every active booking whose appointment is ahead (what reconciling looks after)."""
        inactive = ",".join("?" for _ in INACTIVE_STATUSES)
        rows = self._read(
            f"SELECT * FROM bookings WHERE business = ?1 AND status NOT IN ({inactive}) "
            "AND start > ? ORDER BY start",
            (*INACTIVE_STATUSES, _iso(now)),
        )
        return [BookingRow.from_row(r) for r in rows]

    def upcoming_count(self, user_id: int, now: datetime) -> int:
        """How many active appointments of the customer are ahead (MAX_UPCOMING_PER_CUSTOMER)."""
        inactive = ",".join("?" for _ in INACTIVE_STATUSES)
        rows = self._read(
            f"SELECT count(*) AS n FROM bookings WHERE business = ?1 AND user_id = ? "
            f"AND status NOT IN ({inactive}) AND start > ?",
            (user_id, *INACTIVE_STATUSES, _iso(now)),
        )
        return int(rows[0]["n"])

    def booked_since(self, user_id: int, since: datetime) -> int:
        """How many bookings the customer made after `since`, whatever became of them since
        (MAX_BOOKINGS_PER_DAY: booking and cancelling again and again counts every time)."""
        rows = self._read(
            "SELECT count(*) AS n FROM bookings WHERE business = ?1 AND user_id = ? "
            "AND booked_at > ?",
            (user_id, _utc(since)),
        )
        return int(rows[0]["n"])

    def get_booking(self, booking_id: int) -> BookingRow | None:
        rows = self._read("SELECT * FROM bookings WHERE business = ?1 AND id = ?", (booking_id,))
        return BookingRow.from_row(rows[0]) if rows else None

    def bookings_for_user(self, user_id: int) -> list[BookingRow]:
        rows = self._read(
            "SELECT * FROM bookings WHERE business = ?1 AND user_id = ? ORDER BY start", (user_id,)
        )
        return [BookingRow.from_row(r) for r in rows]

    def booking_by_appointment(self, appointment_id: str) -> BookingRow | None:
        rows = self._read(
            "SELECT * FROM bookings WHERE business = ?1 AND appointment_id = ?", (appointment_id,)
        )
        return BookingRow.from_row(rows[0]) if rows else None

    # -- a booking's life: one read and one write per entry (bot.core.lifecycle) --

    def stored_booking(
        self, booking_id: int | None = None, *, appointment_id: str | None = None
    ) -> Stored | None:
        """A booking (by id, or by appointment) with what a decision about it needs."""
        row = (
            self.get_booking(booking_id)
            if booking_id is not None
            else self.booking_by_appointment(appointment_id or "")
        )
        if row is None:
            return None
        pending = self.pending_notice(row.id)
        fallback = None
        if not row.language:
            fallback = next((r.language for r in self.reminders_for_booking(row.id)), None)
        return Stored(row, pending.previous_start if pending else None, fallback)

    def apply(self, write: Write) -> int:
        """Everything one entry changes, in one transaction; returns the booking's id."""
        fields = write.fields
        with self.batch():
            if write.new is not None:
                booking_id = self.add_booking(
                    **asdict(write.new),
                    language=fields.language,
                    checked_at=fields.checked_at,
                    next_check_at=fields.next_check_at,
                    booked_at=write.booked_at,
                )
            else:
                assert write.booking_id is not None
                booking_id = write.booking_id
                self.update_booking(booking_id, **asdict(fields))
            if write.reminders is not None:
                self.set_reminders(
                    booking_id,
                    write.user_id,
                    write.chat_id,
                    list(write.reminders),
                    language=write.reminder_language,
                )
            if write.drop_reminders:
                self.drop_pending_reminders(booking_id)
            if write.skip_notices:
                self.skip_pending_notices(booking_id)
            if write.notice is not None:
                self._add_notice(booking_id, write.user_id, write.chat_id, write.notice)
        return booking_id

    # -- reminders --

    def set_reminders(
        self,
        booking_id: int,
        user_id: int,
        chat_id: int,
        due: list[tuple[int, datetime]],
        *,
        language: str | None,
    ) -> None:
        """Replace every reminder of the booking by `due` ((offset minutes, due time) pairs):
        a new or moved appointment starts with fresh, unsent reminders."""
        now = self._now()
        with self.batch():
            self._write(
                "DELETE FROM reminders WHERE business = ?1 AND booking_id = ?", (booking_id,)
            )
            for offset_minutes, due_at in due:
                self._write(
                    "INSERT INTO reminders (business, booking_id, user_id, chat_id, "
                    "offset_minutes, due_at, language, status, created_at) "
                    "VALUES (?1,?,?,?,?,?,?,'pending',?)",
                    (booking_id, user_id, chat_id, offset_minutes, _utc(due_at), language, now),
                )

    def drop_pending_reminders(self, booking_id: int) -> None:
        """A cancelled appointment: its unsent reminders go (sent ones stay as history)."""
        self._write(
            "DELETE FROM reminders WHERE business = ?1 AND booking_id = ? AND status = 'pending'",
            (booking_id,),
        )

    def due_reminders(self, now: datetime, limit: int = 100) -> list[ReminderRow]:
        rows = self._read(
            "SELECT * FROM reminders WHERE business = ?1 AND status = 'pending' AND due_at <= ? "
            "ORDER BY due_at, id LIMIT ?",
            (_utc(now), limit),
        )
        return [ReminderRow.from_row(r) for r in rows]

    def reminders_for_booking(self, booking_id: int) -> list[ReminderRow]:
        rows = self._read(
            "SELECT * FROM reminders WHERE business = ?1 AND booking_id = ? ORDER BY due_at",
            (booking_id,),
        )
        return [ReminderRow.from_row(r) for r in rows]

    # -- the outboxes: reminders, notices and waiting-list news, claimed before they are sent --

    def claim(self, box: Outbox, item_id: int) -> bool:
        """Mark a due message claimed (sent), before sending it; False if another scan or
        process got it first. One UPDATE with a status guard: two scans can never both win."""
        cursor = self._write(
            f"UPDATE {box.table} SET status = ?2, {box.claimed_at} = ?3, "
            "attempts = attempts + 1 WHERE business = ?1 AND id = ?4 AND status = ?5",
            (box.claimed, self._now(), item_id, box.due),
        )
        return cursor.rowcount == 1

    def unclaim(self, box: Outbox, item_id: int) -> None:
        """Due again after a send that certainly did not reach Telegram."""
        self._write(
            f"UPDATE {box.table} SET status = ?2, {box.claimed_at} = NULL "
            "WHERE business = ?1 AND id = ?3 AND status = ?4",
            (box.due, item_id, box.claimed),
        )

    def skip(self, box: Outbox, item_ids: list[int]) -> None:
        """Due messages that will not be sent (the appointment passed, a later one supersedes)."""
        with self.batch():
            for item_id in item_ids:
                self._write(
                    f"UPDATE {box.table} SET status = 'skipped' "
                    "WHERE business = ?1 AND id = ? AND status = ?",
                    (item_id, box.due),
                )

    claim_waitlist = partialmethod(claim, WAITLIST)  # the name tests/waitlist know it by

    # -- notices (changes made at the business, to tell the customer) --

    def add_notice(
        self,
        booking: BookingRow,
        kind: str,
        *,
        start: datetime,
        previous_start: datetime,
        language: str | None,
    ) -> int:
        notice = Notice(kind, start=start, previous_start=previous_start, language=language)
        return self._add_notice(booking.id, booking.user_id, booking.chat_id, notice)

    def _add_notice(self, booking_id: int, user_id: int, chat_id: int, notice: Notice) -> int:
        cursor = self._write(
            "INSERT INTO notices (business, booking_id, user_id, chat_id, kind, start, "
            "previous_start, language, status, created_at) VALUES (?1,?,?,?,?,?,?,?,'pending',?)",
            (
                booking_id,
                user_id,
                chat_id,
                notice.kind,
                _utc(notice.start),
                _utc(notice.previous_start),
                notice.language,
                self._now(),
            ),
        )
        return int(cursor.lastrowid or 0)

    def pending_notice(self, booking_id: int) -> NoticeRow | None:
        """The newest notice of a booking not sent yet, if any."""
        rows = self._read(
            "SELECT * FROM notices WHERE business = ?1 AND booking_id = ? "
            "AND status = 'pending' ORDER BY id DESC LIMIT 1",
            (booking_id,),
        )
        return NoticeRow.from_row(rows[0]) if rows else None

    def skip_pending_notices(self, booking_id: int) -> None:
        """Notices overtaken by a newer change of the same booking are never sent."""
        self._write(
            "UPDATE notices SET status = 'skipped' WHERE business = ?1 AND booking_id = ? "
            "AND status = 'pending'",
            (booking_id,),
        )

    def pending_notices(self, limit: int = 100) -> list[NoticeRow]:
        rows = self._read(
            "SELECT * FROM notices WHERE business = ?1 AND status = 'pending' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [NoticeRow.from_row(r) for r in rows]

    def notices_for_booking(self, booking_id: int) -> list[NoticeRow]:
        rows = self._read(
            "SELECT * FROM notices WHERE business = ?1 AND booking_id = ? ORDER BY id",
            (booking_id,),
        )
        return [NoticeRow.from_row(r) for r in rows]

    # -- the waiting list (customers to tell when a time frees up on a full day) --

    def join_waitlist(
        self,
        *,
        user_id: int,
        chat_id: int,
        service_id: str,
        service_name: str,
        location_id: str,
        location_name: str,
        timezone: str,
        day: date,
        ends_at: datetime,
        language: str | None,
        now: datetime,
        next_check_at: datetime,
    ) -> int:
        """Put the customer on the list for `day` (or back on it: a told entry is re-armed,
        keeping its place, which dates from when they first asked, and its offer: the time it
        was told of is not offered to it again, and is still its own until the offer's window
        ends; see `waitlist_day_full`). The entry is looked at with its service and branch: at
        `next_check_at`, or sooner if the pair is due sooner."""
        with self.batch():
            rows = self._read(
                "SELECT min(next_check_at) AS due FROM waitlist WHERE business = ?1 "
                "AND status = 'waiting' AND service_id = ? AND location_id = ?",
                (service_id, location_id),
            )
            pair_due = rows[0]["due"]
            due = min(pair_due, _utc(next_check_at)) if pair_due else _utc(next_check_at)
            self._write(
                "INSERT INTO waitlist (business, user_id, chat_id, service_id, service_name, "
                "location_id, location_name, timezone, day, ends_at, language, status, "
                "joined_at, next_check_at) VALUES (?1,?,?,?,?,?,?,?,?,?,?,'waiting',?,?) "
                "ON CONFLICT(business, user_id, service_id, location_id, day) DO UPDATE SET "
                "chat_id = excluded.chat_id, language = excluded.language, status = 'waiting', "
                "next_check_at = excluded.next_check_at, told_at = NULL, "
                "attempts = 0",
                (
                    user_id,
                    chat_id,
                    service_id,
                    service_name,
                    location_id,
                    location_name,
                    timezone,
                    day.isoformat(),
                    _utc(ends_at),
                    language,
                    _utc(now),
                    due,
                ),
            )
            found = self._read(
                "SELECT id FROM waitlist WHERE business = ?1 AND user_id = ? "
                "AND service_id = ? AND location_id = ? AND day = ?",
                (user_id, service_id, location_id, day.isoformat()),
            )
        return int(found[0]["id"])

    def waitlist_entry(self, entry_id: int) -> WaitlistRow | None:
        rows = self._read("SELECT * FROM waitlist WHERE business = ?1 AND id = ?", (entry_id,))
        return WaitlistRow.from_row(rows[0]) if rows else None

    def waitlist_entry_for(
        self, user_id: int, service_id: str, location_id: str, day: date
    ) -> WaitlistRow | None:
        rows = self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND user_id = ? AND service_id = ? "
            "AND location_id = ? AND day = ?",
            (user_id, service_id, location_id, day.isoformat()),
        )
        return WaitlistRow.from_row(rows[0]) if rows else None

    def waitlist_for_user(self, user_id: int, now: datetime) -> list[WaitlistRow]:
        """The customer's entries still on the list (waiting, or about to be told)."""
        rows = self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND user_id = ? "
            "AND status IN ('waiting', 'due') "
            "AND ends_at > ? ORDER BY day, service_name, location_name, id",
            (user_id, _utc(now)),
        )
        return [WaitlistRow.from_row(r) for r in rows]

    def leave_waitlist(self, entry_id: int) -> None:
        self._write("DELETE FROM waitlist WHERE business = ?1 AND id = ?", (entry_id,))

    def end_waitlist(self, now: datetime) -> int:
        """Entries whose day has passed end by themselves: deleted, whatever their status."""
        return self._write(
            "DELETE FROM waitlist WHERE business = ?1 AND ends_at <= ?", (_utc(now),)
        ).rowcount

    def waitlist_pairs_due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(service, branch) pairs with someone waiting whose next look is due, in turns across
        customers (as bookings_to_check): the pairs holding some customer's most overdue pair
        first, then some customer's second, and so on, most overdue first within a turn. One
        customer waiting at many services and branches cannot starve the others."""
        rows = self._read(
            "WITH due AS (SELECT user_id, service_id, location_id, "
            "min(COALESCE(next_check_at, '')) AS due FROM waitlist "
            "WHERE business = ?1 AND status = 'waiting' AND ends_at > ? "
            "AND COALESCE(next_check_at, '') <= ? GROUP BY user_id, service_id, location_id), "
            "turns AS (SELECT service_id, location_id, due, ROW_NUMBER() OVER ("
            "PARTITION BY user_id ORDER BY due, service_id, location_id) AS turn FROM due) "
            "SELECT service_id, location_id, min(turn) AS turn, min(due) AS due FROM turns "
            "GROUP BY service_id, location_id ORDER BY turn, due, service_id, location_id "
            "LIMIT ?",
            (_utc(now), _utc(now), limit),
        )
        return [(r["service_id"], r["location_id"]) for r in rows]

    def waiting_for_pair(
        self, service_id: str, location_id: str, now: datetime
    ) -> list[WaitlistRow]:
        """The pair's waiting entries, by day and then in the order they joined."""
        rows = self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND status = 'waiting' "
            "AND service_id = ? AND location_id = ? AND ends_at > ? ORDER BY day, joined_at, id",
            (service_id, location_id, _utc(now)),
        )
        return [WaitlistRow.from_row(r) for r in rows]

    def open_offers(self, service_id: str, location_id: str, day: date, since: datetime) -> int:
        """Entries of the day told of a free time since `since` that have not booked yet
        (re-armed ones too): each still has that time to itself."""
        rows = self._read(
            "SELECT count(*) AS n FROM waitlist WHERE business = ?1 AND service_id = ? "
            "AND location_id = ? AND day = ? AND status IN ('waiting', 'due', 'told') "
            "AND offered_at > ?",
            (service_id, location_id, day.isoformat(), _utc(since)),
        )
        return int(rows[0]["n"])

    def waitlist_day_full(self, service_id: str, location_id: str, day: date) -> None:
        """A look found no free time on `day`: whatever its entries were told of is gone, so
        the next time that frees up is news to each of them again. Until then an entry told
        once (re-armed or not) is not offered again: one freed time, one offer per entry."""
        self._write(
            "UPDATE waitlist SET offered_at = NULL WHERE business = ?1 AND service_id = ? "
            "AND location_id = ? AND day = ? AND status IN ('waiting', 'told')",
            (service_id, location_id, day.isoformat()),
        )

    def offer_waitlist(self, entry_ids: list[int], now: datetime) -> None:
        """A free time was found for these waiting entries: they are to be told."""
        with self.batch():
            for entry_id in entry_ids:
                self._write(
                    "UPDATE waitlist SET status = 'due', offered_at = ?2 "
                    "WHERE business = ?1 AND id = ?3 AND status = 'waiting'",
                    (_utc(now), entry_id),
                )

    def schedule_waitlist(
        self,
        service_id: str,
        location_id: str,
        next_check_at: datetime,
        *,
        checked: list[date],
        at: datetime,
    ) -> None:
        """The pair was looked at: every waiting entry of it is next looked at together; the
        days the answer covered were judged `at`."""
        with self.batch():
            self._write(
                "UPDATE waitlist SET next_check_at = ?2 WHERE business = ?1 "
                "AND status = 'waiting' AND service_id = ?3 AND location_id = ?4",
                (_utc(next_check_at), service_id, location_id),
            )
            for day in checked:
                self._write(
                    "UPDATE waitlist SET checked_at = ?2 WHERE business = ?1 "
                    "AND service_id = ?3 AND location_id = ?4 AND day = ?5",
                    (_utc(at), service_id, location_id, day.isoformat()),
                )

    def due_waitlist(self, limit: int = 100) -> list[WaitlistRow]:
        """Entries to tell, first found first, then in the order they joined."""
        rows = self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND status = 'due' "
            "ORDER BY offered_at, joined_at, id LIMIT ?",
            (limit,),
        )
        return [WaitlistRow.from_row(r) for r in rows]

    def waitlist_booked(self, user_id: int, service_id: str, location_id: str, day: date) -> int:
        """The customer booked this service at this branch on `day`: their entry for it is
        done. Returns how many entries that ended (0 or 1)."""
        return self._write(
            "UPDATE waitlist SET status = 'booked' WHERE business = ?1 AND user_id = ? "
            "AND service_id = ? AND location_id = ? AND day = ? "
            "AND status IN ('waiting', 'due', 'told')",
            (user_id, service_id, location_id, day.isoformat()),
        ).rowcount

    # -- funnel (anonymous statistics) --

    def record_funnel(self, events: list[FunnelEvent]) -> None:
        with self.batch():
            for event in events:
                self._write(
                    "INSERT INTO funnel (business, at, attempt, event, step, location_name, "
                    "service_name) VALUES (?1,?,?,?,?,?,?)",
                    (
                        _utc(event.at),
                        event.attempt,
                        event.event,
                        event.step,
                        event.location_name,
                        event.service_name,
                    ),
                )

    def funnel_since(self, since: datetime) -> list[FunnelEvent]:
        rows = self._read(
            "SELECT at, attempt, event, step, location_name, service_name FROM funnel "
            "WHERE business = ?1 AND at >= ? ORDER BY at, id",
            (_utc(since),),
        )
        return [
            FunnelEvent(
                at=datetime.fromisoformat(r["at"]),
                attempt=r["attempt"],
                event=r["event"],
                step=r["step"],
                location_name=r["location_name"],
                service_name=r["service_name"],
            )
            for r in rows
        ]

    # -- conversations --

    def load_conversation(self, chat_id: int) -> ConversationRow | None:
        rows = self._read(
            "SELECT chat_id, user_id, state FROM conversations WHERE business = ?1 AND chat_id = ?",
            (chat_id,),
        )
        return ConversationRow(**rows[0]) if rows else None

    def save_conversation(self, chat_id: int, user_id: int, state: str, *, pending: bool) -> None:
        self._write(
            "INSERT INTO conversations (business, chat_id, user_id, state, pending, updated_at) "
            "VALUES (?1, ?, ?, ?, ?, ?) ON CONFLICT(business, chat_id) DO UPDATE SET "
            "user_id = excluded.user_id, "
            "state = excluded.state, pending = excluded.pending, updated_at = excluded.updated_at",
            (chat_id, user_id, state, int(pending), self._now()),
        )

    def pending_conversations(self) -> list[ConversationRow]:
        rows = self._read(
            "SELECT chat_id, user_id, state FROM conversations WHERE business = ?1 AND pending = 1"
        )
        return [ConversationRow(**r) for r in rows]

    def forget_user(self, user_id: int, chat_id: int | None = None) -> None:
        """Delete every row about a customer (their bookings at the business stay there):
        reminders, notices, waiting-list entries, bookings, the conversation of their chat, and
        their language and prefs. Once committed, the WAL is emptied so that no file keeps a
        copy (bot.store.files)."""
        with self.batch():
            self._shared.erase_after_commit = True
            for table in ("reminders", "notices", "waitlist", "bookings", "users"):
                self._write(f"DELETE FROM {table} WHERE business = ?1 AND user_id = ?", (user_id,))
            self._write(
                "DELETE FROM conversations WHERE business = ?1 AND (user_id = ? OR chat_id = ?)",
                (user_id, user_id if chat_id is None else chat_id),
            )

    def conversation_count(self) -> int:
        rows = self._read("SELECT count(*) AS n FROM conversations WHERE business = ?1")
        return int(rows[0]["n"])

    # -- housekeeping --

    def prune(self, *, appointments_before: datetime, idle_before: datetime) -> int:
        """Delete bookings whose appointment started before `appointments_before` (their
        reminders go with them), funnel rows older than it, and conversations untouched since
        `idle_before` (a draft abandoned mid-way holds a name and email). A conversation with
        a confirm in flight is kept. Returns the number of rows deleted."""
        with self.batch():
            self._shared.erase_after_commit = True
            deleted = self._write(
                "DELETE FROM bookings WHERE business = ?1 AND start < ?",
                (_iso(appointments_before),),
            ).rowcount
            deleted += self._write(
                "DELETE FROM funnel WHERE business = ?1 AND at < ?", (_utc(appointments_before),)
            ).rowcount
            deleted += self._write(
                "DELETE FROM conversations WHERE business = ?1 AND pending = 0 AND updated_at < ?",
                (idle_before.astimezone(UTC).isoformat(timespec="seconds"),),
            ).rowcount
        return deleted

    def ping(self) -> int:
        """Read the schema version (raises StorageError if the database is unusable)."""
        rows = self._raw_read("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0]["value"]) if rows else 0
