"""Sending the customer notices the ledger queued: changes made at the business.

The ledger writes a notice row in the same transaction as the change itself (bot.followup.ledger),
so a notice exists exactly when the change is recorded, whatever happens to the process next.
`NoticeService.flush` sends the pending ones: right after a change is committed (the adapter
calls it from a ledger listener), after every reconcile scan, and at start-up, which sends what
a stop or a crash left behind.

Each notice is claimed (marked sent, one guarded UPDATE) before it is sent, as reminders are:
delivery is at most once. A crash between the claim and the send loses that notice; the
reverse order would repeat it after every crash. A send that certainly did not reach Telegram
is released and retried by the next flushes (bot/followup/outbox.py). A notice whose appointment
time has passed is skipped: it would help nobody.

Telegram-free: `flush` takes a `send(chat_id, Reply) -> delivered?` coroutine; `now` is
injected, so tests drive it with a simulated clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.core.business import Business
from bot.core.records import NoticeRow
from bot.followup.messages import House, build_notice
from bot.followup.outbox import Outcome, Send, Tally, send_claimed
from bot.store.storage import Storage

log = logging.getLogger("bot.followup.notices")

FLUSH_LIMIT = 100  # notices read per flush; the rest go with the next one


class NoticeService:
    """Sends pending notices; one flush at a time."""

    def __init__(
        self,
        storage: Storage,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_language: str = "en",
        house: House | None = None,
    ) -> None:
        self.storage = storage
        self.house = house or House(business=Business(default_language=default_language))
        self.now = now
        self.default_language = default_language
        self._lock = asyncio.Lock()

    async def flush(self, send: Send) -> Tally:
        async with self._lock:
            result = Tally()
            now = self.now()
            for notice in self.storage.pending_notices(FLUSH_LIMIT):
                result.count(await self._process(notice, now, send))
            result.log("notices")
            return result

    async def _process(self, notice: NoticeRow, now: datetime, send: Send) -> Outcome:
        booking = self.storage.get_booking(notice.booking_id)
        if booking is None or notice.start <= now:
            self.storage.skip_notice(notice.id)
            return "skipped"
        if not self.storage.claim_notice(notice.id):
            return "skipped"
        outcome = await send_claimed(
            send,
            notice.chat_id,
            build_notice(notice, booking, self._language(notice), now, self.house),
            attempts=notice.attempts,
            release=lambda: self.storage.unclaim_notice(notice.id),
            what=f"notice {notice.id}",
        )
        if outcome == "sent":
            log.info("booking %s: customer told it was %s", booking.id, notice.kind)
        return outcome

    def _language(self, notice: NoticeRow) -> str:
        """The customer's chosen language, else the one they booked in, else the default."""
        return self.house.language(self.storage.get_language(notice.user_id), notice.language)
