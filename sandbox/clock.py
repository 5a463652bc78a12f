"""A clock the tests can steer.

Hold expiry, token expiry, idempotency-key lifetime and "today" all read this clock, so a test
can expire a hold by advancing time instead of sleeping. By default it follows the real clock.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Real time plus an offset, or a frozen instant; thread-safe (the server runs in a thread)."""

    def __init__(self, now: datetime | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen: datetime | None = None
        if now is not None or frozen:
            self.set(now or _real_now(), frozen=frozen)

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return _real_now() + self._offset

    def today(self, tz: ZoneInfo) -> date:
        return self.now().astimezone(tz).date()

    def monotonic(self) -> float:
        """Seconds on this clock, for comparisons only."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move time forward (or back, with a negative number); works frozen or ticking."""
        with self._lock:
            step = timedelta(seconds=seconds)
            if self._frozen is not None:
                self._frozen += step
            else:
                self._offset += step
        return self.now()

    def set(self, when: datetime, *, frozen: bool = True) -> datetime:
        """Jump to `when`; frozen there (default) or ticking on from it."""
        if when.tzinfo is None:
            raise ValueError("Clock.set needs a timezone-aware datetime")
        when = when.astimezone(UTC)
        with self._lock:
            if frozen:
                self._frozen = when
            else:
                self._frozen = None
                self._offset = when - _real_now()
        return self.now()

    def freeze(self) -> datetime:
        """Stop time at the current instant."""
        return self.set(self.now(), frozen=True)

    def unfreeze(self) -> datetime:
        """Let time tick again from the current (possibly fake) instant."""
        return self.set(self.now(), frozen=False)

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


def _real_now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)
