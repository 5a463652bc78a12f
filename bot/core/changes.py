"""What happened to a booking, as the ledger tells the rest of the bot.

The ledger (bot.followup.ledger) produces one BookingChange for each booking made, moved or
cancelled, through the bot or, noticed when comparing with Zimun, at the business, and hands it
to listeners (the staff chat's notices, the customer notices' sender) once the change is
committed. Telegram-free, so the terminal demo and tests see the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ChangeKind(StrEnum):
    BOOKED = "booked"
    MOVED = "moved"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class BookingChange:
    """`contact_name` is for the business's own staff chat only: it is never logged.
    `by_customer` is False for a change made at the business (front desk, web page, Zimun's
    dashboard) and noticed by comparing with Zimun; the customer is told of those."""

    kind: ChangeKind
    appointment_id: str
    start: datetime
    service_name: str
    location_name: str
    timezone: str
    previous_start: datetime | None = None
    contact_name: str | None = None
    by_customer: bool = True
    booking_id: int | None = None  # the bot's row
    service_id: str = ""
    location_id: str = ""
    user_id: int | None = None  # the customer's Telegram account (staff chat: bursts); not shown
