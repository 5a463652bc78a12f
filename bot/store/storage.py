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

What each operation reads and writes is written once, in bot.store.plans, for this store and
the PostgreSQL one alike; this module is SQLite's part: the file, its schema and migrations,
its transactions, and running a plan's statements at once (`_run`). Its methods are the plans'
(`_sync`), with the same names and arguments as ever.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlite_utils

from bot.config.clock import utc_now
from bot.store import files as db_files
from bot.store.plans import (
    ERASE,
    MANY,
    NOTICES,
    READ,
    REMINDERS,
    WAITLIST,
    Done,
    Op,
    Outbox,
    Plan,
    Plans,
    is_atomic,
)
from bot.store.plans import _utc as _utc
from bot.store.scope import check_scoped

# Imported from here by the rest of the bot and its tests.
__all__ = ["NOTICES", "REMINDERS", "WAITLIST", "Outbox", "Storage", "StorageError"]

P = ParamSpec("P")
T = TypeVar("T")


class StorageError(Exception):
    """The database cannot be opened or used; `str()` is one line for the operator."""


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
BUSINESS_TABLES: dict[str, str] = {
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

# The funnel as it is from schema 6 on (_m2's table, and _m6's business column last); SQLite
# got there by ALTER TABLE, the PostgreSQL store creates it so (bot.store.postgres).
FUNNEL_TABLE = (
    "CREATE TABLE funnel ("
    " id INTEGER PRIMARY KEY,"
    " at TEXT NOT NULL,"
    " attempt TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " step TEXT,"
    " location_name TEXT,"
    " service_name TEXT,"
    " business TEXT NOT NULL DEFAULT '')"
)

# Every index of the business's tables from schema 6 on, the business first: each query filters
# by it, so an index not led by it would be scanned across every business.
BUSINESS_INDEXES = (
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
    for table, create in BUSINESS_TABLES.items():
        columns = ", ".join(f'"{c}"' for c in db[table].columns_dict)
        db.execute(create.format(name=f"{table}_v6"))
        db.execute(f"INSERT INTO {table}_v6 ({columns}) SELECT {columns} FROM {table}")
    for table in ("reminders", "notices", "waitlist", "conversations", "users", "bookings"):
        db.execute(f"DROP TABLE {table}")
    for table in BUSINESS_TABLES:
        db.execute(f"ALTER TABLE {table}_v6 RENAME TO {table}")
    db.execute("ALTER TABLE funnel ADD COLUMN business TEXT NOT NULL DEFAULT ''")
    db.execute("DROP INDEX idx_funnel_at")
    for index in BUSINESS_INDEXES:
        db.execute(index)
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise StorageError(f"migration to schema 6 left {len(broken)} rows without their booking")


# Schema 7's tables (issue 20): what several processes of one bot agree on through the store.
COORDINATION_TABLES: dict[str, str] = {
    "deliveries": (
        "CREATE TABLE deliveries ("
        " business TEXT NOT NULL DEFAULT '',"
        " update_id INTEGER NOT NULL,"
        " at TEXT NOT NULL,"
        " PRIMARY KEY (business, update_id))"
    ),
    "bot_state": (
        "CREATE TABLE bot_state ("
        " business TEXT NOT NULL DEFAULT '',"
        " bot TEXT NOT NULL,"
        " poll_offset INTEGER,"
        " flood_until_ms INTEGER,"
        " PRIMARY KEY (business, bot))"
    ),
}
COORDINATION_INDEXES = ("CREATE INDEX idx_deliveries_at ON deliveries (business, at)",)


def _m7_coordination(db: sqlite_utils.Database) -> None:
    """Several processes, one bot (issue 20): `deliveries` remembers for a day which Telegram
    updates were taken (an update delivered twice is handled once; bot.store.contract's
    `first_delivery`), `bot_state` each bot's getUpdates offset (a new poller goes on where
    the last stopped) and, in PostgreSQL, the end of a 429's pause shared by every process
    (`flood_until_ms`, by the database's clock; SQLite's one process keeps it in memory).
    Nothing personal: update ids and offsets only, so /forget has nothing to erase here."""
    for create in COORDINATION_TABLES.values():
        db.execute(create)
    for index in COORDINATION_INDEXES:
        db.execute(index)


# Schema 8's columns (issue 20): who claimed an outbox's row and has not finished sending it.
CLAIMER_COLUMNS = ("reminders", "notices", "waitlist")


def _m8_claimers(db: sqlite_utils.Database) -> None:
    """Several processes, one bot (issue 20): an outbox's claim names its claimer
    (`claimed_by`, cleared once the send is over), so a row whose claimer died between the
    claim and the send is claimed again by another process (PostgreSQL) or by the next start
    (SQLite): nothing is lost when a sender is killed (bot.store.plans `claim`)."""
    for table in CLAIMER_COLUMNS:
        db.execute(f"ALTER TABLE {table} ADD COLUMN claimed_by INTEGER")


# Ordered: migration N brings the schema from version N-1 to N. Append, never edit.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _m1_initial,
    _m2_reminders_and_funnel,
    _m3_ledger,
    _m4_waitlist,
    _m5_booked_at,
    _m6_business,
    _m7_coordination,
    _m8_claimers,
]
SCHEMA_VERSION = len(MIGRATIONS)
SCRUBBED = "free_space_scrubbed"  # meta key: the one VACUUM of an older database is done


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


def _sync(plan: Callable[Concatenate[Plans, P], Plan[T]]) -> Callable[Concatenate[Storage, P], T]:
    """The store's method of a plan: run it now, in one transaction if it is atomic."""
    atomic = is_atomic(plan)

    @functools.wraps(plan)
    def method(self: Storage, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._run(plan(self._plans, *args, **kwargs), atomic)

    return method


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
        self, path: str, *, now: Callable[[], datetime] = utc_now, business: str = ""
    ) -> None:
        self.path = path
        self.business = business
        self._owner = True
        try:
            db_files.make_private(path)
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._shared = _Shared(conn, now)
            self._conn = conn
            self._plans = Plans(self._clock)
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
        scoped._plans = Plans(scoped._clock)
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

    def _clock(self) -> datetime:
        return self._shared.now()

    # -- running a plan (bot.store.plans) --

    def _run(self, plan: Plan[T], atomic: bool) -> T:
        if atomic:
            with self.batch():
                return self._drive(plan)
        return self._drive(plan)

    def _drive(self, plan: Plan[T]) -> T:
        answer: Any = None
        try:
            while True:
                answer = self._execute(plan.send(answer))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _execute(self, op: Op) -> Any:
        if op.kind == READ:
            return self._read(op.sql, op.params)
        if op.kind == ERASE:
            self._shared.erase_after_commit = True
            return None
        check_scoped(op.sql)
        try:
            with self.batch():  # a RETURNING statement is read to its end before the commit
                if op.kind == MANY:
                    rows = [(self.business, *params) for params in op.params]
                    return Done(self._conn.executemany(op.sql, rows).rowcount)
                sql = op.sql + " RETURNING id" if op.returns_id else op.sql
                cursor = self._conn.execute(sql, (self.business, *op.params))
                returned = cursor.fetchall() if op.returns_id else None
                return Done(cursor.rowcount, int(returned[0][0]) if returned else None)
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path}: write failed: {exc}") from None

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

    # -- every operation: the plan of the same name (bot.store.plans), run at once --

    get_language = _sync(Plans.get_language)
    set_language = _sync(Plans.set_language)
    get_prefs = _sync(Plans.get_prefs)
    update_prefs = _sync(Plans.update_prefs)
    add_booking = _sync(Plans.add_booking)
    update_booking = _sync(Plans.update_booking)
    bookings_to_check = _sync(Plans.bookings_to_check)
    upcoming_bookings = _sync(Plans.upcoming_bookings)
    upcoming_count = _sync(Plans.upcoming_count)
    booked_since = _sync(Plans.booked_since)
    get_booking = _sync(Plans.get_booking)
    bookings_for_user = _sync(Plans.bookings_for_user)
    booking_by_appointment = _sync(Plans.booking_by_appointment)
    stored_booking = _sync(Plans.stored_booking)
    apply = _sync(Plans.apply)
    set_reminders = _sync(Plans.set_reminders)
    drop_pending_reminders = _sync(Plans.drop_pending_reminders)
    due_reminders = _sync(Plans.due_reminders)
    reminders_for_booking = _sync(Plans.reminders_for_booking)
    claim = _sync(Plans.claim)
    unclaim = _sync(Plans.unclaim)
    claim_done = _sync(Plans.claim_done)
    skip = _sync(Plans.skip)
    claim_waitlist = _sync(Plans.claim_waitlist)
    add_notice = _sync(Plans.add_notice)
    pending_notice = _sync(Plans.pending_notice)
    skip_pending_notices = _sync(Plans.skip_pending_notices)
    pending_notices = _sync(Plans.pending_notices)
    notices_for_booking = _sync(Plans.notices_for_booking)
    join_waitlist = _sync(Plans.join_waitlist)
    waitlist_entry = _sync(Plans.waitlist_entry)
    waitlist_entry_for = _sync(Plans.waitlist_entry_for)
    waitlist_for_user = _sync(Plans.waitlist_for_user)
    leave_waitlist = _sync(Plans.leave_waitlist)
    end_waitlist = _sync(Plans.end_waitlist)
    waitlist_pairs_due = _sync(Plans.waitlist_pairs_due)
    waiting_for_pair = _sync(Plans.waiting_for_pair)
    open_offers = _sync(Plans.open_offers)
    waitlist_day_full = _sync(Plans.waitlist_day_full)
    offer_waitlist = _sync(Plans.offer_waitlist)
    schedule_waitlist = _sync(Plans.schedule_waitlist)
    due_waitlist = _sync(Plans.due_waitlist)
    waitlist_booked = _sync(Plans.waitlist_booked)
    record_funnel = _sync(Plans.record_funnel)
    funnel_since = _sync(Plans.funnel_since)
    load_conversation = _sync(Plans.load_conversation)
    conversation_and_language = _sync(Plans.conversation_and_language)
    save_with_funnel = _sync(Plans.save_with_funnel)
    save_conversation = _sync(Plans.save_conversation)
    pending_conversations = _sync(Plans.pending_conversations)
    forget_user = _sync(Plans.forget_user)
    conversation_count = _sync(Plans.conversation_count)
    prune = _sync(Plans.prune)
    first_delivery = _sync(Plans.first_delivery)
    delivered = _sync(Plans.delivered)
    forget_deliveries = _sync(Plans.forget_deliveries)
    poll_offset = _sync(Plans.poll_offset)
    set_poll_offset = _sync(Plans.set_poll_offset)

    def ping(self) -> int:
        """Read the schema version (raises StorageError if the database is unusable)."""
        rows = self._raw_read("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0]["value"]) if rows else 0
