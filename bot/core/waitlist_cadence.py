"""How often the bot asks Zimun about waitlisted days, and what that costs.

Zimun announces no freed times (its webhooks are undocumented), so the bot asks, for waitlisted
days only. The unit is the (service, branch) pair, not the customer nor the day: each pair with
someone waiting is looked at on its own clock, and one look is one availability call that
covers every waitlisted day of the pair (a day query when it has one day, a range query from
today to its last waitlisted day otherwise). With a scan every `scan_every` (30 s):

- a pair with a waitlisted day starting within the next 7 days is looked at every 4 minutes,
  so a time freed on such a day reaches the first customer waiting within 4 min + one scan =
  4.5 minutes (promise: 5 minutes);
- a pair whose days are all further out is looked at every 30 minutes (within 30.5 minutes),
  and as soon as its first day comes within 7 days;
- nothing for days nobody waits for, days that have passed, or entries already told.

Cost: 60/4 = 15 calls per hour for each pair with a day within 7 days, 60/30 = 2 for each pair
whose days are all further out (`calls_per_hour`), whatever the number of customers waiting and
of days waitlisted for that pair: per waitlisted day, at most 15 (near) or 2 (far) calls per
hour, less when days share a pair. A cap on calls per minute (WAITLIST_CALLS_PER_MINUTE) bounds
the total whatever the number of pairs (bot.followup.waitlist_watch); the promise holds while
calls_per_hour(near, far) <= 60 x cap.

A freed time is offered to one waiting customer at a time: it stays theirs alone for
`offer_window` (10 minutes), then, if it is still free, the next in line is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.core.models import zone


@dataclass(frozen=True)
class WaitCadence:
    near: timedelta = timedelta(days=7)  # days starting this close are looked at often
    near_every: timedelta = timedelta(minutes=4)
    far_every: timedelta = timedelta(minutes=30)
    scan_every: timedelta = timedelta(seconds=30)  # how often due looks are searched for
    offer_window: timedelta = timedelta(minutes=10)  # a freed time is one customer's alone

    def next_look(self, now: datetime, first_day_starts: datetime) -> datetime:
        """When to look at a pair again whose nearest waitlisted day starts at
        `first_day_starts`."""
        if first_day_starts - now <= self.near:
            return now + self.near_every
        enters_near = first_day_starts - self.near  # from then on the 5-minute promise applies
        return min(now + self.far_every, max(now + self.near_every, enters_near))

    def calls_per_hour(self, near: int, far: int) -> float:
        """Zimun calls per hour for `near` pairs with a waitlisted day within 7 days and `far`
        pairs whose days are all further out."""
        hour = timedelta(hours=1)
        return near * (hour / self.near_every) + far * (hour / self.far_every)

    def promise(self, near: bool) -> timedelta:
        """The longest a freed time waits before it is noticed (the scan's own delay
        included)."""
        return (self.near_every if near else self.far_every) + self.scan_every


WAIT_CADENCE = WaitCadence()


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants (UTC) a branch's calendar day starts and ends at, daylight-saving nights
    included (a 23- or 25-hour day)."""
    tz = zone(timezone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
