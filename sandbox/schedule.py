"""When a service can start at a location: opening hours, weekly closed days, holidays, slot grid.

Pure functions of the seed; whether a slot is still free is the store's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sandbox.seed import Holiday, Location, Service


@dataclass(frozen=True)
class DayPlan:
    """One local calendar day of a location for a service: why it is closed, or its slot grid."""

    day: date
    closed: bool
    holiday: Holiday | None
    starts: tuple[datetime, ...]  # aware, in the location's timezone


def plan_day(location: Location, service: Service, day: date) -> DayPlan:
    holiday = location.holiday_on(day)
    intervals = location.intervals_on(day)
    if holiday is not None or not intervals or not location.active:
        return DayPlan(day, closed=True, holiday=holiday, starts=())
    tz = location.tz
    length = timedelta(minutes=service.duration_minutes)
    step = timedelta(minutes=service.slot_step_minutes)
    starts: list[datetime] = []
    for opens, closes in intervals:
        start = datetime.combine(day, opens, tz)
        end = datetime.combine(day, closes, tz)
        while start + length <= end:
            starts.append(start)
            start += step
    return DayPlan(day, closed=False, holiday=None, starts=tuple(starts))


def why_not_a_slot(location: Location, service: Service, start: datetime) -> str | None:
    """None when `start` is on the slot grid of an open day; otherwise the reason, for 400s."""
    local = start.astimezone(location.tz)
    plan = plan_day(location, service, local.date())
    if plan.holiday is not None:
        return f"{local.date().isoformat()} is a holiday ({plan.holiday.name})"
    if plan.closed:
        return f"{location.name} is closed on {local.date().isoformat()}"
    if not any(s == local for s in plan.starts):
        return f"{local.isoformat()} is outside opening hours or not a slot start"
    return None


def end_of(service: Service, start: datetime) -> datetime:
    return start + timedelta(minutes=service.duration_minutes)
