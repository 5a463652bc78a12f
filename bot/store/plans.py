"""Every operation of the store, written once: its statements, in the order it runs them, and
what it makes of their answers, for SQLite and PostgreSQL alike.

An operation is a *plan*: a generator that yields each statement (`Op`) and receives its
answer (rows for a read, a `Done` for a write), then returns the operation's result. It does
no I/O itself, so one plan is run by the synchronous SQLite store (bot.store.storage: each
statement at once), by its asynchronous adapter (bot.store.sqlite_async) and by the
PostgreSQL store (bot.store.postgres: each statement awaited over a pool). A plan calls
another with `yield from`, and a plan marked `@atomic` runs in one transaction (the store's
`batch()`), exactly where the synchronous store always opened one.

The statements are SQLite's text, with the business bound as `?1` (bot.store.scope); the
PostgreSQL store translates each once (bot.store.dialect). Where the two databases must be
told different things, an Op carries the PostgreSQL text beside it (`postgres=`): today only
the outboxes' claims, which take the row with `FOR UPDATE SKIP LOCKED` there. The portable
text is written to mean the same on both: `"end"` quoted (a reserved word in PostgreSQL),
`NULLS FIRST` spelled out (SQLite's default order, PostgreSQL's is the opposite), ties broken
by id, a subquery in FROM named.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

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

T = TypeVar("T")

READ, WRITE, MANY, ERASE = "read", "write", "many", "erase"


@dataclass(frozen=True, slots=True)
class Op:
    """One statement of a plan: `kind` read (answered with rows as dicts), write (answered
    with a `Done`) or many (one write for each tuple of `params`, sent together: PostgreSQL
    pipelines them in one round trip; answered with a `Done` of their rows in all);
    `postgres` is PostgreSQL's text where it must differ from SQLite's; `returns_id` asks a
    write for the id of the row it inserted or updated (RETURNING id, on both). `erase` is no
    statement: the deletion of personal data in this transaction must leave no copy behind
    (bot.store.files, SQLite's WAL)."""

    kind: str
    sql: str = ""
    params: tuple[Any, ...] = ()
    postgres: str | None = None
    returns_id: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    """A write's answer: rows changed, and the inserted row's id when the Op asked for it."""

    rowcount: int
    lastrowid: int | None = None


ERASE_AFTER_COMMIT = Op(ERASE)

# A plan yields Ops, is sent each one's answer, and returns its result.
Plan = Generator[Op, Any, T]


def atomic(plan: Callable[..., Plan[T]]) -> Callable[..., Plan[T]]:
    """Run this plan in one transaction (the store's batch())."""
    plan.atomic = True  # type: ignore[attr-defined]
    return plan


def is_atomic(plan: Callable[..., Any]) -> bool:
    return getattr(plan, "atomic", False)


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


# ---- the plans ------------------------------------------------------------------------------


# Who claims the outboxes' rows in this process (SQLite: one process; a row left claimed by
# another number was claimed before this process started, by one that died mid-send).
# PostgreSQL's store names its claims by a session lock instead (bot.store.postgres).
PROCESS_CLAIMER = secrets.randbits(62) + 1


def _claim_lapsed(box: Outbox) -> str:
    """SQLite: a row claimed by another process than this one (dead: SQLite has one) and
    never marked done. `?` is this process's claimer."""
    return f"({box.table}.status = '{box.claimed}' AND {box.table}.claimed_by <> ?)"


def _claim_lapsed_pg(box: Outbox) -> str:
    """PostgreSQL: a row claimed by a claimer whose session lock is held by nobody (its
    process died or lost the database) and never marked done. `?` is this process's claimer
    (alive: it holds its lock). A bigint advisory key shows in pg_locks as classid (high half)
    and objid (low half), objsubid 1."""
    return (
        f"({box.table}.status = '{box.claimed}' AND {box.table}.claimed_by <> ? AND NOT EXISTS "
        "(SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 1 "
        "AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = "
        f"{box.table}.claimed_by))"
    )


# The columns and joins of `conversation_and_language` after its SELECT (?1 the business, ?2
# the chat, ?3 the user): one row whether or not either is stored. Shared with the update's
# turn on PostgreSQL, which reads the same with the turn (bot.store.pg_locks).
CONVERSATION_AND_LANGUAGE = (
    "c.chat_id, c.user_id, c.state, u.language FROM (SELECT 1 AS one) AS o "
    "LEFT JOIN conversations c ON c.business = ?1 AND c.chat_id = ?2 "
    "LEFT JOIN users u ON u.business = ?1 AND u.user_id = ?3"
)


def conversation_of(row: dict[str, Any]) -> tuple[ConversationRow | None, str | None]:
    """A row of CONVERSATION_AND_LANGUAGE as the chat's conversation and the user's language."""
    if row["state"] is None:
        return None, row["language"]
    return ConversationRow(row["chat_id"], row["user_id"], row["state"]), row["language"]


class Plans:
    """The store's operations, as plans (see the module). The business is not theirs to know:
    the store that runs a plan binds its own as ?1 to every statement. `claimer` names this
    process's claims of the outboxes' rows (PROCESS_CLAIMER, or the PostgreSQL store's)."""

    def __init__(self, now: Callable[[], datetime], claimer: int | None = None) -> None:
        self._clock = now
        self.claimer = claimer if claimer is not None else PROCESS_CLAIMER

    def _now(self) -> str:
        return _utc(self._clock())

    @staticmethod
    def _read(sql: str, params: tuple[Any, ...] = (), *, postgres: str | None = None) -> Op:
        return Op(READ, sql, params, postgres)

    @staticmethod
    def _write(
        sql: str,
        params: tuple[Any, ...] = (),
        *,
        postgres: str | None = None,
        returns_id: bool = False,
    ) -> Op:
        return Op(WRITE, sql, params, postgres, returns_id)

    @staticmethod
    def _write_many(
        sql: str, rows: list[tuple[Any, ...]], *, postgres: str | None = None
    ) -> Plan[int]:
        """The same write for each of `rows` (none: nothing sent); rows changed in all."""
        if not rows:
            return 0
        done = yield Op(MANY, sql, tuple(rows), postgres)
        return int(done.rowcount)

    # -- users --

    def get_language(self, user_id: int) -> Plan[str | None]:
        rows = yield self._read(
            "SELECT language FROM users WHERE business = ?1 AND user_id = ?", (user_id,)
        )
        return rows[0]["language"] if rows else None

    def set_language(self, user_id: int, language: str) -> Plan[None]:
        now = self._now()
        yield self._write(
            "INSERT INTO users (business, user_id, language, prefs, created_at, updated_at) "
            "VALUES (?1, ?, ?, '{}', ?, ?) ON CONFLICT(business, user_id) DO UPDATE SET "
            "language = excluded.language, updated_at = excluded.updated_at",
            (user_id, language, now, now),
        )

    def get_prefs(self, user_id: int) -> Plan[dict[str, Any]]:
        rows = yield self._read(
            "SELECT prefs FROM users WHERE business = ?1 AND user_id = ?", (user_id,)
        )
        return json.loads(rows[0]["prefs"] or "{}") if rows else {}

    @atomic
    def update_prefs(self, user_id: int, **changes: Any) -> Plan[None]:
        """Merge `changes` into the customer's preferences; a None value removes the key."""
        prefs = yield from self.get_prefs(user_id)
        for key, value in changes.items():
            if value is None:
                prefs.pop(key, None)
            else:
                prefs[key] = value
        now = self._now()
        yield self._write(
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
    ) -> Plan[int]:
        """Insert (or, for a replayed confirm, update) a booking; returns its local id.
        `booked_at` (the bot's clock; the wall clock when not given) is kept from the first
        write: a replayed confirm is not a second booking."""
        now = self._now()
        done = yield self._write(
            "INSERT INTO bookings (business, user_id, chat_id, appointment_id, service_id, "
            'service_name, location_id, location_name, location_address, timezone, start, "end", '
            "status, language, checked_at, next_check_at, booked_at, created_at, updated_at) "
            "VALUES (?1,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(business, appointment_id) DO UPDATE SET start = excluded.start, "
            '"end" = excluded."end", status = excluded.status, '
            "language = COALESCE(excluded.language, bookings.language), "
            "checked_at = excluded.checked_at, "
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
            returns_id=True,
        )
        return int(done.lastrowid)

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
    ) -> Plan[None]:
        """Change the given fields (None leaves one as it is)."""
        yield self._write(
            "UPDATE bookings SET status = COALESCE(?2, status), start = COALESCE(?3, start), "
            '"end" = COALESCE(?4, "end"), language = COALESCE(?5, language), '
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

    def bookings_to_check(self, now: datetime, limit: int) -> Plan[list[BookingRow]]:
        """Active bookings whose appointment is ahead and whose next comparison with Zimun is
        due, in turns across customers: every customer's most overdue booking first (never
        checked: first of all), then every customer's second, and so on. The budget is shared
        per customer, not per booking: one account with many bookings cannot starve the
        others' change notices."""
        inactive = ",".join("?" for _ in INACTIVE_STATUSES)
        rows = yield self._read(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER ("
            "PARTITION BY user_id ORDER BY next_check_at NULLS FIRST, start, id) AS turn "
            f"FROM bookings WHERE business = ?1 AND status NOT IN ({inactive}) AND start > ? "
            "AND (next_check_at IS NULL OR next_check_at <= ?)) AS due "
            "ORDER BY turn, next_check_at NULLS FIRST, start, id LIMIT ?",
            (*INACTIVE_STATUSES, _iso(now), _utc(now), limit),
        )
        return [BookingRow.from_row(r) for r in rows]

    def upcoming_bookings(self, now: datetime) -> Plan[list[BookingRow]]:
        """Every active booking whose appointment is ahead (what reconciling looks after)."""
        inactive = ",".join("?" for _ in INACTIVE_STATUSES)
        rows = yield self._read(
            f"SELECT * FROM bookings WHERE business = ?1 AND status NOT IN ({inactive}) "
            "AND start > ? ORDER BY start, id",
            (*INACTIVE_STATUSES, _iso(now)),
        )
        return [BookingRow.from_row(r) for r in rows]

    def upcoming_count(self, user_id: int, now: datetime) -> Plan[int]:
        """How many active appointments of the customer are ahead (MAX_UPCOMING_PER_CUSTOMER)."""
        inactive = ",".join("?" for _ in INACTIVE_STATUSES)
        rows = yield self._read(
            f"SELECT count(*) AS n FROM bookings WHERE business = ?1 AND user_id = ? "
            f"AND status NOT IN ({inactive}) AND start > ?",
            (user_id, *INACTIVE_STATUSES, _iso(now)),
        )
        return int(rows[0]["n"])

    def booked_since(self, user_id: int, since: datetime) -> Plan[int]:
        """How many bookings the customer made after `since`, whatever became of them since
        (MAX_BOOKINGS_PER_DAY: booking and cancelling again and again counts every time)."""
        rows = yield self._read(
            "SELECT count(*) AS n FROM bookings WHERE business = ?1 AND user_id = ? "
            "AND booked_at > ?",
            (user_id, _utc(since)),
        )
        return int(rows[0]["n"])

    def get_booking(self, booking_id: int) -> Plan[BookingRow | None]:
        rows = yield self._read(
            "SELECT * FROM bookings WHERE business = ?1 AND id = ?", (booking_id,)
        )
        return BookingRow.from_row(rows[0]) if rows else None

    def bookings_for_user(self, user_id: int) -> Plan[list[BookingRow]]:
        rows = yield self._read(
            "SELECT * FROM bookings WHERE business = ?1 AND user_id = ? ORDER BY start, id",
            (user_id,),
        )
        return [BookingRow.from_row(r) for r in rows]

    def booking_by_appointment(self, appointment_id: str) -> Plan[BookingRow | None]:
        rows = yield self._read(
            "SELECT * FROM bookings WHERE business = ?1 AND appointment_id = ?", (appointment_id,)
        )
        return BookingRow.from_row(rows[0]) if rows else None

    # -- a booking's life: one read and one write per entry (bot.core.lifecycle) --

    def stored_booking(
        self, booking_id: int | None = None, *, appointment_id: str | None = None
    ) -> Plan[Stored | None]:
        """A booking (by id, or by appointment) with what a decision about it needs."""
        row = yield from (
            self.get_booking(booking_id)
            if booking_id is not None
            else self.booking_by_appointment(appointment_id or "")
        )
        if row is None:
            return None
        pending = yield from self.pending_notice(row.id)
        fallback = None
        if not row.language:
            reminders = yield from self.reminders_for_booking(row.id)
            fallback = next((r.language for r in reminders), None)
        return Stored(row, pending.previous_start if pending else None, fallback)

    @atomic
    def apply(self, write: Write) -> Plan[int]:
        """Everything one entry changes, in one transaction; returns the booking's id."""
        fields = write.fields
        if write.new is not None:
            booking_id = yield from self.add_booking(
                **asdict(write.new),
                language=fields.language,
                checked_at=fields.checked_at,
                next_check_at=fields.next_check_at,
                booked_at=write.booked_at,
            )
        else:
            assert write.booking_id is not None
            booking_id = write.booking_id
            yield from self.update_booking(booking_id, **asdict(fields))
        if write.reminders is not None:
            yield from self.set_reminders(
                booking_id,
                write.user_id,
                write.chat_id,
                list(write.reminders),
                language=write.reminder_language,
            )
        if write.drop_reminders:
            yield from self.drop_pending_reminders(booking_id)
        if write.skip_notices:
            yield from self.skip_pending_notices(booking_id)
        if write.notice is not None:
            yield from self._add_notice(booking_id, write.user_id, write.chat_id, write.notice)
        return booking_id

    # -- reminders --

    @atomic
    def set_reminders(
        self,
        booking_id: int,
        user_id: int,
        chat_id: int,
        due: list[tuple[int, datetime]],
        *,
        language: str | None,
    ) -> Plan[None]:
        """Replace every reminder of the booking by `due` ((offset minutes, due time) pairs):
        a new or moved appointment starts with fresh, unsent reminders."""
        now = self._now()
        yield self._write(
            "DELETE FROM reminders WHERE business = ?1 AND booking_id = ?", (booking_id,)
        )
        yield from self._write_many(
            "INSERT INTO reminders (business, booking_id, user_id, chat_id, "
            "offset_minutes, due_at, language, status, created_at) "
            "VALUES (?1,?,?,?,?,?,?,'pending',?)",
            [
                (booking_id, user_id, chat_id, offset_minutes, _utc(due_at), language, now)
                for offset_minutes, due_at in due
            ],
        )

    def drop_pending_reminders(self, booking_id: int) -> Plan[None]:
        """A cancelled appointment: its unsent reminders go (sent ones stay as history)."""
        yield self._write(
            "DELETE FROM reminders WHERE business = ?1 AND booking_id = ? AND status = 'pending'",
            (booking_id,),
        )

    def due_reminders(self, now: datetime, limit: int = 100) -> Plan[list[ReminderRow]]:
        rows = yield self._read(
            "SELECT * FROM reminders WHERE business = ?1 AND due_at <= ?2 AND "
            f"(status = 'pending' OR {_claim_lapsed(REMINDERS).replace('?', '?3')}) "
            "ORDER BY due_at, id LIMIT ?4",
            (_utc(now), self.claimer, limit),
            postgres="SELECT * FROM reminders WHERE business = ?1 AND due_at <= ?2 AND "
            f"(status = 'pending' OR {_claim_lapsed_pg(REMINDERS).replace('?', '?3')}) "
            "ORDER BY due_at, id LIMIT ?4",
        )
        return [ReminderRow.from_row(r) for r in rows]

    def reminders_for_booking(self, booking_id: int) -> Plan[list[ReminderRow]]:
        rows = yield self._read(
            "SELECT * FROM reminders WHERE business = ?1 AND booking_id = ? ORDER BY due_at, id",
            (booking_id,),
        )
        return [ReminderRow.from_row(r) for r in rows]

    # -- the outboxes: reminders, notices and waiting-list news, claimed before they are sent --

    def claim(self, box: Outbox, item_id: int) -> Plan[bool]:
        """Mark a due message claimed (sent) by this process, before sending it; False if
        another scan or process got it first. One UPDATE with a status guard: two scans can
        never both win. A row another process claimed and never marked done (`claim_done`)
        is claimable again once that process is dead (`_claim_lapsed`): it was killed between
        the claim and the send's end. In PostgreSQL the row is taken with FOR UPDATE SKIP
        LOCKED: a process whose claim meets another's transaction on the row does not wait
        for it, it has lost."""
        me = self.claimer
        cursor = yield self._write(
            f"UPDATE {box.table} SET status = ?2, {box.claimed_at} = ?3, "
            "attempts = attempts + 1, claimed_by = ?6 WHERE business = ?1 AND id = ?4 AND "
            f"(status = ?5 OR {_claim_lapsed(box).replace('?', '?6')})",
            (box.claimed, self._now(), item_id, box.due, me),
            postgres=f"UPDATE {box.table} SET status = ?2, {box.claimed_at} = ?3, "
            "attempts = attempts + 1, claimed_by = ?6 WHERE business = ?1 AND id = "
            f"(SELECT id FROM {box.table} WHERE business = ?1 AND id = ?4 AND "
            f"(status = ?5 OR {_claim_lapsed_pg(box).replace('?', '?6')}) "
            "FOR UPDATE SKIP LOCKED)",
        )
        return cursor.rowcount == 1

    def claim_done(self, box: Outbox, item_id: int) -> Plan[None]:
        """This process's send of a claimed message is over (sent, or not to be repeated):
        nobody takes it again."""
        yield self._write(
            f"UPDATE {box.table} SET claimed_by = NULL WHERE business = ?1 AND id = ? "
            "AND status = ? AND claimed_by = ?",
            (item_id, box.claimed, self.claimer),
        )

    def unclaim(self, box: Outbox, item_id: int) -> Plan[None]:
        """Due again after a send that certainly did not reach Telegram."""
        yield self._write(
            f"UPDATE {box.table} SET status = ?2, {box.claimed_at} = NULL, claimed_by = NULL "
            "WHERE business = ?1 AND id = ?3 AND status = ?4",
            (box.due, item_id, box.claimed),
            postgres=f"UPDATE {box.table} SET status = ?2, {box.claimed_at} = NULL, "
            "claimed_by = NULL WHERE business = ?1 AND id = "
            f"(SELECT id FROM {box.table} WHERE business = ?1 AND id = ?3 AND status = ?4 "
            "FOR UPDATE SKIP LOCKED)",
        )

    @atomic
    def skip(self, box: Outbox, item_ids: list[int]) -> Plan[None]:
        """Due messages that will not be sent (the appointment passed, a later one supersedes),
        a dead process's unfinished claims among them; one being claimed by another process
        meanwhile (PostgreSQL) is left to it."""
        yield from self._write_many(
            f"UPDATE {box.table} SET status = 'skipped', claimed_by = NULL "
            f"WHERE business = ?1 AND id = ?2 AND (status = ?3 OR "
            f"{_claim_lapsed(box).replace('?', '?4')})",
            [(item_id, box.due, self.claimer) for item_id in item_ids],
            postgres=f"UPDATE {box.table} SET status = 'skipped', claimed_by = NULL "
            "WHERE business = ?1 AND id = "
            f"(SELECT id FROM {box.table} WHERE business = ?1 AND id = ?2 AND (status = ?3 OR "
            f"{_claim_lapsed_pg(box).replace('?', '?4')}) FOR UPDATE SKIP LOCKED)",
        )

    def claim_waitlist(self, item_id: int) -> Plan[bool]:
        """`claim` of the waiting list's news (the name tests/waitlist know it by)."""
        return (yield from self.claim(WAITLIST, item_id))

    # -- notices (changes made at the business, to tell the customer) --

    def add_notice(
        self,
        booking: BookingRow,
        kind: str,
        *,
        start: datetime,
        previous_start: datetime,
        language: str | None,
    ) -> Plan[int]:
        notice = Notice(kind, start=start, previous_start=previous_start, language=language)
        return (yield from self._add_notice(booking.id, booking.user_id, booking.chat_id, notice))

    def _add_notice(self, booking_id: int, user_id: int, chat_id: int, notice: Notice) -> Plan[int]:
        cursor = yield self._write(
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
            returns_id=True,
        )
        return int(cursor.lastrowid or 0)

    def pending_notice(self, booking_id: int) -> Plan[NoticeRow | None]:
        """The newest notice of a booking not sent yet, if any."""
        rows = yield self._read(
            "SELECT * FROM notices WHERE business = ?1 AND booking_id = ? "
            "AND status = 'pending' ORDER BY id DESC LIMIT 1",
            (booking_id,),
        )
        return NoticeRow.from_row(rows[0]) if rows else None

    def skip_pending_notices(self, booking_id: int) -> Plan[None]:
        """Notices overtaken by a newer change of the same booking are never sent."""
        yield self._write(
            "UPDATE notices SET status = 'skipped' WHERE business = ?1 AND booking_id = ? "
            "AND status = 'pending'",
            (booking_id,),
        )

    def pending_notices(self, limit: int = 100) -> Plan[list[NoticeRow]]:
        rows = yield self._read(
            "SELECT * FROM notices WHERE business = ?1 AND "
            f"(status = 'pending' OR {_claim_lapsed(NOTICES).replace('?', '?2')}) "
            "ORDER BY id LIMIT ?3",
            (self.claimer, limit),
            postgres="SELECT * FROM notices WHERE business = ?1 AND "
            f"(status = 'pending' OR {_claim_lapsed_pg(NOTICES).replace('?', '?2')}) "
            "ORDER BY id LIMIT ?3",
        )
        return [NoticeRow.from_row(r) for r in rows]

    def notices_for_booking(self, booking_id: int) -> Plan[list[NoticeRow]]:
        rows = yield self._read(
            "SELECT * FROM notices WHERE business = ?1 AND booking_id = ? ORDER BY id",
            (booking_id,),
        )
        return [NoticeRow.from_row(r) for r in rows]

    # -- the waiting list (customers to tell when a time frees up on a full day) --

    @atomic
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
    ) -> Plan[int]:
        """Put the customer on the list for `day` (or back on it: a told entry is re-armed,
        keeping its place, which dates from when they first asked, and its offer: the time it
        was told of is not offered to it again, and is still its own until the offer's window
        ends; see `waitlist_day_full`). The entry is looked at with its service and branch: at
        `next_check_at`, or sooner if the pair is due sooner."""
        rows = yield self._read(
            "SELECT min(next_check_at) AS due FROM waitlist WHERE business = ?1 "
            "AND status = 'waiting' AND service_id = ? AND location_id = ?",
            (service_id, location_id),
        )
        pair_due = rows[0]["due"]
        due = min(pair_due, _utc(next_check_at)) if pair_due else _utc(next_check_at)
        done = yield self._write(
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
            returns_id=True,
        )
        return int(done.lastrowid)

    def waitlist_entry(self, entry_id: int) -> Plan[WaitlistRow | None]:
        rows = yield self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND id = ?", (entry_id,)
        )
        return WaitlistRow.from_row(rows[0]) if rows else None

    def waitlist_entry_for(
        self, user_id: int, service_id: str, location_id: str, day: date
    ) -> Plan[WaitlistRow | None]:
        rows = yield self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND user_id = ? AND service_id = ? "
            "AND location_id = ? AND day = ?",
            (user_id, service_id, location_id, day.isoformat()),
        )
        return WaitlistRow.from_row(rows[0]) if rows else None

    def waitlist_for_user(self, user_id: int, now: datetime) -> Plan[list[WaitlistRow]]:
        """The customer's entries still on the list (waiting, or about to be told)."""
        rows = yield self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND user_id = ? "
            "AND status IN ('waiting', 'due') "
            "AND ends_at > ? ORDER BY day, service_name, location_name, id",
            (user_id, _utc(now)),
        )
        return [WaitlistRow.from_row(r) for r in rows]

    def leave_waitlist(self, entry_id: int) -> Plan[None]:
        yield self._write("DELETE FROM waitlist WHERE business = ?1 AND id = ?", (entry_id,))

    def end_waitlist(self, now: datetime) -> Plan[int]:
        """Entries whose day has passed end by themselves: deleted, whatever their status."""
        done = yield self._write(
            "DELETE FROM waitlist WHERE business = ?1 AND ends_at <= ?", (_utc(now),)
        )
        return done.rowcount

    def waitlist_pairs_due(self, now: datetime, limit: int) -> Plan[list[tuple[str, str]]]:
        """(service, branch) pairs with someone waiting whose next look is due, in turns across
        customers (as bookings_to_check): the pairs holding some customer's most overdue pair
        first, then some customer's second, and so on, most overdue first within a turn. One
        customer waiting at many services and branches cannot starve the others."""
        rows = yield self._read(
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
    ) -> Plan[list[WaitlistRow]]:
        """The pair's waiting entries, by day and then in the order they joined."""
        rows = yield self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND status = 'waiting' "
            "AND service_id = ? AND location_id = ? AND ends_at > ? ORDER BY day, joined_at, id",
            (service_id, location_id, _utc(now)),
        )
        return [WaitlistRow.from_row(r) for r in rows]

    def open_offers(
        self, service_id: str, location_id: str, day: date, since: datetime
    ) -> Plan[int]:
        """Entries of the day told of a free time since `since` that have not booked yet
        (re-armed ones too): each still has that time to itself."""
        rows = yield self._read(
            "SELECT count(*) AS n FROM waitlist WHERE business = ?1 AND service_id = ? "
            "AND location_id = ? AND day = ? AND status IN ('waiting', 'due', 'told') "
            "AND offered_at > ?",
            (service_id, location_id, day.isoformat(), _utc(since)),
        )
        return int(rows[0]["n"])

    def waitlist_day_full(self, service_id: str, location_id: str, day: date) -> Plan[None]:
        """A look found no free time on `day`: whatever its entries were told of is gone, so
        the next time that frees up is news to each of them again. Until then an entry told
        once (re-armed or not) is not offered again: one freed time, one offer per entry."""
        yield self._write(
            "UPDATE waitlist SET offered_at = NULL WHERE business = ?1 AND service_id = ? "
            "AND location_id = ? AND day = ? AND status IN ('waiting', 'told')",
            (service_id, location_id, day.isoformat()),
        )

    @atomic
    def offer_waitlist(self, entry_ids: list[int], now: datetime) -> Plan[None]:
        """A free time was found for these waiting entries: they are to be told."""
        yield from self._write_many(
            "UPDATE waitlist SET status = 'due', offered_at = ?2 "
            "WHERE business = ?1 AND id = ?3 AND status = 'waiting'",
            [(_utc(now), entry_id) for entry_id in entry_ids],
        )

    @atomic
    def schedule_waitlist(
        self,
        service_id: str,
        location_id: str,
        next_check_at: datetime,
        *,
        checked: list[date],
        at: datetime,
    ) -> Plan[None]:
        """The pair was looked at: every waiting entry of it is next looked at together; the
        days the answer covered were judged `at`."""
        yield self._write(
            "UPDATE waitlist SET next_check_at = ?2 WHERE business = ?1 "
            "AND status = 'waiting' AND service_id = ?3 AND location_id = ?4",
            (_utc(next_check_at), service_id, location_id),
        )
        yield from self._write_many(
            "UPDATE waitlist SET checked_at = ?2 WHERE business = ?1 "
            "AND service_id = ?3 AND location_id = ?4 AND day = ?5",
            [(_utc(at), service_id, location_id, day.isoformat()) for day in checked],
        )

    def due_waitlist(self, limit: int = 100) -> Plan[list[WaitlistRow]]:
        """Entries to tell, first found first, then in the order they joined."""
        rows = yield self._read(
            "SELECT * FROM waitlist WHERE business = ?1 AND "
            f"(status = 'due' OR {_claim_lapsed(WAITLIST).replace('?', '?2')}) "
            "ORDER BY offered_at NULLS FIRST, joined_at, id LIMIT ?3",
            (self.claimer, limit),
            postgres="SELECT * FROM waitlist WHERE business = ?1 AND "
            f"(status = 'due' OR {_claim_lapsed_pg(WAITLIST).replace('?', '?2')}) "
            "ORDER BY offered_at NULLS FIRST, joined_at, id LIMIT ?3",
        )
        return [WaitlistRow.from_row(r) for r in rows]

    def waitlist_booked(
        self, user_id: int, service_id: str, location_id: str, day: date
    ) -> Plan[int]:
        """The customer booked this service at this branch on `day`: their entry for it is
        done. Returns how many entries that ended (0 or 1)."""
        return (
            yield self._write(
                "UPDATE waitlist SET status = 'booked' WHERE business = ?1 AND user_id = ? "
                "AND service_id = ? AND location_id = ? AND day = ? "
                "AND status IN ('waiting', 'due', 'told')",
                (user_id, service_id, location_id, day.isoformat()),
            )
        ).rowcount

    # -- funnel (anonymous statistics) --

    @atomic
    def record_funnel(self, events: list[FunnelEvent]) -> Plan[None]:
        yield from self._write_many(
            "INSERT INTO funnel (business, at, attempt, event, step, location_name, "
            "service_name) VALUES (?1,?,?,?,?,?,?)",
            [
                (
                    _utc(event.at),
                    event.attempt,
                    event.event,
                    event.step,
                    event.location_name,
                    event.service_name,
                )
                for event in events
            ],
        )

    def funnel_since(self, since: datetime) -> Plan[list[FunnelEvent]]:
        rows = yield self._read(
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

    def load_conversation(self, chat_id: int) -> Plan[ConversationRow | None]:
        rows = yield self._read(
            "SELECT chat_id, user_id, state FROM conversations WHERE business = ?1 AND chat_id = ?",
            (chat_id,),
        )
        return ConversationRow(**rows[0]) if rows else None

    def conversation_and_language(
        self, chat_id: int, user_id: int
    ) -> Plan[tuple[ConversationRow | None, str | None]]:
        """`load_conversation` and `get_language` in one statement (one round trip in
        PostgreSQL): what every update reads first. (Coordinated PostgreSQL reads the same
        within the update's turn: bot.store.pg_locks, bot.store.postgres.)"""
        rows = yield self._read(f"SELECT {CONVERSATION_AND_LANGUAGE}", (chat_id, user_id))
        return conversation_of(rows[0])

    def save_conversation(
        self, chat_id: int, user_id: int, state: str, *, pending: bool
    ) -> Plan[None]:
        yield self._write(
            "INSERT INTO conversations (business, chat_id, user_id, state, pending, updated_at) "
            "VALUES (?1, ?, ?, ?, ?, ?) ON CONFLICT(business, chat_id) DO UPDATE SET "
            "user_id = excluded.user_id, "
            "state = excluded.state, pending = excluded.pending, updated_at = excluded.updated_at",
            (chat_id, user_id, state, int(pending), self._now()),
        )

    @atomic
    def save_with_funnel(
        self,
        chat_id: int,
        user_id: int,
        state: str | None,
        *,
        pending: bool,
        funnel: list[FunnelEvent],
    ) -> Plan[None]:
        """What most updates write, in one transaction: their funnel events, then the chat's
        conversation (None: unchanged, not written). Writes only, none of whose answers is
        read: PostgreSQL sends them in one round trip (bot.store.postgres)."""
        if funnel:
            yield from self.record_funnel(funnel)
        if state is not None:
            yield from self.save_conversation(chat_id, user_id, state, pending=pending)

    def pending_conversations(self) -> Plan[list[ConversationRow]]:
        rows = yield self._read(
            "SELECT chat_id, user_id, state FROM conversations WHERE business = ?1 AND pending = 1"
        )
        return [ConversationRow(**r) for r in rows]

    @atomic
    def forget_user(self, user_id: int, chat_id: int | None = None) -> Plan[None]:
        """Delete every row about a customer (their bookings at the business stay there):
        reminders, notices, waiting-list entries, bookings, the conversation of their chat, and
        their language and prefs. Once committed, the WAL is emptied so that no file keeps a
        copy (bot.store.files)."""
        yield ERASE_AFTER_COMMIT
        for table in ("reminders", "notices", "waitlist", "bookings", "users"):
            yield self._write(
                f"DELETE FROM {table} WHERE business = ?1 AND user_id = ?", (user_id,)
            )
        yield self._write(
            "DELETE FROM conversations WHERE business = ?1 AND (user_id = ? OR chat_id = ?)",
            (user_id, user_id if chat_id is None else chat_id),
        )

    def conversation_count(self) -> Plan[int]:
        rows = yield self._read("SELECT count(*) AS n FROM conversations WHERE business = ?1")
        return int(rows[0]["n"])

    # -- housekeeping --

    @atomic
    def prune(self, *, appointments_before: datetime, idle_before: datetime) -> Plan[int]:
        """Delete bookings whose appointment started before `appointments_before` (their
        reminders go with them), funnel rows older than it, and conversations untouched since
        `idle_before` (a draft abandoned mid-way holds a name and email). A conversation with
        a confirm in flight is kept. Returns the number of rows deleted."""
        yield ERASE_AFTER_COMMIT
        deleted = (
            yield self._write(
                "DELETE FROM bookings WHERE business = ?1 AND start < ?",
                (_iso(appointments_before),),
            )
        ).rowcount
        deleted += (
            yield self._write(
                "DELETE FROM funnel WHERE business = ?1 AND at < ?", (_utc(appointments_before),)
            )
        ).rowcount
        deleted += (
            yield self._write(
                "DELETE FROM conversations WHERE business = ?1 AND pending = 0 AND updated_at < ?",
                (idle_before.astimezone(UTC).isoformat(timespec="seconds"),),
            )
        ).rowcount
        return deleted

    # -- several processes, one bot (issue 20; the tables: storage._m7_coordination) --

    def first_delivery(self, update_id: int) -> Plan[bool]:
        """Record `update_id` as handled for this business: True the first time, False ever
        after (within a day: forget_deliveries): the unique key decides, whichever process
        asks. In PostgreSQL the commit does not wait for the disk (synchronous_commit off for
        this one transaction): a record lost in a database crash only lets a redelivery of
        an update handled just before it through, and costs a flush per update less."""
        insert = (
            "INSERT INTO deliveries (business, update_id, at) VALUES (?1, ?, ?) "
            "ON CONFLICT(business, update_id) DO NOTHING"
        )
        done = yield self._write(
            insert,
            (update_id, self._now()),
            postgres="WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)) "
            "INSERT INTO deliveries (business, update_id, at) "
            "SELECT ?1, ?, ? FROM quick ON CONFLICT(business, update_id) DO NOTHING",
        )
        return bool(done.rowcount == 1)

    def delivered(self, update_id: int) -> Plan[bool]:
        """Whether `update_id` was recorded as handled (`first_delivery`) by any process."""
        rows = yield self._read(
            "SELECT 1 AS done FROM deliveries WHERE business = ?1 AND update_id = ?", (update_id,)
        )
        return bool(rows)

    def forget_deliveries(self, before: datetime) -> Plan[int]:
        """Forget the updates taken before `before` (Telegram keeps an update a day at most)."""
        done = yield self._write(
            "DELETE FROM deliveries WHERE business = ?1 AND at < ?", (_utc(before),)
        )
        return int(done.rowcount)

    def poll_offset(self, bot: str) -> Plan[int]:
        """The getUpdates offset stored for `bot` (0: none yet, Telegram's own confirmation)."""
        rows = yield self._read(
            "SELECT poll_offset FROM bot_state WHERE business = ?1 AND bot = ?", (bot,)
        )
        return int(rows[0]["poll_offset"] or 0) if rows else 0

    def set_poll_offset(self, bot: str, offset: int) -> Plan[None]:
        """Store `bot`'s offset; it only moves forward (a late writer cannot move it back)."""
        yield self._write(
            "INSERT INTO bot_state (business, bot, poll_offset) VALUES (?1, ?, ?) "
            "ON CONFLICT(business, bot) DO UPDATE SET poll_offset = "
            "max(COALESCE(bot_state.poll_offset, 0), excluded.poll_offset)",
            (bot, offset),
            postgres="INSERT INTO bot_state (business, bot, poll_offset) VALUES (?1, ?, ?) "
            "ON CONFLICT(business, bot) DO UPDATE SET poll_offset = "
            "GREATEST(COALESCE(bot_state.poll_offset, 0), excluded.poll_offset)",
        )
