"""A booking's whole life in one place: booked, moved, cancelled, and reconciled with Zimun.

Whoever learns something about a booking describes it as an entry (bot.core.lifecycle):
`Booked`, `Moved` and `Cancelled` for what the customer did through the bot, `Seen` for what
Zimun says the appointment is now (`look`: the reconcile scan, My bookings, a reminder's last
look, later a webhook). `Ledger.write` applies an entry inside the caller's transaction and is
the only code that writes a booking's row: it reads the booking once, lets the pure
`lifecycle.decide` say what the entry changes (the row, its reminders, its next comparison
with Zimun, the customer's notice of a change made at the business) and hands that to the
store in one write. It returns the BookingChange listeners receive (None when nothing changed).

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
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config.settings import parse_offsets
from bot.core.cadence import CADENCE, Cadence
from bot.core.changes import BookingChange, ChangeKind
from bot.core.errors import NotFound
from bot.core.lifecycle import (
    Booked,
    Cancelled,
    Entry,
    Moved,
    Seen,
    decide,
    plan,
)
from bot.core.records import BookingRow, NewBooking
from bot.core.state import ChatState
from bot.store.contract import Store
from bot.store.sqlite_async import as_store
from bot.store.storage import Storage

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient

__all__ = [
    "DEFAULT_OFFSETS",
    "Booked",
    "Cancelled",
    "Entry",
    "Ledger",
    "Moved",
    "NewBooking",
    "Seen",
    "plan",
]

log = logging.getLogger("bot.ledger")

DEFAULT_OFFSETS = parse_offsets("24h,2h")

Listener = Callable[[BookingChange], None]


class Ledger:
    def __init__(
        self,
        storage: Store | Storage,
        *,
        offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
        cadence: Cadence = CADENCE,
    ) -> None:
        self.storage = as_store(storage)  # a synchronous Storage: SQLite's adapter
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
        self._recalled = False

    async def recall(self) -> None:
        """After a restart: the reschedules and cancels in flight when the process stopped are
        the customers' own, until finished. Read from the store once, before the first
        comparison or event (a constructor cannot await): the reconciler and the conversation
        both call it first."""
        if self._recalled:
            return
        self._recalled = True
        for row in await self.storage.pending_conversations():
            try:
                changing = ChatState.loads(row.state).unsettled.changing
            except ValueError:
                continue
            if changing is not None and row.chat_id not in self._intents:
                self.intend(row.chat_id, changing.booking_id)

    # -- asking Zimun --

    async def look(self, api: ZimunClient, row: BookingRow, at: datetime) -> Seen:
        """What Zimun says about the booking's appointment now, as an entry to write (a 404 is
        as good as cancelled). Other errors are the caller's: each has its own fallback."""
        epoch = self.epoch(row.id)
        try:
            appointment = await api.get_appointment(row.appointment_id)
        except NotFound:
            return Seen.gone(row.id, at, epoch)
        return Seen.of(row.id, appointment, at, epoch)

    # -- writing --

    async def write(
        self, entry: Entry, *, now: datetime, language: str | None = None
    ) -> BookingChange | None:
        """Apply `entry` (inside the caller's transaction); the change to tell, if any."""
        if isinstance(entry, Booked):
            stored = await self.storage.stored_booking(appointment_id=entry.booking.appointment_id)
        elif isinstance(entry, Seen) and self._stale(entry):
            return None
        else:
            stored = await self.storage.stored_booking(entry.booking_id)
        write = decide(
            stored, entry, now, offsets=self.offsets, schedule=self.cadence, language=language
        )
        if write is None:
            return None
        booking_id = await self.storage.apply(write)
        change = write.change
        if change is None:
            return None
        if not change.by_customer and change.kind is ChangeKind.MOVED:
            log.info("booking %s: moved at the business", booking_id)
        return replace(change, booking_id=booking_id)

    async def commit(
        self, entries: Iterable[Entry], *, now: datetime, language: str | None = None
    ) -> list[BookingChange]:
        """Write `entries` in one transaction, then tell the listeners."""
        async with self.storage.batch():
            changes = [c for e in entries if (c := await self.write(e, now=now, language=language))]
        self.tell(changes)
        return changes

    def tell(self, changes: Iterable[BookingChange]) -> None:
        for change in changes:
            for listener in list(self.listeners):
                try:
                    listener(change)
                except Exception:
                    log.exception("booking change listener failed (%s)", change.kind)

    async def postpone(self, booking_id: int, now: datetime) -> None:
        """A comparison that could not be made (Zimun refused it): try again next time round
        rather than at every scan."""
        row = await self.storage.get_booking(booking_id)
        if row is not None:
            await self.storage.update_booking(
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

    def _stale(self, entry: Seen) -> bool:
        """The bot is changing the booking, or did since the question was asked (an answer
        older than the row's last comparison is the decision's to ignore)."""
        return self.held(entry.booking_id) or entry.epoch != self.epoch(entry.booking_id)
