"""When a service can start at a location: opening hours, weekly closed days, holidays, slot grid.

Pure functions of the seed; whether a slot is still free is the store's business.

Opening hours are local wall-clock times, but slots are built from instants: each interval's
open and close are resolved to instants, and slots step from the open in absolute time. So on
the spring switch night no slot starts at a local time that does not exist and none has a
negative length, and on the autumn night the repeated hour is offered twice (+02:00, then
+01:00 in Madrid). Aware datetimes sharing one tzinfo compare by wall time and ignore `fold`,
so every equality or membership test on slot starts here compares UTC instants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox.seed import Holiday, Location, Service

SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class DayPlan:
    """One local calendar day of a location for a service: why it is closed, or its slot grid."""

    day: date
    closed: bool
    holiday: Holiday | None
    starts: tuple[datetime, ...]  # aware, in the location's timezone, with the right fold


def utc(moment: datetime) -> datetime:
    """The same instant in UTC: the only safe form to compare or hash slot starts in."""
    return moment.astimezone(UTC)


def instant(wall: datetime, tz: ZoneInfo, *, fold: int = 0) -> datetime:
    """The UTC instant at which the clocks of `tz` read the naive `wall` time.

    A wall time shown twice (autumn) is its first showing with fold=0, its second with fold=1.
    A wall time never shown (the spring gap) is the first real instant after the gap: a branch
    that opens at 02:30 on that night opens when the clocks jump to 03:00.
    """
    moment = utc(wall.replace(tzinfo=tz, fold=fold))
    if moment.astimezone(tz).replace(tzinfo=None) == wall:
        return moment
    # In the gap: the switch lies between the two readings of `wall` (one per offset). Bisect
    # for the first whole second whose local time is past `wall`; offsets change on seconds.
    lo, hi = sorted(utc(wall.replace(tzinfo=tz, fold=f)) for f in (0, 1))
    while hi - lo > SECOND:
        mid = lo + (hi - lo) // 2
        mid -= timedelta(microseconds=mid.microsecond)
        if mid.astimezone(tz).replace(tzinfo=None) > wall:
            hi = mid
        else:
            lo = mid
    return hi


def plan_day(location: Location, service: Service, day: date) -> DayPlan:
    holiday = location.holiday_on(day)
    intervals = location.intervals_on(day)
    if holiday is not None or not intervals or not location.active:
        return DayPlan(day, closed=True, holiday=holiday, starts=())
    tz = location.tz
    length = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=service.slot_step_minutes)
    starts: dict[datetime, datetime] = {}  # by UTC instant: overlapping intervals list once
    for interval in intervals:
        # Open and close alike take a repeated wall time's first showing, so intervals that
        # meet on the wall clock (01:00-02:30, 02:30-04:00) also meet in time.
        opens, closes = (instant(wall, tz) for wall in interval.wall_bounds(day))
        start = opens
        while start + length <= closes:  # UTC arithmetic: absolute time
            starts.setdefault(start, start.astimezone(tz))
            start += step
    ordered = tuple(starts[key] for key in sorted(starts))
    return DayPlan(day, closed=False, holiday=None, starts=ordered)


def why_not_a_slot(location: Location, service: Service, start: datetime) -> str | None:
    """None when `start` is on the slot grid of an open day; otherwise the reason, for 400s."""
    if not location.active:
        return f"{location.name} is not taking bookings at the moment"
    local = start.astimezone(location.tz)
    plan = plan_day(location, service, local.date())
    if plan.holiday is not None:
        return f"{local.date().isoformat()} is a holiday ({plan.holiday.name})"
    if plan.closed:
        return f"{location.name} is closed on {local.date().isoformat()}"
    wanted = utc(start)
    if not any(utc(s) == wanted for s in plan.starts):
        return f"{local.isoformat()} is outside opening hours or not a slot start"
    return None


def end_of(service: Service, start: datetime) -> datetime:
    """When an appointment starting at `start` ends, in UTC (adding in a zone would add wall
    time, wrong across a switch)."""
    return utc(start) + timedelta(minutes=service.duration_minutes)
