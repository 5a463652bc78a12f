"""The operator's booking rules, as pure functions of time: what may be booked and changed when.

- The booking window: a start is bookable from `now + lead_time` (BOOKING_LEAD_TIME) up to
  `now + horizon` (BOOKING_HORIZON; None: no limit of the operator's, the calendar's own
  92 days, today included, apply: bot/core/calendar.py).
- Changes: whether customers may reschedule or cancel in the bot (ALLOW_RESCHEDULE,
  ALLOW_CANCEL), and until how long before the start (CHANGE_CUTOFF; None: until the start).
- Which branches and services are offered, and in what order (`offer`, see catalog.py).
- Whether a full day offers the waiting list (`waitlist`; off when WAITLIST_CALLS_PER_MINUTE
  is 0, since nobody would watch it).
- A fair share per customer: at most `max_upcoming` upcoming appointments
  (MAX_UPCOMING_PER_CUSTOMER) and `max_per_day` bookings in any 24 hours
  (MAX_BOOKINGS_PER_DAY); None: no cap. One Telegram account booking without pause would
  otherwise take the business's times, the reconcile budget and the staff chat's attention.

Nothing here reads the clock or the API: the conversation passes `ctx.now`, tests pass any
instant, and `python -m bot check --deep` applies the same rules to the live answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Literal

from bot.core.calendar import DEFAULT_HORIZON, Window
from bot.core.offer import Offer

ChangeAction = Literal["reschedule", "cancel"]
NO_LIMIT = datetime.max.replace(tzinfo=UTC)  # the latest start when no horizon is set


BOOKING_DAY = timedelta(days=1)  # MAX_BOOKINGS_PER_DAY counts the bookings of the last 24 h


class Cap(StrEnum):
    """Why a customer may not book another appointment now (`BookingRules.cap_reached`)."""

    UPCOMING = "upcoming"  # MAX_UPCOMING_PER_CUSTOMER appointments ahead already
    PER_DAY = "per_day"  # MAX_BOOKINGS_PER_DAY bookings made in the last 24 hours


class Verdict(StrEnum):
    """May a customer change this booking now? One answer, one message (manage.py)."""

    ALLOWED = "allowed"
    DISABLED = "disabled"  # the operator does not offer this change in the bot
    TOO_LATE = "too_late"  # inside CHANGE_CUTOFF
    STARTED = "started"  # the appointment has begun or passed


@dataclass(frozen=True)
class BookingRules:
    lead_time: timedelta = timedelta(0)
    horizon: timedelta | None = None
    change_cutoff: timedelta | None = None
    allow_reschedule: bool = True
    allow_cancel: bool = True
    offer: Offer = field(default_factory=Offer)
    waitlist: bool = True
    max_upcoming: int | None = None
    max_per_day: int | None = None

    # ---- the booking window ---------------------------------------------------------------

    def window(self, now: datetime) -> tuple[datetime, datetime | None]:
        """(earliest, latest) bookable start from `now`; latest None: no operator limit."""
        latest = now + self.horizon if self.horizon is not None else None
        return now + self.lead_time, latest

    def calendar_window(self, now: datetime) -> Window:
        """The window the calendar shows and every time is judged by: without an operator
        horizon, the calendar's own (DEFAULT_HORIZON)."""
        earliest, latest = self.window(now)
        return Window(now, earliest, latest or now + DEFAULT_HORIZON)

    def bookable(self, start: datetime, now: datetime) -> bool:
        """Whether a slot starting at `start` may be booked (or moved to) at `now`. A start
        exactly at the earliest moment counts; one that is not in the future never does; with
        no operator horizon there is no upper bound."""
        earliest, latest = self.window(now)
        return Window(now, earliest, latest or NO_LIMIT).admits(start)

    def dates(self, now: datetime, tz: tzinfo) -> tuple[date, date | None]:
        """The first and last calendar days (in the branch's zone `tz`) that can hold a
        bookable start; for the day picker, which still checks each time with `bookable`."""
        window = self.calendar_window(now)
        return window.first_day(tz), window.last_day(tz) if self.horizon is not None else None

    # ---- a fair share per customer -------------------------------------------------------

    def cap_reached(self, upcoming: int, booked_today: int) -> Cap | None:
        """Which cap stops one more booking by a customer who has `upcoming` appointments ahead
        and made `booked_today` bookings in the last 24 hours (BOOKING_DAY); None: may book.
        The upcoming cap comes first: cancelling one lifts it, waiting does not."""
        if self.max_upcoming is not None and upcoming >= self.max_upcoming:
            return Cap.UPCOMING
        if self.max_per_day is not None and booked_today >= self.max_per_day:
            return Cap.PER_DAY
        return None

    # ---- changes --------------------------------------------------------------------------

    def allows(self, kind: ChangeAction) -> bool:
        return self.allow_reschedule if kind == "reschedule" else self.allow_cancel

    def may_change(self, kind: ChangeAction, start: datetime, now: datetime) -> Verdict:
        """Whether a booking starting at `start` may be rescheduled or cancelled at `now`."""
        if not self.allows(kind):
            return Verdict.DISABLED
        if start <= now:
            return Verdict.STARTED
        if self.change_cutoff is not None and now >= start - self.change_cutoff:
            return Verdict.TOO_LATE
        return Verdict.ALLOWED

    def offered_changes(self, start: datetime, now: datetime) -> tuple[bool, bool]:
        """(reschedule, cancel): the change buttons a message about a booking starting at
        `start` may carry at `now` (a reminder, a notice of a move): only what the customer may
        do now, so a tap never meets a refusal the message could have known."""
        return (
            self.may_change("reschedule", start, now) is Verdict.ALLOWED,
            self.may_change("cancel", start, now) is Verdict.ALLOWED,
        )

    def locks(self, start: datetime, now: datetime) -> bool:
        """Whether a booking moved (or booked) to `start` at `now` falls inside CHANGE_CUTOFF
        while changes are otherwise allowed: the customer is told before they confirm that it
        can then no longer be changed here."""
        if self.change_cutoff is None or not any(self.changes_allowed):
            return False
        return now >= start - self.change_cutoff

    @property
    def changes_allowed(self) -> tuple[bool, bool]:
        """(reschedule, cancel): what the help and welcome texts may promise."""
        return self.allow_reschedule, self.allow_cancel
