"""Typed, tolerant models of what the Zimun API returns.

Zimun documents its requests well and its responses barely (see shared/zimun-api.md), so every
model ignores unknown fields, accepts the documented alternative names of a field, and reports a
missing field by its name (InvalidResponse) instead of a KeyError deep in the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from bot.core.errors import InvalidResponse

DEFAULT_HOLD_SECONDS = 600


def _first(data: Mapping[str, Any], *names: str) -> Any:
    """The value of the first of `names` present (and not null) in `data`."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_zone(name: str | None) -> tzinfo | None:
    """An IANA zone ("Europe/Madrid") or a fixed offset ("+01:00", "UTC+1"); None if neither.

    Fixed offsets exist because `timezone` is an assumed field: a server that omits it still
    gives every slot an offset, and showing that offset beats showing UTC.
    """
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    match = _OFFSET.match(name.strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        return None
    return dt_timezone(-delta if sign == "-" else delta)


def zone(name: str | None) -> tzinfo:
    """`parse_zone`, or UTC when the name is missing or unknown."""
    return parse_zone(name) or UTC


def offset_name(moment: datetime) -> str | None:
    """ "+01:00" for a moment with a UTC offset: a fixed zone to fall back on."""
    offset = moment.utcoffset()
    if offset is None:
        return None
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def local_date(moment: datetime, tz: tzinfo | None) -> date:
    """The calendar day of `moment` in `tz`, or in its own offset when no zone is known."""
    return moment.astimezone(tz).date() if tz is not None else moment.date()


class ZimunModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def parse(cls, data: Any, *, received_at: datetime | None = None) -> Self:
        """Validate `data`, turning a pydantic error into one line naming the missing field.
        `received_at`: when the answer arrived, by the client's clock (a model whose fields
        default relative to it needs it: the core reads no clock)."""
        if not isinstance(data, Mapping):
            got = type(data).__name__
            raise InvalidResponse(f"{cls.__name__}: expected a JSON object, got {got}")
        try:
            return cls.model_validate(data, context={"received_at": received_at})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "?"
            problem = "is missing" if first.get("input") is None else first["msg"]
            raise InvalidResponse(f"{cls.__name__}: field '{field}' {problem}") from exc

    @classmethod
    def parse_many(cls, items: Iterable[Any]) -> list[Self]:
        return [cls.parse(item) for item in items]


class Location(ZimunModel):
    id: str
    name: str = ""
    timezone: str | None = None  # [assumed] field: None when the server does not say
    address: str | None = None
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["id"] = _first(data, "id", "location_id")
            data["name"] = _first(data, "name", "title") or str(data.get("id") or "")
            data["timezone"] = _first(data, "timezone", "time_zone", "tz")
        return data

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)


class Service(ZimunModel):
    id: str
    name: str = ""
    duration_minutes: int | None = None
    location_ids: tuple[str, ...] = ()
    team_member_ids: tuple[str, ...] = ()
    description: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["id"] = _first(data, "id", "service_id")
            data["name"] = _first(data, "name", "title") or str(data.get("id") or "")
            data["duration_minutes"] = _first(
                data, "duration_minutes", "duration", "appointment_duration"
            )
            data["location_ids"] = tuple(data.get("location_ids") or ())
            data["team_member_ids"] = tuple(data.get("team_member_ids") or ())
        return data

    def bookable_at(self, location_id: str) -> bool:
        """Empty or absent location_ids means: bookable at every location (the contract)."""
        return not self.location_ids or location_id in self.location_ids


class Slot(ZimunModel):
    start: datetime
    end: datetime | None = None
    team_member_ids: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["start"] = _first(data, "start_time", "start", "appointment_time")
            data["end"] = _first(data, "end_time", "end")
            data["team_member_ids"] = tuple(data.get("team_member_ids") or ())
        return data

    @model_validator(mode="after")
    def _aware(self) -> Slot:
        if self.start.tzinfo is None:
            raise ValueError("start has no timezone offset")
        return self


class Day(ZimunModel):
    """One calendar day of a location, in that location's timezone."""

    date: date
    closed: bool = False
    holiday: str | None = None  # the holiday's name ("" when unnamed); None: not a holiday
    slots: tuple[Slot, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _holiday(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["holiday"] = holiday_name(data.get("holiday"))
            data["slots"] = tuple(data.get("slots") or ())
        return data

    @property
    def bookable(self) -> bool:
        return not self.closed and self.holiday is None and bool(self.slots)


def holiday_name(value: Any) -> str | None:
    """Normalise the documented holiday shapes (null, true, a name, {"name", "note"})."""
    if value is None or value is False:
        return None
    if isinstance(value, Mapping):
        return str(value.get("name") or value.get("note") or "")
    if value is True:
        return ""
    return str(value)


def _empty_day(day: date) -> dict[str, Any]:
    return {"date": day, "closed": False, "holiday": None, "slots": []}


def _start(slot: Slot) -> datetime:
    return slot.start


class Availability(ZimunModel):
    """Free slots grouped by local day; built from `days`, flat `slots` and `holidays` alike."""

    service_id: str | None = None
    location_id: str | None = None
    timezone: str | None = None  # [assumed] field: None when the server does not say
    days: tuple[Day, ...] = ()
    # Not the server's: the last day the bot asked a range for (bot.core.calendar.open_until
    # reads a shorter answer as the end of what the business has opened); None: not a range.
    asked_until: date | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        """Merge `days`, flat `slots` and `holidays` into Day models, each slot parsed once.

        Servers list every slot twice (under its day and flat): a flat slot whose raw start
        is already listed under its own local day is skipped before parsing, and the parsed
        Day and Slot models are handed on as they are (pydantic does not validate them again).
        This runs for every calendar shown, so it is kept lean.
        """
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        tz = parse_zone(data.get("timezone"))
        days: dict[date, dict[str, Any]] = {}
        listed: set[Any] = set()  # raw starts already under their own local day
        for raw in data.get("days") or ():
            parsed = Day.parse(raw)
            days[parsed.date] = {
                "date": parsed.date,
                "closed": parsed.closed,
                "holiday": parsed.holiday,
                "slots": list(parsed.slots),
            }
            for raw_slot, slot in zip(raw.get("slots") or (), parsed.slots, strict=False):
                if isinstance(raw_slot, Mapping) and local_date(slot.start, tz) == parsed.date:
                    listed.add(_first(raw_slot, "start_time", "start", "appointment_time"))
        known = {day: {s.start for s in entry["slots"]} for day, entry in days.items()}
        for raw_slot in data.get("slots") or ():
            if isinstance(raw_slot, Mapping):
                start = _first(raw_slot, "start_time", "start", "appointment_time")
                if isinstance(start, str) and start in listed:
                    continue
            slot = Slot.parse(raw_slot)
            local = local_date(slot.start, tz)
            entry = days.setdefault(local, _empty_day(local))
            seen = known.setdefault(local, set())
            if slot.start not in seen:
                seen.add(slot.start)
                entry["slots"].append(slot)
        for key, value in (data.get("holidays") or {}).items():
            day = date.fromisoformat(str(key))
            entry = days.setdefault(day, _empty_day(day))
            if entry["holiday"] is None:
                entry["holiday"] = holiday_name(value if value is not None else True)
        data["days"] = tuple(
            Day.model_construct(
                date=entry["date"],
                closed=entry["closed"],
                holiday=entry["holiday"],
                slots=tuple(sorted(entry["slots"], key=_start)),
            )
            for entry in (days[d] for d in sorted(days))
        )
        data["timezone"] = data.get("timezone") or None
        return data

    @property
    def tz(self) -> tzinfo:
        return zone(self.timezone)

    @property
    def zone_name(self) -> str | None:
        """The zone to show times in: the one named, else the first slot's own offset."""
        if parse_zone(self.timezone) is not None:
            return self.timezone
        first = next((s.start for d in self.days for s in d.slots), None)
        return offset_name(first) if first is not None else None

    def day(self, day: date) -> Day | None:
        return next((d for d in self.days if d.date == day), None)

    def slots_on(self, day: date) -> tuple[Slot, ...]:
        found = self.day(day)
        return found.slots if found else ()


class Hold(ZimunModel):
    hold_id: str
    status: str = "held"
    service_id: str | None = None
    location_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    expires_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["hold_id"] = _first(data, "hold_id", "id")
            data["start"] = _first(data, "appointment_time", "start_time", "start")
            data["end"] = _first(data, "end_time", "end")
            expires = _first(data, "expires_at", "expiry", "expires")
            received = (info.context or {}).get("received_at")
            if expires is None and received is not None:
                # [assumed] field: when absent, the documented 10 minutes from its receipt.
                expires = received + timedelta(seconds=DEFAULT_HOLD_SECONDS)
            data["expires_at"] = expires
        return data


class Appointment(ZimunModel):
    id: str
    status: str = "confirmed"
    service_id: str | None = None
    location_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    created_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            data["id"] = _first(data, "appointment_id", "booking_id", "id")
            data["start"] = _first(data, "appointment_time", "start_time", "start")
            data["end"] = _first(data, "end_time", "end")
            data["status"] = str(data.get("status") or "confirmed").lower()
        return data

    @property
    def active(self) -> bool:
        return self.status not in {"cancelled", "canceled", "released", "expired"}


class Page(ZimunModel):
    items: tuple[dict[str, Any], ...] = Field(default_factory=tuple)
    next_page_token: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _items(cls, data: Any) -> Any:
        if isinstance(data, list):  # tolerate a bare list
            return {"items": data}
        if isinstance(data, Mapping):
            data = dict(data)
            data["items"] = tuple(_first(data, "items", "data", "results") or ())
            data["next_page_token"] = data.get("next_page_token") or None
        return data
