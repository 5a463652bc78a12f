"""What happened to a booking, as the conversation tells the rest of the bot.

Handlers emit a BookingChange (`ctx.emit`) when an appointment is made, moved or cancelled,
through the bot or, noticed on a refresh, at the business. The engine applies each change to
the reminders inside the event's own transaction, then hands it to listeners (the staff chat's
notices) once it is committed. Telegram-free, so the terminal demo and tests see the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.storage import BookingRow


class ChangeKind(StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class BookingChange:
    """`contact_name` is for the business's own staff chat only: it is never logged.
    `by_customer` is False for a change noticed on a refresh (made at the business or on the
    web), which the business already knows about."""

    kind: ChangeKind
    appointment_id: str
    start: datetime
    service_name: str
    location_name: str
    timezone: str
    previous_start: datetime | None = None
    contact_name: str | None = None
    by_customer: bool = True


def noticed_change(row: BookingRow, status: str, start: datetime) -> BookingChange | None:
    """A change made at the business, seen on a refresh: reminders must follow it."""
    if not replace(row, status=status).active:
        if not row.active:
            return None
        return change_of(row, ChangeKind.CANCELLED, row.start, by_customer=False)
    if start == row.start or not row.active:
        return None
    return change_of(row, ChangeKind.MOVED, start, by_customer=False)


def change_of(
    row: BookingRow,
    kind: ChangeKind,
    start: datetime,
    *,
    contact_name: str | None = None,
    by_customer: bool = True,
) -> BookingChange:
    return BookingChange(
        kind=kind,
        appointment_id=row.appointment_id,
        start=start,
        service_name=row.service_name,
        location_name=row.location_name,
        timezone=row.timezone,
        previous_start=row.start if start != row.start else None,
        contact_name=contact_name,
        by_customer=by_customer,
    )
