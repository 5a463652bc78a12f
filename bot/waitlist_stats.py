"""The waiting list in /stats: how many customers joined, were told of a freed time, and booked.

Counted from the anonymous funnel table (events without a user, chat or attempt id), like the
other statistics: the counts survive a customer's /forget and the deletion of entries whose
day has passed, and say nothing about who waited.
"""

from __future__ import annotations

from datetime import datetime

from bot.booking.screens import Msg
from bot.storage import Storage

EVENTS = ("waitlist_joined", "waitlist_told", "waitlist_booked")


def waitlist_lines(storage: Storage, since: datetime) -> list[Msg]:
    counts = storage.funnel_counts(since, EVENTS)
    return [
        Msg(
            "Waiting list: joined {joined} · told of a free time {told} · booked {booked}",
            joined=counts["waitlist_joined"],
            told=counts["waitlist_told"],
            booked=counts["waitlist_booked"],
        )
    ]
