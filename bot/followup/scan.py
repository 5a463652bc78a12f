"""The budgeted scan: what the reconcile scan and the waiting list's watch share.

Both look at what is due (bookings to compare with Zimun, waitlisted (service, branch) pairs),
most overdue first, one Zimun call or so each, within a cap on calls per minute of real time
(`CallBudget`): past the cap, the rest waits for the next scan. A rate-limited or unanswering
Zimun ends the scan early (`stopped`); anything else an item's step raises is the step's to
handle. Each caller runs one scan at a time (its own lock): a slow API must not let two
overlap.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from bot.core.errors import ApiUnavailable, RateLimited

log = logging.getLogger("bot.followup.scan")

WINDOW_SECONDS = 60.0

Item = TypeVar("Item")


class CallBudget:
    """At most `per_minute` calls in any 60 seconds of real (monotonic) time."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._spent: deque[float] = deque()

    def available(self) -> int:
        now = self.clock()
        while self._spent and now - self._spent[0] >= WINDOW_SECONDS:
            self._spent.popleft()
        return max(0, self.per_minute - len(self._spent))

    def spend(self) -> None:
        self._spent.append(self.clock())


class Stoppable(Protocol):
    stopped: bool


async def budgeted(
    what: str,
    budget: CallBudget,
    due: Callable[[int], Awaitable[Iterable[Item]]],
    step: Callable[[Item], Awaitable[object]],
    result: Stoppable,
) -> None:
    """`step` each of `due(allowed)` while `budget` lasts (the caller holds its scan's lock,
    and each step spends what it calls); a struggling Zimun ends the scan (`result.stopped`)."""
    allowed = budget.available()
    if allowed == 0:
        return
    for item in await due(allowed):
        if budget.available() == 0:
            break
        try:
            await step(item)
        except (RateLimited, ApiUnavailable) as exc:
            log.info("%s stopped early: %s", what, type(exc).__name__)
            result.stopped = True
            break
