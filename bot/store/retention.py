"""How long the bot keeps what it stores; /privacy tells customers these same numbers.

Bookings are kept a while after the appointment so "My bookings" can show recent past ones and
the statistics have something to count; a draft abandoned half-way (it may hold a name and an
email) is dropped after a day; the language and a remembered email stay until /forget.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BOOKINGS_KEPT_DAYS = 90  # after the appointment
IDLE_CONVERSATION_HOURS = 24


def appointments_before(now: datetime) -> datetime:
    return now - timedelta(days=BOOKINGS_KEPT_DAYS)


def idle_before(wall_now: datetime) -> datetime:
    return wall_now - timedelta(hours=IDLE_CONVERSATION_HOURS)
