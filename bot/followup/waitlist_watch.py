"""Watching waitlisted days, and telling waiting customers when a time frees up.

`WaitlistWatch.check_due` looks at each (service, branch) pair whose look is due (the schedule
and its cost are in bot.core.cadence): one availability call covers every
waitlisted day of the pair. For each day it finds free (bookable inside the booking window):

- each free time is offered to one waiting customer at a time, first come first told: the
  entries are chosen in the order they joined, as many as there are free times not already
  offered to someone within the last 10 minutes (`offer_window`) who has not booked yet. A
  time still free when its window ends goes to the next in line; one taken meanwhile (by that
  customer, or anyone) leaves the others waiting for the next;
- the chosen entries become due (to tell) in the same transaction as the pair's next look, so
  a crash never loses or repeats a choice.

`flush` tells the due entries, in the order they were chosen: each is claimed (marked told,
one guarded UPDATE) before it is sent, as reminders and notices are, so a customer is told at
most once per entry; a send that certainly did not reach Telegram is released and retried up
to three times (bot/followup/outbox.py). The adapter flushes right after each look, and at start-up
(what a stop or a crash left unsent). An entry whose day has passed is not told, and is
deleted by the next look.

Cost is bounded twice: by the cadence (per pair, whatever the number of customers and days)
and by a cap on calls per minute of real time (the budgeted scan it shares with reconciling,
bot.followup.scan): past the cap, pairs go in turns across the customers waiting
(storage.waitlist_pairs_due), so one customer waiting everywhere cannot starve the others, and
the rest wait for the next scan. A rate-limited or unanswering Zimun ends the scan early; a
pair Zimun refuses to answer for (a service removed, a branch switched off) is looked at again
next time round.

Telegram-free: `flush` takes a `send(chat_id, Reply) -> delivered?` coroutine, and `now` and
the budget's clock are injected, so tests and the benchmark drive it with simulated time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from bot.config.clock import utc_now
from bot.core.cadence import WAIT_CADENCE, WaitCadence, day_bounds
from bot.core.calendar import MAX_DAYS_AHEAD
from bot.core.errors import ApiUnavailable, BadRequest, RateLimited, ZimunError
from bot.core.models import Availability, zone
from bot.core.records import FunnelEvent, WaitlistRow
from bot.core.rules import BookingRules
from bot.followup.messages import build_freed_notice
from bot.followup.outbox import Outcome, Send, Sender
from bot.followup.scan import CallBudget, budgeted
from bot.store.contract import Store
from bot.store.storage import WAITLIST, Storage

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient

log = logging.getLogger("bot.waitlist")

DEFAULT_CALLS_PER_MINUTE = 30
FLUSH_LIMIT = 100  # entries told per flush; the rest go with the next one


@dataclass
class LookResult:
    looked: int = 0  # (service, branch) pairs asked about
    calls: int = 0  # availability calls made
    offered: int = 0  # entries chosen to be told
    ended: int = 0  # entries whose day had passed, deleted
    failed: int = 0  # pairs Zimun refused to answer for: looked at next time round
    stopped: bool = False  # Zimun rate-limited us or did not answer: the rest waits


class WaitlistWatch(Sender[WaitlistRow]):
    """Looks at due pairs and tells the customers chosen; one look and one flush at a time."""

    box = WAITLIST
    what = "waiting list"

    def __init__(
        self,
        api: ZimunClient,
        storage: Store | Storage,
        *,
        rules: BookingRules | None = None,
        now: Callable[[], datetime] = utc_now,
        calls_per_minute: int = DEFAULT_CALLS_PER_MINUTE,
        monotonic: Callable[[], float] = time.monotonic,
        cadence: WaitCadence = WAIT_CADENCE,
        **speaking: Any,
    ) -> None:
        """`speaking`: the default language or the operator's House (Sender's)."""
        super().__init__(storage, now=now, **speaking)
        self.api = api
        self.rules = rules or BookingRules()
        self.budget = CallBudget(calls_per_minute, monotonic)
        self.cadence = cadence
        self.ranges = True  # range queries accepted; False once the server refused one
        self._look_lock = asyncio.Lock()

    # ---- looking ---------------------------------------------------------------------------

    async def check_due(self) -> LookResult:
        """End the entries whose day has passed, then look at the due pairs within budget."""
        async with self._look_lock:
            now = self.now()
            result = LookResult(ended=await self.storage.end_waitlist(now))
            await budgeted(
                "waiting list look",
                self.budget,
                lambda allowed: self.storage.waitlist_pairs_due(now, allowed),
                lambda pair: self._look(*pair, now, result),
                result,
            )
            if result.looked or result.failed or result.stopped:
                log.info(
                    "waiting list: %d looked at (%d calls), %d to tell, %d failed",
                    result.looked,
                    result.calls,
                    result.offered,
                    result.failed,
                )
            return result

    async def _look(
        self, service_id: str, location_id: str, now: datetime, result: LookResult
    ) -> None:
        entries = await self.storage.waiting_for_pair(service_id, location_id, now)
        if not entries:
            return
        days = sorted({e.day for e in entries})
        first_starts, _ = day_bounds(days[0], entries[0].timezone)
        next_look = self.cadence.next_look(now, first_starts)
        try:
            answer, judged = await self._ask(entries, days, now, result)
        except (RateLimited, ApiUnavailable):
            raise
        except ZimunError as exc:
            log.warning(
                "waiting list: no availability for %s at %s (%s); next time round",
                service_id,
                location_id,
                type(exc).__name__,
            )
            await self.storage.schedule_waitlist(
                service_id, location_id, next_look, checked=[], at=now
            )
            result.failed += 1
            return
        chosen, full = await self._choose(entries, answer, judged, now)
        if chosen:  # when their window ends, a time still free goes to the next in line
            next_look = min(next_look, now + self.cadence.offer_window)
        async with self.storage.batch():
            for day in full:
                await self.storage.waitlist_day_full(service_id, location_id, day)
            await self.storage.offer_waitlist(chosen, now)
            await self.storage.schedule_waitlist(
                service_id, location_id, next_look, checked=judged, at=now
            )
        result.looked += 1
        result.offered += len(chosen)

    async def _ask(
        self, entries: list[WaitlistRow], days: list[date], now: datetime, result: LookResult
    ) -> tuple[Availability, list[date]]:
        """One call for the pair: a day query for one day, else a range query from the
        branch's today to the last waitlisted day. A server that refuses the range (its cap
        is undocumented) gets day queries from then on, one per look, for the day judged
        longest ago."""
        first = entries[0]
        today = now.astimezone(zone(first.timezone)).date()
        ahead = (days[-1] - today).days + 1
        if len(days) > 1 and self.ranges and ahead <= MAX_DAYS_AHEAD:
            try:
                return await self._call(first, result, days_ahead=ahead), days
            except BadRequest as exc:
                log.info("waiting list: range query refused (%s); day queries from now on", exc)
                self.ranges = False
        day = _judged_longest_ago(entries)
        return await self._call(first, result, day=day), [day]

    async def _call(
        self,
        entry: WaitlistRow,
        result: LookResult,
        *,
        day: date | None = None,
        days_ahead: int | None = None,
    ) -> Availability:
        self.budget.spend()
        result.calls += 1
        return await self.api.get_availability(
            entry.service_id, location_id=entry.location_id, day=day, days_ahead=days_ahead
        )

    async def _choose(
        self, entries: list[WaitlistRow], answer: Availability, days: list[date], now: datetime
    ) -> tuple[list[int], list[date]]:
        """The entries to tell: per day, as many as free times not offered to someone else in
        the last `offer_window`, in the order they joined, leaving out those already told of
        the day's free times (a re-armed entry: told again only once the day was full in
        between); and the days found full."""
        window = self.rules.calendar_window(now)
        chosen: list[int] = []
        full: list[date] = []
        for day in days:
            free = [s.start for s in answer.slots_on(day) if window.admits(s.start)]
            if not free:
                full.append(day)
                continue
            first = next(e for e in entries if e.day == day)
            held = await self.storage.open_offers(
                first.service_id, first.location_id, day, now - self.cadence.offer_window
            )
            room = len(free) - held
            # already in joining order; one freed time is offered to an entry once
            in_line = [e.id for e in entries if e.day == day and e.offered_at is None]
            chosen += in_line[: max(0, room)]
        return chosen, full

    # ---- telling ---------------------------------------------------------------------------

    async def pending(self) -> list[WaitlistRow]:
        """The entries to tell, first found first."""
        return await self.storage.due_waitlist(FLUSH_LIMIT)

    async def process(self, entry: WaitlistRow, send: Send) -> Outcome:
        now = self.now()
        if entry.ends_at <= now:
            return "skipped"  # the day has passed: deleted by the next look
        reply = build_freed_notice(entry, await self.language(entry), this_year=now.year)
        outcome = await self.claim_and_send(entry, reply, send, f"waiting list entry {entry.id}")
        if outcome == "sent":
            await self.storage.record_funnel([FunnelEvent(now, "", "waitlist_told")])
            log.info("waiting list entry %s: customer told of a free time", entry.id)
        return outcome


def _judged_longest_ago(entries: list[WaitlistRow]) -> date:
    """The day whose availability is the oldest news (never judged: first; then nearest)."""
    never = datetime.min.replace(tzinfo=UTC)
    return min(entries, key=lambda e: (e.checked_at or never, e.day)).day
