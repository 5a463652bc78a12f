"""Coordination inside one process (bot.store.contract.Coordination): all of it for SQLite's
store (one process per file), and the in-process half of PostgreSQL's (tasks of one process
queue here before one of them asks the database, so the database sees one asker per key).

Times here are the event loop's monotonic clock: they measure waits in this process only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

DELIVERY_MEMORY = timedelta(days=1)  # Telegram keeps an undelivered update about a day
PRUNE_EVERY = timedelta(hours=1)  # how often a process forgets older deliveries


class KeyedLocks:
    """One asyncio lock per key, made when first wanted and dropped when nobody holds or
    waits for it (a process sees many chats: the table stays the size of the busy ones)."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Holders:
    """The roles held in this process, by name: a second holder in the same process is
    refused as one in another process would be."""

    def __init__(self) -> None:
        self.names: set[str] = set()


class LocalOwnership:
    """A role among the tasks of one process (SQLite's store: the process is the bot)."""

    def __init__(self, holders: Holders, name: str) -> None:
        self._holders = holders
        self._name = name
        self._held = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def held(self) -> bool:
        return self._held

    async def try_acquire(self) -> bool:
        if not self._held and self._name not in self._holders.names:
            self._holders.names.add(self._name)
            self._held = True
        return self._held

    async def release(self) -> None:
        if self._held:
            self._holders.names.discard(self._name)
            self._held = False


class LocalFlood:
    """Each bot's 429 pause, in this process: (monotonic end)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def wait(self, bot: str) -> float:
        return max(0.0, self._until.get(bot, 0.0) - time.monotonic())

    def hold(self, bot: str, seconds: float) -> None:
        self._until[bot] = max(self._until.get(bot, 0.0), time.monotonic() + max(seconds, 0.0))


class Pruning:
    """When each business last forgot its old deliveries, by the store's clock."""

    def __init__(self) -> None:
        self._last: dict[str, datetime] = {}

    def due(self, business: str, now: datetime) -> bool:
        last = self._last.get(business)
        if last is not None and now - last < PRUNE_EVERY and now >= last:
            return False
        self._last[business] = now
        return True


class LocalSends:
    """Each bot's messages per second, in this process (SQLite: the process is the bot): the
    same count as PostgreSQL's `send_budget`, by the process's monotonic clock."""

    def __init__(self) -> None:
        self._seconds: dict[str, tuple[int, int]] = {}  # bot -> (second, used)

    def take(
        self, bot: str, want: int, cap: int, reserved: int, replies: int
    ) -> tuple[int, int, int, int]:
        """(second, granted, used, ms_left), as bot.store.contract.SendGrant's (see
        `take_sends` there; bot.store.postgres has the same reckoning in SQL)."""
        now_ms = int(time.monotonic() * 1000)
        second = now_ms // 1000
        seen, used = self._seconds.get(bot, (second, 0))
        if seen != second:
            used = 0
        want, cap, reserved, replies = (max(n, 0) for n in (want, cap, reserved, replies))
        granted = max(0, min(cap, used + want, max(used, cap - reserved) + replies) - used)
        self._seconds[bot] = (second, used + granted)
        return second, granted, used + granted, 1000 - now_ms % 1000
