"""The records the bot keeps about a booking and a customer, as the rest of the bot reads them.

Plain frozen values, built from a store's rows (`from_row`), so the pure core can describe a
booking without knowing where it is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, ClassVar, Self

# How a stored column becomes its field's value, by the field's (string) annotation.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
}


class Record:
    """A store's row as a frozen value: each column read by its field's type (ISO text to
    `datetime`/`date`), NULL as None, an empty column named in `EMPTY` as it says, and a
    column the row lacks (an older schema) as the field's default. One reader for every
    record below."""

    EMPTY: ClassVar[Mapping[str, Any]] = {}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Self:
        values: dict[str, Any] = {}
        for field in fields(cls):  # type: ignore[arg-type]
            if field.name not in row:
                continue
            raw = row[field.name]
            if field.name in cls.EMPTY and not raw:
                values[field.name] = cls.EMPTY[field.name]
                continue
            if raw is None:
                values[field.name] = None
                continue
            parse = _PARSERS.get(str(field.type).split(" |", 1)[0])
            values[field.name] = parse(raw) if parse else raw
        return cls(**values)


@dataclass(frozen=True)
class NewBooking:
    """A booking as confirmed: the confirm's answer plus the catalogue's names; `start`/`end`
    are aware UTC datetimes."""

    user_id: int
    chat_id: int
    appointment_id: str
    service_id: str
    service_name: str
    location_id: str
    location_name: str
    location_address: str
    timezone: str
    start: datetime
    end: datetime | None
    status: str


_NAMES_UNKNOWN = dict.fromkeys(
    ("service_id", "service_name", "location_id", "location_name", "location_address"), ""
)


@dataclass(frozen=True)
class BookingRow(NewBooking, Record):
    """A booking as the bot remembers it."""

    EMPTY: ClassVar[Mapping[str, Any]] = {**_NAMES_UNKNOWN, "timezone": "UTC"}

    id: int
    created_at: str
    updated_at: str
    language: str | None = None  # the customer's language at their last booking or change
    checked_at: datetime | None = None  # last compared with Zimun
    next_check_at: datetime | None = None  # due for the next comparison (None: now)

    @property
    def active(self) -> bool:
        return is_active(self.status)


INACTIVE_STATUSES = ("cancelled", "canceled", "released", "expired")


def is_active(status: str) -> bool:
    return status not in INACTIVE_STATUSES


@dataclass(frozen=True)
class ReminderRow(Record):
    """A reminder to send at `due_at` (aware UTC) for booking `booking_id`."""

    id: int
    booking_id: int
    user_id: int
    chat_id: int
    offset_minutes: int
    due_at: datetime
    language: str | None
    status: str  # pending, sent, skipped
    attempts: int


@dataclass(frozen=True)
class NoticeRow(Record):
    """A change made at the business, to tell the customer: `kind` is "cancelled" or "moved";
    `start` is the appointment's time now (for a cancellation, the time that was cancelled),
    `previous_start` the time the customer knew."""

    id: int
    booking_id: int
    user_id: int
    chat_id: int
    kind: str
    start: datetime
    previous_start: datetime
    language: str | None
    status: str  # pending, sent, skipped
    attempts: int


@dataclass(frozen=True)
class WaitlistRow(Record):
    """A customer waiting for a time to free up on `day` (the branch's calendar day, which
    ends at `ends_at`, UTC) for one service at one branch."""

    EMPTY: ClassVar[Mapping[str, Any]] = dict.fromkeys(("service_name", "location_name"), "")

    id: int
    user_id: int
    chat_id: int
    service_id: str
    service_name: str
    location_id: str
    location_name: str
    timezone: str
    day: date
    ends_at: datetime
    language: str | None
    status: str  # waiting, due, told, booked (see _m4_waitlist)
    joined_at: datetime
    next_check_at: datetime | None
    checked_at: datetime | None
    offered_at: datetime | None
    told_at: datetime | None
    attempts: int


@dataclass(frozen=True)
class FunnelEvent:
    """One step of an anonymous booking attempt: started, step (reached `step`), confirmed,
    abandoned (at `step`), moved, cancelled."""

    at: datetime
    attempt: str
    event: str
    step: str | None = None
    location_name: str | None = None
    service_name: str | None = None


@dataclass(frozen=True)
class ConversationRow:
    chat_id: int
    user_id: int
    state: str
