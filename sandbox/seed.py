"""The demo organization, read from a JSON data file an operator can edit (sandbox/seed.json).

Loading validates the file and fails with one line naming the bad entry (SeedError), so a typo
in the seed never shows up later as a confusing 500.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
END_OF_DAY = "24:00"  # a closing time only: the next day's 00:00


class SeedError(ValueError):
    """The seed file is malformed; the message names the entry."""


@dataclass(frozen=True)
class Holiday:
    """A public holiday: `when` is "MM-DD" (every year) or "YYYY-MM-DD" (that date only)."""

    when: str
    name: str
    note: str | None = None

    def matches(self, day: date) -> bool:
        if len(self.when) == 5:
            return day.strftime("%m-%d") == self.when
        return day.isoformat() == self.when

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "note": self.note}


@dataclass(frozen=True)
class Interval:
    """Opening hours on one day, [opens, closes) in local wall-clock time. `closes` None is
    "24:00", the next day's 00:00, so a branch can be open round the clock; turning these wall
    times into instants (daylight saving) is sandbox/schedule.py's job."""

    opens: time
    closes: time | None

    def wall_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The naive local date-times at which this interval opens and closes on `day`."""
        opens = datetime.combine(day, self.opens)
        if self.closes is None:
            return opens, datetime.combine(day + timedelta(days=1), time(0))
        return opens, datetime.combine(day, self.closes)


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    timezone: str
    address: str | None
    active: bool
    opening_hours: tuple[tuple[Interval, ...], ...]  # indexed by date.weekday()
    holidays: tuple[Holiday, ...]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def holiday_on(self, day: date) -> Holiday | None:
        return next((h for h in self.holidays if h.matches(day)), None)

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        return self.opening_hours[day.weekday()]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "timezone": self.timezone,
            "address": self.address,
            "active": self.active,
        }


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str | None
    duration_minutes: int
    location_ids: tuple[str, ...]  # empty: bookable at every location
    team_member_ids: tuple[str, ...]
    capacity: int
    slot_step_minutes: int

    def bookable_at(self, location_id: str) -> bool:
        return not self.location_ids or location_id in self.location_ids

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "duration_minutes": self.duration_minutes,
            "location_ids": list(self.location_ids),
            "team_member_ids": list(self.team_member_ids),
            "description": self.description,
        }


@dataclass(frozen=True)
class Seed:
    organization_id: str
    organization_name: str
    locations: tuple[Location, ...]
    services: tuple[Service, ...]

    def location(self, location_id: str) -> Location | None:
        return next((loc for loc in self.locations if loc.id == location_id), None)

    def service(self, service_id: str) -> Service | None:
        return next((svc for svc in self.services if svc.id == service_id), None)

    def locations_for(self, service: Service) -> list[Location]:
        return [loc for loc in self.locations if loc.active and service.bookable_at(loc.id)]


def load_seed(path: Path | str) -> Seed:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SeedError(f"seed file {path} is not valid JSON: {exc}") from exc
    return parse_seed(raw)


def parse_seed(raw: Mapping[str, Any]) -> Seed:
    if not isinstance(raw, Mapping):
        raise SeedError("seed: expected a JSON object")
    org = raw.get("organization") or {}
    locations = tuple(_location(i, item) for i, item in enumerate(_list(raw, "locations")))
    services = tuple(_service(i, item) for i, item in enumerate(_list(raw, "services")))
    _unique("locations", [loc.id for loc in locations])
    _unique("services", [svc.id for svc in services])
    known = {loc.id for loc in locations}
    for svc in services:
        for loc_id in svc.location_ids:
            if loc_id not in known:
                raise SeedError(f"services[{svc.id}].location_ids: unknown location {loc_id!r}")
    return Seed(
        organization_id=str(org.get("id") or "org_demo"),
        organization_name=str(org.get("name") or "Demo organization"),
        locations=locations,
        services=services,
    )


def _list(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise SeedError(f"seed: {key!r} must be a non-empty list")
    return value


def _unique(what: str, ids: list[str]) -> None:
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SeedError(f"{what}: duplicate ids {sorted(dupes)}")


def _required(item: Mapping[str, Any], key: str, where: str) -> Any:
    if item.get(key) in (None, ""):
        raise SeedError(f"{where}: {key!r} is required")
    return item[key]


def _location(index: int, item: Mapping[str, Any]) -> Location:
    where = f"locations[{index}]"
    loc_id = str(_required(item, "id", where))
    where = f"locations[{loc_id}]"
    tz = str(_required(item, "timezone", where))
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SeedError(f"{where}.timezone: unknown timezone {tz!r}") from exc
    hours = item.get("opening_hours") or {}
    unknown = set(hours) - set(WEEKDAYS)
    if unknown:
        raise SeedError(f"{where}.opening_hours: unknown weekday(s) {sorted(unknown)}")
    week = tuple(_intervals(f"{where}.opening_hours.{d}", hours.get(d) or []) for d in WEEKDAYS)
    holidays = tuple(_holiday(f"{where}.holidays", h) for h in item.get("holidays") or [])
    return Location(
        id=loc_id,
        name=str(item.get("name") or loc_id),
        timezone=tz,
        address=item.get("address"),
        active=bool(item.get("active", True)),
        opening_hours=week,
        holidays=holidays,
    )


def _intervals(where: str, value: Any) -> tuple[Interval, ...]:
    out = []
    for pair in value:
        try:
            opens, closes = pair
            start = time.fromisoformat(opens)
            end = None if closes == END_OF_DAY else time.fromisoformat(closes)
        except (TypeError, ValueError) as exc:
            raise SeedError(
                f'{where}: expected ["HH:MM", "HH:MM"] (closing may be "24:00"), got {pair!r}'
            ) from exc
        if end is not None and end <= start:
            raise SeedError(f"{where}: {pair!r} closes before it opens")
        out.append(Interval(start, end))
    return tuple(sorted(out, key=lambda interval: interval.opens))


def _holiday(where: str, item: Mapping[str, Any]) -> Holiday:
    when = str(_required(item, "date", where))
    try:
        if len(when) == 5:
            date.fromisoformat(f"2000-{when}")  # a leap year, so 02-29 is allowed
        else:
            date.fromisoformat(when)
    except ValueError as exc:
        raise SeedError(f"{where}: date {when!r} is neither MM-DD nor YYYY-MM-DD") from exc
    return Holiday(when=when, name=str(item.get("name") or ""), note=item.get("note"))


def _service(index: int, item: Mapping[str, Any]) -> Service:
    where = f"services[{index}]"
    svc_id = str(_required(item, "id", where))
    where = f"services[{svc_id}]"
    duration = _positive_int(where, "duration_minutes", _required(item, "duration_minutes", where))
    step = _positive_int(where, "slot_step_minutes", item.get("slot_step_minutes") or duration)
    capacity = _positive_int(where, "capacity", item.get("capacity", 1))
    return Service(
        id=svc_id,
        name=str(item.get("name") or svc_id),
        description=item.get("description"),
        duration_minutes=duration,
        location_ids=tuple(str(x) for x in item.get("location_ids") or ()),
        team_member_ids=tuple(str(x) for x in item.get("team_member_ids") or ()),
        capacity=capacity,
        slot_step_minutes=step,
    )


def _positive_int(where: str, key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SeedError(f"{where}.{key}: expected a positive integer, got {value!r}")
    return value
