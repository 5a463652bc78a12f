"""The follow-up of a booking after the chat, as one bundle the composition root builds.

The Telegram adapter only schedules these and sends what they produce; what they decide (which
reminder is due, what changed at the business, who on the waiting list is told) lives here,
free of Telegram, so another adapter or process can run the same follow-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.business import Business
from bot.core.rules import BookingRules
from bot.followup.ledger import Ledger
from bot.followup.messages import House
from bot.followup.notices import NoticeService
from bot.followup.reconcile import Reconciler
from bot.followup.reminders import ReminderService
from bot.followup.waitlist_watch import WaitlistWatch
from bot.zimun.client import ZimunClient


@dataclass(frozen=True)
class FollowUp:
    """Reminders, change notices, the reconcile scan and the waiting list's watch."""

    reminders: ReminderService
    reconciler: Reconciler
    notices: NoticeService
    watch: WaitlistWatch


def build_followup(
    api: ZimunClient,
    ledger: Ledger,
    *,
    rules: BookingRules,
    business: Business | None = None,
    now: Callable[[], datetime],
    default_language: str,
    reconcile_calls_per_minute: int,
    waitlist_calls_per_minute: int,
) -> FollowUp:
    house = House(rules, business or Business(default_language=default_language))
    return FollowUp(
        reminders=ReminderService(
            api, ledger, now=now, default_language=default_language, house=house
        ),
        reconciler=Reconciler(api, ledger, now=now, calls_per_minute=reconcile_calls_per_minute),
        notices=NoticeService(
            ledger.storage, now=now, default_language=default_language, house=house
        ),
        watch=WaitlistWatch(
            api,
            ledger.storage,
            rules=rules,
            now=now,
            calls_per_minute=waitlist_calls_per_minute,
            default_language=house.business.default_language,
            offered=house.business.languages,
        ),
    )
