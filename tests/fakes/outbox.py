"""A `send(chat_id, reply) -> delivered?` for the bot's own messages (bot/followup/outbox.py) that
records what it was asked to deliver, and can answer "not delivered" or break mid-send."""

from __future__ import annotations

import asyncio

from bot.core.screens import Reply


class Outbox:
    def __init__(self, delivered: bool = True, fail: bool = False) -> None:
        self.sent: list[tuple[int, Reply]] = []
        self.delivered = delivered
        self.fail = fail

    async def __call__(self, chat_id: int, reply: Reply) -> bool:
        await asyncio.sleep(0)  # let a racing scan or flush run in between
        self.sent.append((chat_id, reply))
        if self.fail:
            raise RuntimeError("the connection broke after the request went out")
        return self.delivered
