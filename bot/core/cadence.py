"""How often the bot compares an upcoming booking with Zimun, and what that costs.

Zimun names "webhooks" among what the appointments:write scope covers but documents neither the
subscription nor the payload, so the bot asks instead: GET /appointments/{id} for each upcoming
booking it made, nearer appointments more often. With a scan every `scan_every` (30 s):

- an appointment in the next 24 hours is checked every 4 minutes, so a change made at the
  business reaches the customer within 4 min + one scan = 4.5 minutes (promise: 5 minutes);
- one further out is checked every 55 minutes: within 55.5 minutes (promise: an hour); its
  first check after it comes within 24 hours happens at that moment, not up to 55 min later;
- nothing for appointments that have started, bookings already cancelled, or appointments the
  bot did not make (it only knows its own).

Cost: 60/4 = 15 calls per hour for each booking in the next 24 hours, 60/55 ≈ 1.09 for each one
further out (`calls_per_hour`). 100 upcoming bookings cost between 109 calls per hour (all
further out than a day) and 1,500 (all within the day). A cap on calls per minute bounds the
total whatever the number of bookings (bot.followup.reconcile); past it, checks wait their turn,
most overdue first, and the promise stretches. It holds while calls_per_hour(near, far) ≤ 60 × cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Cadence:
    near: timedelta = timedelta(hours=24)  # appointments this close are checked often
    near_every: timedelta = timedelta(minutes=4)
    far_every: timedelta = timedelta(minutes=55)
    scan_every: timedelta = timedelta(seconds=30)  # how often due checks are looked for

    def next_check(self, now: datetime, start: datetime) -> datetime | None:
        """When to compare an appointment starting at `start` with Zimun again; None once it
        has started (past appointments cost nothing)."""
        if start <= now:
            return None
        if start - now <= self.near:
            return now + self.near_every
        enters_near = start - self.near  # from then on the 5-minute promise applies
        return min(now + self.far_every, max(now + self.near_every, enters_near))

    def calls_per_hour(self, near: int, far: int) -> float:
        """Zimun calls per hour for `near` bookings in the next day and `far` further out."""
        hour = timedelta(hours=1)
        return near * (hour / self.near_every) + far * (hour / self.far_every)

    def promise(self, near: bool) -> timedelta:
        """The longest a change waits before it is noticed (the scan's own delay included)."""
        return (self.near_every if near else self.far_every) + self.scan_every


CADENCE = Cadence()
