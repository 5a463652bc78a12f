"""Reminders before appointments: planned by the ledger, sent by a scan.

Planning belongs to the booking's ledger (bot.followup.ledger): a confirmed or moved appointment
gets one row per offset (REMINDER_OFFSETS, 24 h and 2 h by default) whose time is still ahead;
a move replaces them (fresh, unsent, at the new time) and a cancellation drops the unsent ones,
in the same transaction as the booking's own write, so a booking and its reminders never
disagree. This module only scans and sends.

Sending: `ReminderService.scan()` runs every half minute or so (the Telegram adapter calls it
from python-telegram-bot's JobQueue) and reads what is due. One periodic scan of the table,
rather than one timer per reminder, survives restarts by construction: the first scan after a
start finds whatever fell due while the bot was down. For each appointment with something due:

- the appointment already started: nothing is sent (a reminder after the fact helps nobody);
- several reminders due at once (the bot was down): only the latest, nearest one is sent;
- the appointment is compared with Zimun first, through the ledger: cancelled at the business
  means no reminder (the ledger drops them and tells the customer); moved means new reminders
  for the new time, which the next scan sends when they are due;
- the reminder is claimed (marked sent, one guarded UPDATE) before it is sent.

Claiming before sending makes delivery at-most-once: a crash between the claim and the send
loses that one reminder, while the reverse order would send it again after every crash. A
second reminder about the same appointment is a nuisance that costs the business trust, and a
later reminder (2 h) usually follows anyway, so losing one in a rare crash is the better
failure. A send that certainly did not reach Telegram (flood limit, connection refused) is
released and retried by the next scans, up to MAX_ATTEMPTS; a timeout, which may have been
delivered, is not retried.

Telegram-free: `scan` takes a `send(chat_id, Reply) -> delivered?` coroutine, and `now` is
injected, so tests drive it with a simulated clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config.clock import utc_now
from bot.core.errors import ZimunError
from bot.core.records import BookingRow, ReminderRow
from bot.followup.ledger import Ledger
from bot.followup.messages import build_reminder
from bot.followup.outbox import Outcome, Send, Sender, Tally
from bot.store.contract import Store
from bot.store.storage import REMINDERS

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient

log = logging.getLogger("bot.followup.reminders")

SCAN_LIMIT = 200  # due reminders read per scan; the rest wait for the next one


@dataclass(frozen=True)
class Due:
    """The reminder to send now for one booking, and the older ones it makes pointless."""

    reminder: ReminderRow
    superseded: tuple[int, ...] = ()


@dataclass
class ScanResult(Tally):
    """A scan's tally, and what became of each reminder (tests read it)."""

    outcomes: list[tuple[int, str]] = field(default_factory=list)  # (reminder id, outcome)

    def note(self, row: Due, outcome: Outcome) -> None:
        self.count(outcome)
        self.outcomes.append((row.reminder.id, outcome))
        self.skipped += len(row.superseded)


async def due(storage: Store, now: datetime, limit: int = SCAN_LIMIT) -> list[Due]:
    """What is due at `now`, one entry per booking: its latest due reminder (the nearest to the
    appointment), with the earlier ones it supersedes."""
    grouped: dict[int, list[ReminderRow]] = {}
    for row in await storage.due_reminders(now, limit):
        grouped.setdefault(row.booking_id, []).append(row)
    result = []
    for rows in grouped.values():
        rows.sort(key=lambda r: (r.due_at, -r.offset_minutes))
        latest = rows[-1]
        result.append(Due(latest, tuple(r.id for r in rows[:-1])))
    return sorted(result, key=lambda d: d.reminder.due_at)


class ReminderService(Sender[Due]):
    """Sends what is due; one scan at a time (a slow API must not let two scans overlap)."""

    box = REMINDERS
    what = "reminders"

    def __init__(
        self,
        api: ZimunClient,
        ledger: Ledger,
        *,
        now: Callable[[], datetime] = utc_now,
        **speaking: Any,
    ) -> None:
        """`speaking`: the default language or the operator's House (Sender's)."""
        super().__init__(ledger.storage, now=now, **speaking)
        self.api = api
        self.ledger = ledger

    @property
    def offsets(self) -> tuple[timedelta, ...]:
        return self.ledger.offsets

    async def due(self, now: datetime | None = None) -> list[Due]:
        return await due(self.storage, now or self.now())

    async def pending(self) -> list[Due]:
        return await self.due()

    async def scan(self, send: Send) -> ScanResult:
        return await self.pass_over(send, ScanResult())

    async def process(self, item: Due, send: Send) -> Outcome:
        now = self.now()
        reminder = item.reminder
        if item.superseded:
            await self.storage.skip(REMINDERS, list(item.superseded))
        booking = await self.storage.get_booking(reminder.booking_id)
        if booking is None or not booking.active or booking.start <= now:
            await self.storage.skip(REMINDERS, [reminder.id])
            return "skipped"
        fresh = await self._refresh(booking, now)
        if fresh is None:
            return "dropped"
        language = await self.language(reminder)
        changes = self.house.changes(fresh, language, now)
        reply = build_reminder(fresh, language, changes, this_year=now.year)
        return await self.claim_and_send(reminder, reply, send, f"reminder {reminder.id}")

    async def _refresh(self, booking: BookingRow, now: datetime) -> BookingRow | None:
        """The booking as Zimun has it now; None when it was cancelled or moved at the business
        (the ledger has updated its reminders and told the customer). An unanswering API keeps
        the stored booking: a reminder on what we know beats no reminder."""
        try:
            seen = await self.ledger.look(self.api, booking, now)
        except ZimunError as exc:
            log.info("booking %s: not refreshed before its reminder (%s)", booking.id, exc)
            return booking
        if await self.ledger.commit([seen], now=now):
            log.info("booking %s: changed at the business; reminders follow", booking.id)
            return None
        return await self.storage.get_booking(booking.id) or booking
