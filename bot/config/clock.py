"""The wall clock, read here and nowhere else in the bot.

Whatever decides by time takes a `now` callable instead of reading the clock: the composition
root hands every part this one, and tests and the sandbox hand them a pinned one, so the suite
passes on any date. A default of `utc_now` is for callers outside the composition root (tools,
scripts) that want the real time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Now, as an aware UTC instant."""
    return datetime.now(UTC)
