"""The records the bot keeps about a booking and a customer, as the rest of the bot reads them.

Plain frozen values, built from a store's rows (`from_row`), so the pure core can describe a
booking without knowing where it is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


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


@dataclass(frozen=True)
class BookingRow(NewBooking):
    """A booking as the bot remembers it."""

    id: int
    created_at: str
    updated_at: str
    language: str | None = None  # the customer's language at their last booking or change
    checked_at: datetime | None = None  # last compared with Zimun
    next_check_at: datetime | None = None  # due for the next comparison (None: now)

    @property
    def active(self) -> bool:
        return is_active(self.status)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BookingRow:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            appointment_id=row["appointment_id"],
            service_id=row["service_id"] or "",
            service_name=row["service_name"] or "",
            location_id=row["location_id"] or "",
            location_name=row["location_name"] or "",
            location_address=row["location_address"] or "",
            timezone=row["timezone"] or "UTC",
            start=datetime.fromisoformat(row["start"]),
            end=datetime.fromisoformat(row["end"]) if row["end"] else None,
            status=row["status"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            language=row.get("language"),
            checked_at=_parsed(row.get("checked_at")),
            next_check_at=_parsed(row.get("next_check_at")),
        )


INACTIVE_STATUSES = ("cancelled", "canceled", "released", "expired")


def is_active(status: str) -> bool:
    return status not in INACTIVE_STATUSES


def _parsed(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ReminderRow:
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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReminderRow:
        return cls(
            id=row["id"],
            booking_id=row["booking_id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            offset_minutes=row["offset_minutes"],
            due_at=datetime.fromisoformat(row["due_at"]),
            language=row["language"],
            status=row["status"],
            attempts=row["attempts"],
        )


@dataclass(frozen=True)
class NoticeRow:
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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> NoticeRow:
        return cls(
            id=row["id"],
            booking_id=row["booking_id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            kind=row["kind"],
            start=datetime.fromisoformat(row["start"]),
            previous_start=datetime.fromisoformat(row["previous_start"]),
            language=row["language"],
            status=row["status"],
            attempts=row["attempts"],
        )


@dataclass(frozen=True)
class WaitlistRow:
    """A customer waiting for a time to free up on `day` (the branch's calendar day, which
    ends at `ends_at`, UTC) for one service at one branch."""

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

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> WaitlistRow:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            chat_id=row["chat_id"],
            service_id=row["service_id"],
            service_name=row["service_name"] or "",
            location_id=row["location_id"],
            location_name=row["location_name"] or "",
            timezone=row["timezone"],
            day=date.fromisoformat(row["day"]),
            ends_at=datetime.fromisoformat(row["ends_at"]),
            language=row["language"],
            status=row["status"],
            joined_at=datetime.fromisoformat(row["joined_at"]),
            next_check_at=_parsed(row["next_check_at"]),
            checked_at=_parsed(row["checked_at"]),
            offered_at=_parsed(row["offered_at"]),
            told_at=_parsed(row["told_at"]),
            attempts=row["attempts"],
        )


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
