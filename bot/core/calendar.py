"""Month arithmetic for the day picker: which days can be chosen, and the grid to show them in.

Pure functions of dates and instants, so the calendar logic is tested without any API. "Today"
is always the branch's today (its timezone), never the server's or the customer's, and the
booking window (`Window`) is a pair of instants: the calendar shows the months it touches, on
the branch's wall clock, whatever month, year or daylight-saving switch lies in between.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from bot.core.models import Availability, Day
from bot.core.state import DayCode, Month

MAX_DAYS_AHEAD = 92  # the widest range one availability query may ask for
DEFAULT_HORIZON = timedelta(days=MAX_DAYS_AHEAD - 1)  # today and the next 91 days
# A week or more with no free time at all, at the end of a range answer, after days with free
# times: read as days the business has not opened for booking yet, not as a full week.
NOT_OPEN_RUN = 7


@dataclass(frozen=True)
class Window:
    """The instants a customer may book at `now`: from `earliest` (now plus any lead time the
    business wants) to `latest` (how far ahead it takes bookings), never a start already past.
    The same rule as BookingRules.bookable, in the shape the calendar needs."""

    now: datetime
    earliest: datetime
    latest: datetime

    def admits(self, start: datetime) -> bool:
        return start > self.now and self.earliest <= start <= self.latest

    def first_day(self, tz: tzinfo) -> date:
        return self.earliest.astimezone(tz).date()

    def last_day(self, tz: tzinfo) -> date:
        return self.latest.astimezone(tz).date()

    def until(self, last: date | None, tz: tzinfo) -> Window:
        """This window, ending with the day `last` at the latest (None: as it is)."""
        if last is None or last >= self.last_day(tz):
            return self
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
        return Window(self.now, self.earliest, max(self.earliest, end - timedelta(microseconds=1)))


def open_until(availability: Availability) -> date | None:
    """The last day the business takes bookings for, as far as a range answer tells; None when
    it does not tell (not a range, or no free time anywhere: every day may be full).

    Zimun's docs do not say how a server answers for days it has not opened yet (the window is
    the business's, set in Zimun), so both plausible forms are read: a range shorter than the
    one asked for ends where the business's window ends; a range that lists those days without
    free times ends with the last day that has one, when at least NOT_OPEN_RUN days follow it."""
    asked = availability.asked_until
    if asked is None or not availability.days:
        return None
    listed = availability.days[-1].date
    if listed < asked:
        return listed
    last_free = max((d.date for d in availability.days if d.slots), default=None)
    if last_free is not None and (asked - last_free).days >= NOT_OPEN_RUN:
        return last_free
    return None


def month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = month_index(year, month) + delta
    return index // 12, index % 12 + 1


def days_in_month(year: int, month: int) -> int:
    return _calendar.monthrange(year, month)[1]


def last_day(year: int, month: int) -> date:
    return date(year, month, days_in_month(year, month))


def days_ahead(today: date, until: date) -> int:
    """How many days, counting today, reach `until` (what one range query asks for)."""
    return max(1, min(MAX_DAYS_AHEAD, (until - today).days + 1))


def months_between(first: date, last: date) -> list[tuple[int, int]]:
    """Every (year, month) from `first`'s month to `last`'s, in order (December → January too)."""
    start, end = month_index(first.year, first.month), month_index(last.year, last.month)
    return [add_months(first.year, first.month, i) for i in range(max(0, end - start) + 1)]


def in_range(first: date, last: date, year: int, month: int) -> bool:
    index = month_index(year, month)
    return month_index(first.year, first.month) <= index <= month_index(last.year, last.month)


def month_from(
    availability: Availability,
    window: Window,
    tz: tzinfo,
    year: int,
    month: int,
) -> Month:
    """One status code per day of the month, from a range availability answer."""
    today, last = window.first_day(tz), window.last_day(tz)
    # Past the last day the answer mentions, a day may be unknown rather than full (a server
    # that lists only days with slots, or caps the range): such days stay choosable.
    known_until = max((d.date for d in availability.days), default=today - timedelta(days=1))
    codes: list[str] = []
    holidays: dict[int, str] = {}
    for number in range(1, days_in_month(year, month) + 1):
        day = date(year, month, number)
        info = availability.day(day)
        if info is not None and info.holiday is not None:
            holidays[number] = info.holiday
        codes.append(_code(day, info, today, last, window, known_until))
    return Month(year=year, month=month, codes="".join(codes), holidays=holidays)


def _code(
    day: date, info: Day | None, today: date, last: date, window: Window, known_until: date
) -> str:
    if day < today:
        return DayCode.PAST
    if day > last:
        return DayCode.BEYOND
    if info is None:
        return DayCode.UNKNOWN if day > known_until else DayCode.NONE
    return code_of(info, window)


def code_of(info: Day, window: Window) -> DayCode:
    """What a day Zimun answered for is, for the customer choosing inside `window`."""
    if info.holiday is not None:
        return DayCode.HOLIDAY
    if info.closed:
        return DayCode.CLOSED
    if any(window.admits(slot.start) for slot in info.slots):
        return DayCode.FREE
    return _outside(info, window)


def _outside(info: Day, window: Window) -> DayCode:
    """A day with no bookable time: full, or its free times fall outside the window (too soon
    for the lead time, or past the horizon on the window's last day). Such a day is not full:
    it is not offered a waiting list, since what is free there cannot be booked. (Were its
    bookable times all taken as well, one of them freeing up could be booked; the answer
    cannot tell, and a promise never kept is worse than one not made.)"""
    if any(slot.start < window.earliest for slot in info.slots):
        return DayCode.SOON
    if any(slot.start > window.latest for slot in info.slots):
        return DayCode.BEYOND
    return DayCode.NONE


def choosable(code: DayCode) -> bool:
    """Free days, and days the range answer did not cover (checked when tapped)."""
    return code in (DayCode.FREE, DayCode.UNKNOWN)


def has_choosable(month: Month) -> bool:
    return any(choosable(DayCode(code)) for code in month.codes)


def day_code(month: Month, number: int) -> DayCode:
    if 1 <= number <= len(month.codes):
        return DayCode(month.codes[number - 1])
    return DayCode.NONE


def opening_month(
    availability: Availability, window: Window, tz: tzinfo, after: tuple[int, int] | None = None
) -> Month:
    """The month to show: the first (after `after`, if given) with a free day in the window;
    else the first with a day the answer did not cover; else the window's first month."""
    months = months_between(window.first_day(tz), window.last_day(tz))
    if after is not None:
        months = [m for m in months if month_index(*m) > month_index(*after)] or months[-1:]
    built = [month_from(availability, window, tz, *m) for m in months]
    for wanted in (DayCode.FREE, DayCode.UNKNOWN):
        found = next((m for m in built if wanted in m.codes), None)
        if found is not None:
            return found
    return built[0]


def first_free(availability: Availability, window: Window) -> datetime | None:
    """The earliest bookable instant the answer lists, if any."""
    starts = (slot.start for day in availability.days for slot in day.slots)
    return next((start for start in starts if window.admits(start)), None)


def weeks(year: int, month: int, first_weekday: int) -> list[list[int]]:
    """Rows of 7 day numbers (0 for cells outside the month), weeks starting on `first_weekday`."""
    return _calendar.Calendar(firstweekday=first_weekday).monthdayscalendar(year, month)


def weekday_order(first_weekday: int) -> list[int]:
    return [(first_weekday + i) % 7 for i in range(7)]
