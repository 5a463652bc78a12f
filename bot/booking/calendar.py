"""Month arithmetic for the day picker: which days can be chosen, and the grid to show them in.

Pure functions of dates, so the calendar logic is tested without any API. "Today" is always the
branch's today (its timezone), never the server's or the customer's.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta

from bot.booking.state import DayCode, Month
from bot.zimun.models import Availability, Day

HORIZON_MONTHS = 3  # the current month and the next two
MAX_DAYS_AHEAD = 92  # three months at most; what the API accepts in one range query


def month_index(year: int, month: int) -> int:
    return year * 12 + (month - 1)


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = month_index(year, month) + delta
    return index // 12, index % 12 + 1


def days_in_month(year: int, month: int) -> int:
    return _calendar.monthrange(year, month)[1]


def last_day(year: int, month: int) -> date:
    return date(year, month, days_in_month(year, month))


def days_ahead(today: date, year: int, month: int) -> int:
    """How many days, counting today, reach the end of the displayed month."""
    return min(MAX_DAYS_AHEAD, (last_day(year, month) - today).days + 1)


def in_horizon(today: date, year: int, month: int) -> bool:
    delta = month_index(year, month) - month_index(today.year, today.month)
    return 0 <= delta < HORIZON_MONTHS


def month_from(
    availability: Availability, today: date, year: int, month: int, now: datetime
) -> Month:
    """One status code per day of the month, from a range availability answer."""
    codes: list[str] = []
    holidays: dict[int, str] = {}
    # Past the last day the answer mentions, a day may be unknown rather than full (a server
    # that lists only days with slots, or caps the range): such days stay choosable.
    known_until = max((d.date for d in availability.days), default=today - timedelta(days=1))
    for number in range(1, days_in_month(year, month) + 1):
        day = date(year, month, number)
        info = availability.day(day)
        if info is not None and info.holiday is not None:
            holidays[number] = info.holiday
        codes.append(_code(day, info, today, now, known_until))
    return Month(year=year, month=month, codes="".join(codes), holidays=holidays)


def _code(day: date, info: Day | None, today: date, now: datetime, known_until: date) -> str:
    if day < today:
        return DayCode.PAST
    if info is None:
        return DayCode.UNKNOWN if day > known_until else DayCode.NONE
    if info.holiday is not None:
        return DayCode.HOLIDAY
    if info.closed:
        return DayCode.CLOSED
    if any(slot.start > now for slot in info.slots):
        return DayCode.FREE
    return DayCode.NONE


def choosable(code: DayCode) -> bool:
    """Free days, and days the range answer did not cover (checked when tapped)."""
    return code in (DayCode.FREE, DayCode.UNKNOWN)


def day_code(month: Month, number: int) -> DayCode:
    if 1 <= number <= len(month.codes):
        return DayCode(month.codes[number - 1])
    return DayCode.NONE


def weeks(year: int, month: int, first_weekday: int) -> list[list[int]]:
    """Rows of 7 day numbers (0 for cells outside the month), weeks starting on `first_weekday`."""
    return _calendar.Calendar(firstweekday=first_weekday).monthdayscalendar(year, month)


def weekday_order(first_weekday: int) -> list[int]:
    return [(first_weekday + i) % 7 for i in range(7)]
