"""A booking's whole life in one place: booked, moved, cancelled, and reconciled with Zimun.

Whoever learns something about a booking describes it as an entry: `Booked`, `Moved` and
`Cancelled` for what the customer did through the bot, `Seen` for what Zimun says the
appointment is now (the reconcile scan, My bookings, a reminder's last look, later a webhook).
`Ledger.write` applies an entry inside the caller's transaction and is the only code that
writes a booking's row: it

- writes the row (and the language the customer used, for messages sent outside a chat);
- plans the booking's reminders, or drops them when it is cancelled;
- schedules the booking's next comparison with Zimun (bot.core.cadence);
- for a change made at the business, queues a notice to the customer (the `notices` table,
  sent by bot.followup.notices; a notice not sent yet is replaced by a newer change of the same
  booking, and a move back to the time the customer knows cancels it);
- returns the BookingChange listeners receive (None when nothing changed).

`tell` hands committed changes to the listeners (the staff chat, the notice sender);
`commit` is write + tell for callers without a transaction of their own. Each write compares
the entry with the row as stored at that moment, inside the transaction, so two paths seeing
the same change record and announce it once, and a repeated entry changes nothing.

A change made through the bot races with a comparison running meanwhile: Zimun has the new
time before the row does, and would look like a change made at the business. So the
conversation holds the booking (`hold`) from before its API call until its write is committed;
a `Seen` whose booking is held, or was held since the question was asked (`epoch`), or that is
older than the row's last comparison, is ignored: the next comparison sees the truth.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from bot.config.settings import parse_offsets
from bot.core.cadence import CADENCE, Cadence
from bot.core.changes import BookingChange, ChangeKind
from bot.core.models import Appointment
from bot.core.records import BookingRow, is_active
from bot.store.storage import Storage

log = logging.getLogger("bot.ledger")

DEFAULT_OFFSETS = parse_offsets("24h,2h")

Listener = Callable[[BookingChange], None]


# ---- entries: what happened -------------------------------------------------------------------


@dataclass(frozen=True)
class NewBooking:
    """The row of a booking just confirmed (the confirm's answer plus the catalogue's names)."""

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
    epoch when the question was asked (`Ledger.epoch`: it changes as the bot holds and
    releases the booking)."""

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


def _end(row: BookingRow, start: datetime, end: datetime | None) -> datetime | None:
    """The new end, or the old duration kept at the new start."""
    if end is not None:
        return end
    return row.end and start + (row.end - row.start)


# ---- the ledger -------------------------------------------------------------------------------


class Ledger:
    def __init__(
        self,
        storage: Storage,
        *,
        offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
        cadence: Cadence = CADENCE,
    ) -> None:
        self.storage = storage
        self.offsets = tuple(offsets)
        self.cadence = cadence
        # Told about each change once it is committed; called synchronously, so a listener
        # must only queue its work, never block.
        self.listeners: list[Listener] = []
        self._held: Counter[int] = Counter()
        self._epochs: Counter[int] = Counter()
        # chat id -> the booking whose reschedule or cancel that chat has written down and not
        # finished (bot.core.state.PendingChange): the customer's own change, even after a
        # restart, until it is finished.
        self._intents: dict[int, int] = {}

    # -- writing --

    def write(
        self, entry: Entry, *, now: datetime, language: str | None = None
    ) -> BookingChange | None:
        """Apply `entry` (inside the caller's transaction); the change to tell, if any."""
        match entry:
            case Booked():
                return self._booked(entry, now, language)
            case Moved():
                return self._moved(entry, now, language)
            case Cancelled():
                return self._cancelled(entry, now)
            case Seen():
                return self._seen(entry, now)
        raise TypeError(f"not a ledger entry: {entry!r}")

    def commit(
        self, entries: Iterable[Entry], *, now: datetime, language: str | None = None
    ) -> list[BookingChange]:
        """Write `entries` in one transaction, then tell the listeners."""
        with self.storage.batch():
            changes = [c for e in entries if (c := self.write(e, now=now, language=language))]
        self.tell(changes)
        return changes

    def tell(self, changes: Iterable[BookingChange]) -> None:
        for change in changes:
            for listener in list(self.listeners):
                try:
                    listener(change)
                except Exception:
                    log.exception("booking change listener failed (%s)", change.kind)

    def postpone(self, booking_id: int, now: datetime) -> None:
        """A comparison that could not be made (Zimun refused it): try again next time round
        rather than at every scan."""
        row = self.storage.get_booking(booking_id)
        if row is not None:
            self.storage.update_booking(
                row.id, next_check_at=self.cadence.next_check(now, row.start)
            )

    # -- holds: a change through the bot in flight --

    def hold(self, booking_id: int) -> None:
        self._held[booking_id] += 1
        self._epochs[booking_id] += 1

    def release(self, booking_id: int) -> None:
        self._held[booking_id] -= 1
        if self._held[booking_id] <= 0:
            del self._held[booking_id]
        self._epochs[booking_id] += 1  # an answer asked for while held is out of date

    def held(self, booking_id: int) -> bool:
        return self._held[booking_id] > 0 or booking_id in self._intents.values()

    def intend(self, chat_id: int, booking_id: int | None) -> None:
        """The chat's change in flight, as just persisted (None: nothing in flight)."""
        before = self._intents.get(chat_id)
        if before == booking_id:
            return
        if booking_id is None:
            del self._intents[chat_id]
        else:
            self._intents[chat_id] = booking_id
        for changed in (before, booking_id):
            if changed is not None:
                self._epochs[changed] += 1  # an answer asked for meanwhile is out of date

    def epoch(self, booking_id: int) -> int:
        return self._epochs[booking_id]

    # -- the four kinds of entry --

    def _booked(self, entry: Booked, now: datetime, language: str | None) -> BookingChange | None:
        new = entry.booking
        known = self.storage.booking_by_appointment(new.appointment_id)
        booking_id = self.storage.add_booking(
            **asdict(new),
            language=language,
            checked_at=now,
            next_check_at=self.cadence.next_check(now, new.start),
            booked_at=now,
        )
        self._plan(booking_id, new.user_id, new.chat_id, new.start, now, language)
        if known is not None:
            return None  # a replayed confirm: recorded and told the first time
        return BookingChange(
            kind=ChangeKind.BOOKED,
            appointment_id=new.appointment_id,
            start=new.start,
            service_name=new.service_name,
            location_name=new.location_name,
            timezone=new.timezone,
            contact_name=entry.contact_name,
            booking_id=booking_id,
            service_id=new.service_id,
            location_id=new.location_id,
            user_id=new.user_id,
        )

    def _moved(self, entry: Moved, now: datetime, language: str | None) -> BookingChange | None:
        row = self.storage.get_booking(entry.booking_id)
        if row is None:
            return None
        self.storage.update_booking(
            row.id,
            status=entry.status,
            start=entry.start,
            end=_end(row, entry.start, entry.end),
            language=language,
            checked_at=now,
            next_check_at=self.cadence.next_check(now, entry.start),
        )
        self.storage.skip_pending_notices(row.id)  # the customer acted: old news
        if entry.start == row.start and row.active:
            return None
        self._plan(row.id, row.user_id, row.chat_id, entry.start, now, language)
        return _change(row, ChangeKind.MOVED, entry.start, entry.contact_name, by_customer=True)

    def _cancelled(self, entry: Cancelled, now: datetime) -> BookingChange | None:
        row = self.storage.get_booking(entry.booking_id)
        if row is None or not row.active:
            return None
        self.storage.update_booking(row.id, status=entry.status, checked_at=now)
        self.storage.drop_pending_reminders(row.id)
        self.storage.skip_pending_notices(row.id)
        return _change(row, ChangeKind.CANCELLED, row.start, entry.contact_name, by_customer=True)

    def _seen(self, entry: Seen, now: datetime) -> BookingChange | None:
        row = self.storage.get_booking(entry.booking_id)
        if row is None or self._stale(row, entry):
            return None
        if not row.active:  # Zimun cannot undo a cancellation; nothing to follow
            self.storage.update_booking(row.id, checked_at=entry.at)
            return None
        start = entry.start or row.start
        if not is_active(entry.status):
            self.storage.update_booking(row.id, status=entry.status, checked_at=entry.at)
            self.storage.drop_pending_reminders(row.id)
            self._announce(row, ChangeKind.CANCELLED, row.start)
            return _change(row, ChangeKind.CANCELLED, row.start, entry.contact_name)
        self.storage.update_booking(
            row.id,
            status=entry.status,
            start=start,
            end=_end(row, start, entry.end),
            checked_at=entry.at,
            next_check_at=self.cadence.next_check(now, start),
        )
        if start == row.start:
            return None
        self._plan(row.id, row.user_id, row.chat_id, start, now, self._language(row))
        self._announce(row, ChangeKind.MOVED, start)
        log.info("booking %s: moved at the business", row.id)
        return _change(row, ChangeKind.MOVED, start, entry.contact_name)

    def _stale(self, row: BookingRow, entry: Seen) -> bool:
        """The bot is changing the booking, or did since the question was asked, or a newer
        answer is already stored."""
        if self.held(row.id) or entry.epoch != self.epoch(row.id):
            return True
        return row.checked_at is not None and entry.at < row.checked_at

    # -- helpers --

    def _plan(
        self,
        booking_id: int,
        user_id: int,
        chat_id: int,
        start: datetime,
        now: datetime,
        language: str | None,
    ) -> None:
        due = plan(start, self.offsets, now)
        self.storage.set_reminders(booking_id, user_id, chat_id, due, language=language)

    def _language(self, row: BookingRow) -> str | None:
        """The booking's language; for rows older than that column, its reminders' one."""
        if row.language:
            return row.language
        return next((r.language for r in self.storage.reminders_for_booking(row.id)), None)

    def _announce(self, row: BookingRow, kind: ChangeKind, start: datetime) -> None:
        """Queue the customer's notice of a change made at the business. One not sent yet is
        replaced: the customer hears of the net change from the time they know."""
        pending = self.storage.pending_notice(row.id)
        known = pending.previous_start if pending is not None else row.start
        self.storage.skip_pending_notices(row.id)
        if kind is ChangeKind.MOVED and start == known:
            return  # moved back to the time the customer knows: nothing to say
        self.storage.add_notice(
            row,
            kind.value,
            start=start if kind is ChangeKind.MOVED else known,
            previous_start=known,
            language=self._language(row),
        )


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
