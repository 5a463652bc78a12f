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

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.core.languages import SUPPORTED_LANGUAGES
from bot.core.records import NoticeRow
from bot.followup.messages import build_notice
from bot.followup.outbox import Outcome, Send, Sender, Tally
from bot.store.storage import NOTICES, Storage

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
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
    ) -> None:
        self.storage = storage
        self.now = now
        self.sender = Sender(
            storage, NOTICES, default_language=default_language, languages=languages
        )

    async def flush(self, send: Send) -> Tally:
        return await self.sender.drain(
            "notices",
            lambda: self.storage.pending_notices(FLUSH_LIMIT),
            lambda notice: self._process(notice, send),
            Tally(),
        )

    async def _process(self, notice: NoticeRow, send: Send) -> Outcome:
        now = self.now()
        booking = self.storage.get_booking(notice.booking_id)
        if booking is None or notice.start <= now:
            self.storage.skip(NOTICES, [notice.id])
            return "skipped"
        reply = build_notice(notice, booking, self.sender.language(notice), now)
        outcome = await self.sender.send(notice, reply, send, f"notice {notice.id}")
        if outcome == "sent":
            log.info("booking %s: customer told it was %s", booking.id, notice.kind)
        return outcome
