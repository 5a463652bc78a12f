"""Async client of the Zimun booking API (see shared/zimun-api.md for the contract)."""

from bot.core.errors import (
    ApiUnavailable,
    AppointmentNotActive,
    AuthError,
    BadRequest,
    Conflict,
    HoldAlreadyConfirmed,
    HoldExpired,
    InvalidResponse,
    LocationRequired,
    NotBookable,
    NotFound,
    RateLimited,
    SlotUnavailable,
    ZimunError,
)
from bot.core.models import Appointment, Availability, Day, Hold, Location, Service, Slot
from bot.zimun.client import ZimunClient
from bot.zimun.stats import ZimunStats

__all__ = [
    "ApiUnavailable",
    "Appointment",
    "AppointmentNotActive",
    "AuthError",
    "Availability",
    "BadRequest",
    "Conflict",
    "Day",
    "Hold",
    "HoldAlreadyConfirmed",
    "HoldExpired",
    "InvalidResponse",
    "Location",
    "LocationRequired",
    "NotBookable",
    "NotFound",
    "RateLimited",
    "Service",
    "Slot",
    "SlotUnavailable",
    "ZimunClient",
    "ZimunError",
    "ZimunStats",
]
