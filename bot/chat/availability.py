"""Free times, asked of Zimun as rarely as a correct answer allows.

One range answer (today to the end of the booking window) serves every month of the calendar
and the times of any day for `FRESH_FOR`, shared by every chat looking at the same service and
branch: a customer paging through months, and the next customer opening the same calendar, cost
no request. A time that was taken in the meantime is what the hold's 409 path already handles
(an apology and that day's fresh times), and that 409 drops the stale answer here. A hold this
bot releases drops it too, so the customer who gave a time back sees it again at once.

Freshness is judged by the conversation's clock (tests steer it), and a cold entry is loaded
once however many chats ask for it at the same moment.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.models import Availability

log = logging.getLogger("bot.booking")

FRESH_FOR = timedelta(seconds=45)
# "Now" for a freed time's button: an answer this recent is asked again for nobody. However
# often customers tap, a (service, branch) pair costs at most one call per this much time.
RENEW_AFTER = timedelta(seconds=15)
MAX_ENTRIES = 256  # (service, branch) pairs kept; the least recently used goes first

Key = tuple[str, str]


@dataclass(frozen=True)
class Entry:
    answer: Availability
    fetched: datetime  # on the conversation's clock
    first: date  # the range asked for, in the branch's calendar
    last: date

    def covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last


class AvailabilityCache:
    def __init__(self, fresh_for: timedelta = FRESH_FOR, max_entries: int = MAX_ENTRIES) -> None:
        self.fresh_for = fresh_for
        self.max_entries = max_entries
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._loading: dict[Key, asyncio.Task[Entry]] = {}

    def fresh(self, key: Key, now: datetime) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or not entry.fetched <= now < entry.fetched + self.fresh_for:
            return None
        self._entries.move_to_end(key)
        return entry

    async def get(
        self,
        key: Key,
        now: datetime,
        first: date,
        last: date,
        load: Callable[[], Awaitable[Availability]],
    ) -> Availability:
        """The answer for `first`..`last`: cached if fresh and wide enough, else loaded once."""
        entry = self.fresh(key, now)
        if entry is not None and entry.covers(first, last):
            return entry.answer
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, now, first, last, load))
            self._loading[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        # shield: one chat giving up must not cancel the load the others wait for
        return (await asyncio.shield(task)).answer

    async def _load(
        self,
        key: Key,
        now: datetime,
        first: date,
        last: date,
        load: Callable[[], Awaitable[Availability]],
    ) -> Entry:
        entry = Entry(await load(), now, first, last)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return entry

    def _finished(self, key: Key, task: asyncio.Task[Entry]) -> None:
        self._loading.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: a load nobody awaits any more must not warn

    def taken(self, key: Key, start: datetime) -> None:
        """This bot just took a place at `start`: stop offering it from here (at worst it
        hides a time that had a second place, for a few seconds; offering a taken time costs
        the next customer an apology)."""
        entry = self._entries.get(key)
        if entry is not None:
            answer = without_slot(entry.answer, start)
            self._entries[key] = Entry(answer, entry.fetched, entry.first, entry.last)

    def renew(self, key: Key, now: datetime, older_than: timedelta = RENEW_AFTER) -> None:
        """Someone needs the times as of now (a freed time's button): drop the answer unless
        it was asked within `older_than`, so the next `get` asks Zimun at most that often
        (the answer it brings serves everyone, as any load does)."""
        entry = self._entries.get(key)
        if entry is not None and not entry.fetched <= now < entry.fetched + older_than:
            self._entries.pop(key, None)

    def forget(self, key: Key) -> None:
        """Drop what is known of this service at this branch (a 409, a hold given back)."""
        self._entries.pop(key, None)


def without_slot(answer: Availability, start: datetime) -> Availability:
    days = tuple(
        day.model_copy(update={"slots": tuple(s for s in day.slots if s.start != start)})
        if any(s.start == start for s in day.slots)
        else day
        for day in answer.days
    )
    return answer.model_copy(update={"days": days})
