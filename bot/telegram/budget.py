"""A budget of updates per chat, so that one customer cannot slow the others.

Each chat has a token bucket: `BURST` updates at once, refilled at `PER_SECOND`. That is far
more than a person needs (a booking is about ten actions, each waiting for the bot's answer; a
fast tapper manages a few a second for a few seconds), so nothing of a well-behaved customer is
ever dropped; a script or a stuck key runs out. The first update over the budget is answered
with a short notice in the customer's language (a tapped button's spinner is stopped too); the
rest are dropped unseen, until the chat slows down. A chat is told once per episode: the next
notice needs the bucket to have filled up again.

The check runs when an update arrives, before it waits for its chat's earlier updates
(bot.telegram.ordering), so a dropped update costs nothing but this bookkeeping.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.config.chat_tag import chat_tag
from bot.core.events import Customer
from bot.core.screens import Msg, Reply, Screen
from bot.telegram.buckets import Buckets, Verdict
from bot.telegram.delivery import deliver
from bot.telegram.handlers import customer_of
from bot.telegram.ordering import lane_key

log = logging.getLogger(__name__)

BURST = 30  # updates a chat may send at once
PER_SECOND = 1.0  # and then, sustained

SLOW_DOWN = Msg(
    "You're sending messages faster than I can answer. Please wait a few seconds; I'll skip "
    "what you send until then."
)


class UpdateBudget:
    """The admission check of bot.telegram.ordering.PerChatOrdering."""

    def __init__(
        self,
        language_of: Callable[[Customer], Awaitable[str]],
        buckets: Buckets | None = None,
        *,
        default_language: str = "en",
    ) -> None:
        self.language_of = language_of
        self.default_language = default_language
        self.buckets = buckets if buckets is not None else Buckets(BURST, PER_SECOND)
        self.dropped = 0

    def admit(self, update: object, work: Awaitable[Any]) -> Awaitable[Any] | None:
        """`work` itself, a notice instead of it, or None (dropped)."""
        key = lane_key(update)
        if key is None or not isinstance(update, Update):
            return work
        verdict = self.buckets.take(key)
        if verdict is Verdict.ADMIT:
            return work
        _discard(work)
        self.dropped += 1
        if verdict is Verdict.DROP:
            return None
        log.info("chat %s: over its update budget; its updates are skipped", chat_tag(key))
        return self._slow_down(update)

    async def _slow_down(self, update: Update) -> None:
        customer = customer_of(update)
        if customer is None:
            return
        try:
            language = await self.language_of(customer)
        except Exception:  # the storage may be what is struggling
            language = self.default_language
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            reply = Reply(language, screens=(Screen(body=(SLOW_DOWN,), edit=False),))
            await deliver(update.get_bot(), customer.chat_id, reply)
        except TelegramError as exc:
            log.info("chat %s: slow-down notice not sent (%s)", chat_tag(customer.chat_id), exc)


def _discard(work: Awaitable[Any]) -> None:
    close = getattr(work, "close", None)
    if callable(close):
        close()  # a coroutine never awaited: no "was never awaited" warning
