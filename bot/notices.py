"""Sending the customer notices the ledger queued: changes made at the business.

The ledger writes a notice row in the same transaction as the change itself (bot.booking.ledger),
so a notice exists exactly when the change is recorded, whatever happens to the process next.
`NoticeService.flush` sends the pending ones: right after a change is committed (the adapter
calls it from a ledger listener), after every reconcile scan, and at start-up, which sends what
a stop or a crash left behind.

Each notice is claimed (marked sent, one guarded UPDATE) before it is sent, as reminders are:
delivery is at most once. A crash between the claim and the send loses that notice; the
reverse order would repeat it after every crash. A send that certainly did not reach Telegram
is released and retried by the next flushes, up to MAX_ATTEMPTS. A notice whose appointment
time has passed is skipped: it would help nobody.

Telegram-free: `flush` takes a `send(chat_id, Reply) -> delivered?` coroutine; `now` is
injected, so tests drive it with a simulated clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.booking.announce import build_notice
from bot.booking.screens import Reply
from bot.storage import NoticeRow, Storage

log = logging.getLogger("bot.notices")

MAX_ATTEMPTS = 3
FLUSH_LIMIT = 100  # notices read per flush; the rest go with the next one

Send = Callable[[int, Reply], Awaitable[bool]]


@dataclass
class FlushResult:
    sent: int = 0
    skipped: int = 0  # appointment passed, or another flush took it
    retry: int = 0
    failed: int = 0


class NoticeService:
    """Sends pending notices; one flush at a time."""

    def __init__(
        self,
        storage: Storage,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        default_language: str = "en",
    ) -> None:
        self.storage = storage
        self.now = now
        self.default_language = default_language
        self._lock = asyncio.Lock()

    async def flush(self, send: Send) -> FlushResult:
        async with self._lock:
            result = FlushResult()
            now = self.now()
            for notice in self.storage.pending_notices(FLUSH_LIMIT):
                outcome = await self._process(notice, now, send)
                setattr(result, outcome, getattr(result, outcome) + 1)
            if result != FlushResult():
                log.info(
                    "notices: %d sent, %d skipped, %d to retry, %d failed",
                    result.sent,
                    result.skipped,
                    result.retry,
                    result.failed,
                )
            return result

    async def _process(self, notice: NoticeRow, now: datetime, send: Send) -> str:
        booking = self.storage.get_booking(notice.booking_id)
        if booking is None or notice.start <= now:
            self.storage.skip_notice(notice.id)
            return "skipped"
        if not self.storage.claim_notice(notice.id):
            return "skipped"
        reply = build_notice(notice, booking, self._language(notice), now)
        try:
            delivered = await send(notice.chat_id, reply)
        except Exception:
            log.exception("notice %s: send failed; not retried (may have arrived)", notice.id)
            return "failed"
        if delivered:
            log.info("booking %s: customer told it was %s", booking.id, notice.kind)
            return "sent"
        if notice.attempts + 1 < MAX_ATTEMPTS:
            self.storage.unclaim_notice(notice.id)
            return "retry"
        log.warning("notice %s: given up after %d attempts", notice.id, MAX_ATTEMPTS)
        return "failed"

    def _language(self, notice: NoticeRow) -> str:
        """The customer's chosen language, else the one they booked in, else the default."""
        return self.storage.get_language(notice.user_id) or notice.language or self.default_language
