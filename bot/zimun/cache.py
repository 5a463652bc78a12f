"""A tiny time-to-live cache with single-flight loading, for the rarely changing catalog.

Locations and services change a few times a year, yet every conversation step needs them; one
shared copy for a minute makes a booking cost only its own calls, and an answer that a service
or a branch is gone drops it at once (bot/chat/changed.py). Concurrent readers of an
expired entry share one load, and a failed load is not cached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._value: T | None = None
        self._fresh_until = 0.0
        self._loading: asyncio.Task[T] | None = None

    def invalidate(self) -> None:
        self._value = None
        self._fresh_until = 0.0

    def peek(self) -> T | None:
        """The cached value if still fresh, without loading."""
        if self._value is not None and self._clock() < self._fresh_until:
            return self._value
        return None

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        fresh = self.peek()
        if fresh is not None:
            return fresh
        if self._loading is None or self._loading.done():
            self._loading = asyncio.ensure_future(self._load(load))
            # A load nobody awaits any more (all callers cancelled) must not warn when it fails.
            self._loading.add_done_callback(_consume)
        # shield: one caller being cancelled must not cancel the load the others wait for.
        return await asyncio.shield(self._loading)

    async def _load(self, load: Callable[[], Awaitable[T]]) -> T:
        value = await load()
        self._value = value
        self._fresh_until = self._clock() + self._ttl
        return value


def _consume(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()
