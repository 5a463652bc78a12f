"""Token buckets by key (a chat): `burst` at once, refilled at `per_second`.

Used for a chat's budget of updates (bot.telegram.budget) and its share of the messages sent
to Telegram (bot.telegram.flood). `take` says whether the key had a token and, when not,
whether this is the first refusal since the bucket was last full (WARN) or a later one (DROP):
a chat is told once per episode. A full bucket is the same as none, so full buckets are
forgotten: memory follows the chats active lately, not every chat ever seen.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

SWEEP_EVERY = 4096  # takes between two sweeps of full (idle) buckets


class Verdict(enum.Enum):
    ADMIT = "admit"
    WARN = "warn"  # the first refusal since the bucket was last full (tell the chat once)
    DROP = "drop"


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class Buckets:
    """Token buckets by key; a full bucket is forgotten (it is the same as no bucket)."""

    def __init__(
        self,
        burst: float,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self._clock = clock
        self._buckets: dict[object, _Bucket] = {}
        self._until_sweep = SWEEP_EVERY

    def take(self, key: object) -> Verdict:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        self._refill(bucket, now)
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self._sweep(now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.ADMIT
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN

    def _refill(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.per_second)
        bucket.stamp = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # slowed down long enough: a new episode may be told again

    def _sweep(self, now: float) -> None:
        self._until_sweep = SWEEP_EVERY
        for key, bucket in list(self._buckets.items()):
            self._refill(bucket, now)
            if bucket.tokens >= self.burst:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
