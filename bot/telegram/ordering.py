"""Concurrency with order: every chat has its own lane.

A slow Zimun call for one customer must not delay the others, so updates run concurrently; but
two updates of the same chat (a double tap on Confirm, a quick "Back" after a choice) must run
one after the other, in the order Telegram sent them, or the state machine would see them
interleaved.

python-telegram-bot starts one task per update in update order; each task enters
`do_process_update` in that order (python-telegram-bot's semaphore is never full here, and
nothing awaits between it and the lane's lock, itself FIFO), so a lane's lock serialises the
chat's updates in order. A lane lives only while one of its chat's updates is queued or running:
memory follows the number of busy chats, not every chat ever seen.

The limit on updates handled at once is taken inside the lane, by the update at its head: an
update waiting for its own chat's earlier ones holds no slot. (python-telegram-bot's semaphore,
taken before, let 400 queued updates of one flooding chat fill every slot while other chats'
updates waited behind them.) Before the lane, an optional admission check (bot.telegram.budget)
may drop an update or answer it with a notice, and around each update `replying_to` tells the
rate limiter (bot.telegram.flood) which chat is being answered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.telegram.flood import replying_to

DEFAULT_CONCURRENCY = 256
T = TypeVar("T")
UNBOUNDED = 1 << 30  # python-telegram-bot's own semaphore: never the limit (see the module)


class Admission(Protocol):
    def admit(self, update: object, work: Awaitable[Any]) -> Awaitable[Any] | None:
        """The work to run for `update` (itself or a replacement), or None to drop it."""
        ...


class _Lane:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


def lane_key(update: object) -> int | None:
    """The chat an update belongs to (its user for chat-less updates); None: no ordering."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id  # a private chat's id is its user's id
    return None


class PerChatOrdering(BaseUpdateProcessor):
    """Run updates concurrently across chats and strictly in order within a chat."""

    __slots__ = ("_admission", "_lanes", "_observe", "_slots", "finished", "limit")

    def __init__(
        self,
        max_concurrent_updates: int = DEFAULT_CONCURRENCY,
        admission: Admission | None = None,
        *,
        slots: asyncio.Semaphore | None = None,
        observe: Callable[[float], None] | None = None,
    ):
        """`slots`: a semaphore shared with other Applications (one process serving many
        businesses caps the updates handled at once across all of them); when given,
        `max_concurrent_updates` only documents its size. `observe` is told how long each
        admitted update took (seconds), for the metrics."""
        super().__init__(UNBOUNDED)
        self.limit = max_concurrent_updates
        self._slots = slots if slots is not None else asyncio.Semaphore(max_concurrent_updates)
        self._observe = observe
        self._admission = admission
        self._lanes: dict[int, _Lane] = {}
        self.finished = 0  # updates fully handled (replies sent or errors handled), all chats

    @property
    def admission(self) -> Admission | None:
        return self._admission

    @property
    def busy_chats(self) -> int:
        """Chats with an update queued or running (the lanes currently held in memory)."""
        return len(self._lanes)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            work = (
                coroutine if self._admission is None else self._admission.admit(update, coroutine)
            )
            if work is not None:
                if self._observe is None:
                    await self._in_lane(update, work)
                else:
                    started = time.perf_counter()
                    try:
                        await self._in_lane(update, work)
                    finally:
                        self._observe(time.perf_counter() - started)
        finally:
            self.finished += 1

    async def _in_lane(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = lane_key(update)
        if key is None:
            await coroutine
            return
        await self.in_lane(key, coroutine)

    async def in_lane(self, key: int, coroutine: Awaitable[T]) -> T:
        """Run `coroutine` in chat `key`'s lane, after what the chat has queued and before
        what comes later: the booking page's requests (bot.miniapp) take their turn with the
        chat's updates, so chat and page never run one conversation's events at once."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.users += 1
        started = False
        try:
            async with lane.lock, self._slots:
                started = True
                with replying_to(key):
                    return await coroutine
        finally:
            lane.users -= 1
            if not started and asyncio.iscoroutine(coroutine):
                coroutine.close()  # cancelled while queued: never "was never awaited"
            if lane.users == 0:
                del self._lanes[key]

    async def initialize(self) -> None:
        """Nothing to allocate: lanes are created on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: python-telegram-bot awaits every update before shutting down."""
