"""A booking's life as one pure decision: what the store holds, what happened, and the time ->
what to write, which reminders to plan or drop, and what to announce.

Whoever learns something about a booking describes it as an entry: `Booked`, `Moved` and
`Cancelled` for what the customer did through the bot, `Seen` for what Zimun says the
appointment is now (the reconcile scan, My bookings, a reminder's last look). `decide` turns
one entry and the booking as stored (`Stored`) into one `Write`, which the ledger
(bot.followup.ledger) hands to the store in one transaction:

- the booking's row (and the language the customer used, for messages sent outside a chat);
- its reminders, planned afresh for a new or moved time, or the unsent ones dropped when it is
  cancelled;
- its next comparison with Zimun (the cadence the caller passes);
- for a change made at the business, the notice to the customer: one not sent yet is replaced
  by the net change from the time the customer knows, and a move back to that time says
  nothing;
- the BookingChange listeners receive once the write is committed (None when nothing changed).

No I/O and no clock: the same inputs always give the same Write, so every rule of a booking's
life is tested here without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.changes import BookingChange, ChangeKind
from bot.core.models import Appointment
from bot.core.records import BookingRow, NewBooking, is_active

# ---- entries: what happened -------------------------------------------------------------------


@dataclass(frozen=True)
class Booked:
    booking: NewBooking
    contact_name: str | None = None  # for the staff chat only; never stored


@dataclass(frozen=True)
class Moved:
    """The customer moved the booking through the bot (Zimun accepted it)."""

    booking_id: int
    start: datetime
    end: datetime | None
    status: str = "confirmed"
    contact_name: str | None = None


@dataclass(frozen=True)
class Cancelled:
    """The customer cancelled the booking through the bot (Zimun accepted it)."""

    booking_id: int
    status: str = "cancelled"
    contact_name: str | None = None


@dataclass(frozen=True)
class Seen:
    """What Zimun says about a booking's appointment, asked at `at`; `epoch` is the booking's
    epoch when the question was asked (the ledger's: it changes as the bot holds and releases
    the booking)."""

    booking_id: int
    status: str
    at: datetime
    epoch: int = 0
    start: datetime | None = None
    end: datetime | None = None
    contact_name: str | None = None

    @classmethod
    def of(cls, booking_id: int, appointment: Appointment, at: datetime, epoch: int) -> Seen:
        return cls(
            booking_id,
            appointment.status,
            at,
            epoch,
            appointment.start,
            appointment.end,
            appointment.contact_name,
        )

    @classmethod
    def gone(cls, booking_id: int, at: datetime, epoch: int) -> Seen:
        """Zimun answers 404: the appointment no longer exists, as good as cancelled."""
        return cls(booking_id, "cancelled", at, epoch)

    def applied_to(self, row: BookingRow) -> BookingRow:
        """The row as the ledger will leave it (for a screen drawn before the write)."""
        if not row.active:
            return row
        start = self.start or row.start
        return replace(row, status=self.status, start=start, end=_end(row, start, self.end))


Entry = Booked | Moved | Cancelled | Seen


# ---- what the store holds, and what to write ------------------------------------------------


class Schedule(Protocol):
    """When a booking is next compared with Zimun (bot.core.cadence)."""

    def next_check(self, now: datetime, start: datetime) -> datetime: ...


@dataclass(frozen=True)
class Stored:
    """A booking as stored, with what a decision about it needs besides the row."""

    row: BookingRow
    told_start: datetime | None = None  # the time the newest unsent notice says it was at
    reminder_language: str | None = None  # for rows older than bookings.language

    @property
    def language(self) -> str | None:
        """The booking's language; for rows older than that column, its reminders' one."""
        return self.row.language or self.reminder_language


@dataclass(frozen=True)
class Fields:
    """The booking's columns to set (None leaves one as it is)."""

    status: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    language: str | None = None
    checked_at: datetime | None = None
    next_check_at: datetime | None = None


@dataclass(frozen=True)
class Notice:
    """The customer's notice of a change made at the business, to queue."""

    kind: str
    start: datetime
    previous_start: datetime
    language: str | None


@dataclass(frozen=True)
class Write:
    """Everything one entry changes, for the store to apply in one transaction. `new` inserts
    (or, for a replayed confirm, updates) the booking; otherwise `fields` update booking
    `booking_id`. `change` is told once committed (its booking_id is filled in then)."""

    user_id: int
    chat_id: int
    booking_id: int | None = None
    new: NewBooking | None = None
    booked_at: datetime | None = None  # with `new`: when the customer booked (kept on a replay)
    fields: Fields = Fields()
    reminders: tuple[tuple[int, datetime], ...] | None = None  # replace them all; None: keep
    reminder_language: str | None = None
    drop_reminders: bool = False  # the unsent ones (sent ones stay as history)
    skip_notices: bool = False  # the unsent ones: old news
    notice: Notice | None = None
    change: BookingChange | None = None


# ---- the decision -------------------------------------------------------------------------


def plan(
    start: datetime, offsets: Sequence[timedelta], now: datetime
) -> list[tuple[int, datetime]]:
    """(offset in minutes, due time) for every reminder offset whose time is still ahead: a
    customer booking at 15:00 for 16:00 needs no "in two hours" message."""
    return [
        (int(offset.total_seconds() // 60), start - offset)
        for offset in offsets
        if start - offset > now
    ]


def decide(
    stored: Stored | None,
    entry: Entry,
    now: datetime,
    *,
    offsets: Sequence[timedelta],
    schedule: Schedule,
    language: str | None = None,
) -> Write | None:
    """What `entry` does to the booking as `stored` (for `Booked`: the row of the same
    appointment, if a confirm is replayed); None when it changes nothing. `language` is the
    one the customer used for an entry of theirs."""
    if isinstance(entry, Booked):
        return _booked(stored, entry, now, offsets, schedule, language)
    if stored is None:
        return None  # a forgotten booking is left alone
    match entry:
        case Moved():
            return _moved(stored.row, entry, now, offsets, schedule, language)
        case Cancelled():
            return _cancelled(stored.row, entry, now)
        case Seen():
            return _seen(stored, entry, now, offsets, schedule)
    raise TypeError(f"not a ledger entry: {entry!r}")


def _booked(
    known: Stored | None,
    entry: Booked,
    now: datetime,
    offsets: Sequence[timedelta],
    schedule: Schedule,
    language: str | None,
) -> Write:
    new = entry.booking
    change = None
    if known is None:  # a replayed confirm was recorded and told the first time
        change = BookingChange(
            kind=ChangeKind.BOOKED,
            appointment_id=new.appointment_id,
            start=new.start,
            service_name=new.service_name,
            location_name=new.location_name,
            timezone=new.timezone,
            contact_name=entry.contact_name,
            service_id=new.service_id,
            location_id=new.location_id,
            user_id=new.user_id,
        )
    return Write(
        new.user_id,
        new.chat_id,
        new=new,
        fields=Fields(
            language=language,
            checked_at=now,
            next_check_at=schedule.next_check(now, new.start),
        ),
        booked_at=now,
        reminders=tuple(plan(new.start, offsets, now)),
        reminder_language=language,
        change=change,
    )


def _moved(
    row: BookingRow,
    entry: Moved,
    now: datetime,
    offsets: Sequence[timedelta],
    schedule: Schedule,
    language: str | None,
) -> Write:
    write = _update(
        row,
        Fields(
            status=entry.status,
            start=entry.start,
            end=_end(row, entry.start, entry.end),
            language=language,
            checked_at=now,
            next_check_at=schedule.next_check(now, entry.start),
        ),
        skip_notices=True,  # the customer acted: old news
    )
    if entry.start == row.start and row.active:
        return write
    return replace(
        write,
        reminders=tuple(plan(entry.start, offsets, now)),
        reminder_language=language,
        change=_change(row, ChangeKind.MOVED, entry.start, entry.contact_name, by_customer=True),
    )


def _cancelled(row: BookingRow, entry: Cancelled, now: datetime) -> Write | None:
    if not row.active:
        return None
    return _update(
        row,
        Fields(status=entry.status, checked_at=now),
        drop_reminders=True,
        skip_notices=True,
        change=_change(row, ChangeKind.CANCELLED, row.start, entry.contact_name, by_customer=True),
    )


def _seen(
    stored: Stored,
    entry: Seen,
    now: datetime,
    offsets: Sequence[timedelta],
    schedule: Schedule,
) -> Write | None:
    row = stored.row
    if row.checked_at is not None and entry.at < row.checked_at:
        return None  # a newer answer is already stored
    if not row.active:  # Zimun cannot undo a cancellation; nothing to follow
        return _update(row, Fields(checked_at=entry.at))
    if not is_active(entry.status):
        return _update(
            row,
            Fields(status=entry.status, checked_at=entry.at),
            drop_reminders=True,
            skip_notices=True,
            notice=_notice(stored, ChangeKind.CANCELLED, row.start),
            change=_change(row, ChangeKind.CANCELLED, row.start, entry.contact_name),
        )
    start = entry.start or row.start
    write = _update(
        row,
        Fields(
            status=entry.status,
            start=start,
            end=_end(row, start, entry.end),
            checked_at=entry.at,
            next_check_at=schedule.next_check(now, start),
        ),
    )
    if start == row.start:
        return write
    return replace(
        write,
        reminders=tuple(plan(start, offsets, now)),
        reminder_language=stored.language,
        skip_notices=True,
        notice=_notice(stored, ChangeKind.MOVED, start),
        change=_change(row, ChangeKind.MOVED, start, entry.contact_name),
    )


def _notice(stored: Stored, kind: ChangeKind, start: datetime) -> Notice | None:
    """The customer's notice of a change made at the business; it replaces one not sent yet
    (`skip_notices`), so the customer hears of the net change from the time they know."""
    known = stored.told_start or stored.row.start
    if kind is ChangeKind.MOVED and start == known:
        return None  # moved back to the time the customer knows: nothing to say
    return Notice(
        kind.value,
        start=start if kind is ChangeKind.MOVED else known,
        previous_start=known,
        language=stored.language,
    )


def _update(
    row: BookingRow,
    fields: Fields,
    *,
    drop_reminders: bool = False,
    skip_notices: bool = False,
    notice: Notice | None = None,
    change: BookingChange | None = None,
) -> Write:
    return Write(
        row.user_id,
        row.chat_id,
        booking_id=row.id,
        fields=fields,
        drop_reminders=drop_reminders,
        skip_notices=skip_notices,
        notice=notice,
        change=change,
    )


def _end(row: BookingRow, start: datetime, end: datetime | None) -> datetime | None:
    """The new end, or the old duration kept at the new start."""
    if end is not None:
        return end
    return row.end and start + (row.end - row.start)


def _change(
    row: BookingRow,
    kind: ChangeKind,
    start: datetime,
    contact_name: str | None,
    *,
    by_customer: bool = False,
) -> BookingChange:
    return BookingChange(
        kind=kind,
        appointment_id=row.appointment_id,
        start=start,
        service_name=row.service_name,
        location_name=row.location_name,
        timezone=row.timezone,
        previous_start=row.start if start != row.start else None,
        contact_name=contact_name,
        by_customer=by_customer,
        booking_id=row.id,
        service_id=row.service_id,
        location_id=row.location_id,
        user_id=row.user_id,
    )
