"""When to retry a request and how long to wait first: the client's single retry policy.

Shaped after the retry loop of the Stainless-generated Python SDKs: capped exponential backoff
with jitter, the server's Retry-After honoured when it is sane, a bounded number of attempts and
a bounded total time. Pure functions, so the delays are unit-tested without any server.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

# Statuses worth another attempt: the server may answer differently in a moment.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# 409 codes that mean "the same request is still running": wait, then get the replay.
RETRYABLE_CODES = frozenset({"idempotency_request_in_progress"})
# Failures where the request may or may not have reached the server; idempotency keys make the
# retry safe for POST/PATCH, and GET/DELETE are idempotent by nature.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


def is_retryable_status(status: int, code: str | None = None) -> bool:
    if status in RETRYABLE_STATUSES or status >= 500:
        return True
    return status == 409 and code in RETRYABLE_CODES


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asks us to wait: `Retry-After-Ms`, `Retry-After` seconds or HTTP-date.

    None when absent or unreadable; never negative.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry.

    `max_retries` retries after the first attempt; `max_total` seconds from the first attempt
    after which no further sleep starts. A Retry-After above `max_retry_after` is clamped to
    it, and one that would overrun `max_total` ends the retries at once (the caller gets
    RateLimited with the server's advice instead of a blocked conversation).
    """

    max_retries: int = 3
    max_total: float = 20.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 10.0
    jitter: float = 0.25
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, retry_number: int) -> float:
        """Delay before retry `retry_number` (0 for the first retry) without server advice."""
        exp = min(self.base_delay * (2.0**retry_number), self.max_delay)
        return exp * (1.0 - self.jitter * self.rand())

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        """Delay before retry `retry_number`, honouring the server's Retry-After (capped)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(retry_number)

    def should_retry(self, retry_number: int, delay: float, elapsed: float) -> bool:
        """Whether retry `retry_number` may start after sleeping `delay` seconds."""
        return retry_number < self.max_retries and elapsed + delay <= self.max_total
