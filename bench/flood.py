"""The flood case: one chat floods the bot with /book while the other customers book.

The flooder pushes its updates in bursts, spread over the measured window, without waiting for
answers (a script, or a stuck key). It is not one of the measured customers: the figure is the
others' latency, with and without it, both runs with the production flood control (the rate
limiter at Telegram's 30 messages/s and each chat's budget of updates), which the other
benchmark parts turn off. What the flooder got back is counted from the Bot API calls to its
chat: answers, the slow-down notice, and how many of its updates the budget skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.fake_telegram import BenchBotAPI
from bot.i18n import localizer
from bot.telegram.budget import SLOW_DOWN

FLOOD_CHAT = 999_999
BURSTS_PER_SECOND = 2


@dataclass
class Flooder:
    """The flooding chat's side: what it sent and what came back (a fake Listener)."""

    api: BenchBotAPI
    language: str = "en"
    sent: int = 0
    messages: int = 0
    notices: int = 0

    def __post_init__(self) -> None:
        self.user = self.api.user_json(FLOOD_CHAT, "Flood", self.language)
        self._notice = localizer(self.language).render(SLOW_DOWN, "html")

    def on_call(self, method: str, params: Mapping[str, Any], result: Any, at: float) -> None:
        if method == "sendMessage":
            self.messages += 1
            self.notices += params.get("text") == self._notice

    def on_done(self, update_id: int, at: float) -> None:
        """Answers are counted by their calls."""

    async def flood(self, count: int, seconds: float) -> None:
        """`count` /book messages in bursts, spread over `seconds`."""
        bursts = max(1, round(seconds * BURSTS_PER_SECOND))
        self.api.listeners[FLOOD_CHAT] = self
        for burst in range(bursts):
            size = count * (burst + 1) // bursts - count * burst // bursts
            for _ in range(size):
                self.api.push("message", self.api.text_payload(self.user, "/book"))
                self.sent += 1
            await asyncio.sleep(seconds / bursts)

    def summary(self, skipped: int) -> dict[str, int]:
        return {
            "sent": self.sent,
            "answered": self.messages - self.notices,
            "notices": self.notices,
            "skipped": skipped,
        }
