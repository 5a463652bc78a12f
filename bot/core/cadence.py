"""How often the bot asks Zimun about what it cannot be told, and what that costs.

Zimun names "webhooks" among what the appointments:write scope covers but documents neither the
subscription nor the payload, so the bot asks instead, on two schedules of the same shape
(`Schedule`): a thing near in time is looked at every `near_every`, one further out every
`far_every`, and one further out is looked at as soon as it comes near (not up to `far_every`
later). A scan every `scan_every` (30 s) finds what is due, so a promise is one period plus one
scan (`Schedule.promise`), and the cost is one call per look (`Schedule.calls_per_hour`). A cap
on calls per minute bounds the total whatever the number of things watched; past it, looks wait
their turn, most overdue first, and the promise stretches. It holds while
calls_per_hour(near, far) <= 60 x cap.

Bookings (`Cadence`, `CADENCE`; bot.followup.reconcile): GET /appointments/{id} for each
upcoming booking the bot made.

- an appointment in the next 24 hours is checked every 4 minutes, so a change made at the
  business reaches the customer within 4 min + one scan = 4.5 minutes (promise: 5 minutes);
- one further out is checked every 55 minutes: within 55.5 minutes (promise: an hour);
- nothing for appointments that have started, bookings already cancelled, or appointments the
  bot did not make (it only knows its own).

Cost: 60/4 = 15 calls per hour for each booking in the next 24 hours, 60/55 ≈ 1.09 for each one
further out. 100 upcoming bookings cost between 109 calls per hour (all further out than a day)
and 1,500 (all within the day).

The waiting list (`WaitCadence`, `WAIT_CADENCE`; bot.followup.waitlist_watch): Zimun announces
no freed times, so the bot asks, for waitlisted days only. The unit is the (service, branch)
pair, not the customer nor the day: each pair with someone waiting is looked at on its own
clock, and one look is one availability call that covers every waitlisted day of the pair (a
day query when it has one day, a range query from today to its last waitlisted day otherwise).

- a pair with a waitlisted day starting within the next 7 days is looked at every 4 minutes,
  so a time freed on such a day reaches the first customer waiting within 4.5 minutes
  (promise: 5 minutes);
- a pair whose days are all further out is looked at every 30 minutes (within 30.5 minutes);
- nothing for days nobody waits for, days that have passed, or entries already told.

Cost: 15 calls per hour for each pair with a day within 7 days, 60/30 = 2 for each pair whose
days are all further out, whatever the number of customers waiting and of days waitlisted for
that pair; the cap is WAITLIST_CALLS_PER_MINUTE. A freed time is offered to one waiting
customer at a time: it stays theirs alone for `offer_window` (10 minutes), then, if it is still
free, the next in line is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.core.models import zone


@dataclass(frozen=True)
class Schedule:
    """Near things every `near_every`, the others every `far_every`, looked for every
    `scan_every`; the shape both cadences share."""

    near: timedelta
    near_every: timedelta
    far_every: timedelta
    scan_every: timedelta = timedelta(seconds=30)  # how often due looks are searched for

    def next_after(self, now: datetime, starts: datetime) -> datetime:
        """When to look again at something that starts at `starts`: soon when it is near, else
        after `far_every` or the moment it comes near, whichever is first."""
        if starts - now <= self.near:
            return now + self.near_every
        enters_near = starts - self.near  # from then on the 5-minute promise applies
        return min(now + self.far_every, max(now + self.near_every, enters_near))

    def calls_per_hour(self, near: int, far: int) -> float:
        """Zimun calls per hour for `near` things looked at often and `far` further out."""
        hour = timedelta(hours=1)
        return near * (hour / self.near_every) + far * (hour / self.far_every)

    def promise(self, near: bool) -> timedelta:
        """The longest a change waits before it is noticed (the scan's own delay included)."""
        return (self.near_every if near else self.far_every) + self.scan_every


@dataclass(frozen=True)
class Cadence(Schedule):
    """The bookings' schedule (bot.followup.reconcile)."""

    near: timedelta = timedelta(hours=24)  # appointments this close are checked often
    near_every: timedelta = timedelta(minutes=4)
    far_every: timedelta = timedelta(minutes=55)

    def next_check(self, now: datetime, start: datetime) -> datetime | None:
        """When to compare an appointment starting at `start` with Zimun again; None once it
        has started (past appointments cost nothing)."""
        return None if start <= now else self.next_after(now, start)


@dataclass(frozen=True)
class WaitCadence(Schedule):
    """The waiting list's schedule (bot.followup.waitlist_watch)."""

    near: timedelta = timedelta(days=7)  # days starting this close are looked at often
    near_every: timedelta = timedelta(minutes=4)
    far_every: timedelta = timedelta(minutes=30)
    offer_window: timedelta = timedelta(minutes=10)  # a freed time is one customer's alone

    def next_look(self, now: datetime, first_day_starts: datetime) -> datetime:
        """When to look at a pair again whose nearest waitlisted day starts at
        `first_day_starts`."""
        return self.next_after(now, first_day_starts)


CADENCE = Cadence()
WAIT_CADENCE = WaitCadence()


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants (UTC) a branch's calendar day starts and ends at, daylight-saving nights
    included (a 23- or 25-hour day)."""
    tz = zone(timezone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
