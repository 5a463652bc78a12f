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

from bot.core.records import NoticeRow
from bot.followup.messages import build_notice
from bot.followup.outbox import Outcome, Send, Sender
from bot.store.storage import NOTICES

log = logging.getLogger("bot.followup.notices")

FLUSH_LIMIT = 100  # notices read per flush; the rest go with the next one


class NoticeService(Sender[NoticeRow]):
    """Sends pending notices; one flush at a time."""

    box = NOTICES
    what = "notices"

    async def pending(self) -> list[NoticeRow]:
        return await self.storage.pending_notices(FLUSH_LIMIT)

    async def process(self, notice: NoticeRow, send: Send) -> Outcome:
        now = self.now()
        booking = await self.storage.get_booking(notice.booking_id)
        if booking is None or notice.start <= now:
            await self.storage.skip(NOTICES, [notice.id])
            return "skipped"
        reply = build_notice(notice, booking, await self.language(notice), now, self.house)
        outcome = await self.claim_and_send(notice, reply, send, f"notice {notice.id}")
        if outcome == "sent":
            log.info("booking %s: customer told it was %s", booking.id, notice.kind)
        return outcome
