"""Noticing changes made at the business: upcoming bookings compared with Zimun on a schedule.

A booking the business cancels or moves (front desk, web page, Zimun's dashboard) changes in
Zimun only. `Reconciler.check_due` asks Zimun about each upcoming booking whose next check is
due (GET /appointments/{id}; the cadence and its cost are in bot.core.cadence) and hands the
answer to the ledger as a `Seen` entry: the ledger records a change, re-plans or drops the
reminders, queues the customer's notice and tells the staff chat, in one transaction.

Cost is bounded twice: by the cadence (nothing for past or cancelled bookings, an hour apart
for far ones) and by a cap on calls per minute of real time (the budgeted scan,
bot.followup.scan): past the cap, the checks go in turns across customers (each customer's
most overdue first, then each one's second...: storage.bookings_to_check), so one customer's
many bookings cannot starve the others' change notices, and the rest wait for the next scan.
A rate-limited or unanswering Zimun ends the scan early; a booking Zimun refuses to show is
tried again next time round.

`check_appointment` is the entry point for a push: a webhook receiver (Zimun documents none
yet) would call it with the appointment id of a change it was told of, after checking the
request's signature. Even then the payload is only a hint: the answer comes from GET, never
from the request, so a forged call can cost at most one GET within the same budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.config.clock import utc_now
from bot.core.changes import BookingChange
from bot.core.errors import ApiUnavailable, RateLimited, ZimunError
from bot.core.records import BookingRow
from bot.followup.ledger import Ledger
from bot.followup.scan import CallBudget, budgeted

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient

log = logging.getLogger("bot.followup.reconcile")

DEFAULT_CALLS_PER_MINUTE = 60


@dataclass
class CheckResult:
    checked: int = 0
    changed: int = 0
    held: int = 0  # left alone: the customer is changing it through the bot right now
    failed: int = 0  # Zimun refused to show it: tried again next time round
    stopped: bool = False  # Zimun rate-limited us or did not answer: the rest waits


class Reconciler:
    """Compares due bookings with Zimun; one scan at a time."""

    def __init__(
        self,
        api: ZimunClient,
        ledger: Ledger,
        *,
        now: Callable[[], datetime] = utc_now,
        calls_per_minute: int = DEFAULT_CALLS_PER_MINUTE,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.storage = ledger.storage
        self.now = now
        self.budget = CallBudget(calls_per_minute, monotonic)
        self._lock = asyncio.Lock()

    async def check_due(self) -> CheckResult:
        """Check the bookings that are due, within the budget, in turns across customers."""
        await self.ledger.recall()  # the customers' changes in flight at the last stop
        async with self._lock:
            result = CheckResult()
            await budgeted(
                "reconcile",
                self.budget,
                lambda allowed: self.storage.bookings_to_check(self.now(), allowed),
                lambda row: self._check(row, result),
                result,
            )
            if result.checked or result.failed or result.stopped:
                log.info(
                    "reconcile: %d checked, %d changed at the business, %d failed",
                    result.checked,
                    result.changed,
                    result.failed,
                )
            return result

    async def check_appointment(self, appointment_id: str) -> list[BookingChange]:
        """Check one appointment now (a webhook's hint); over budget, it is only marked due,
        so the next scan checks it. Appointments the bot did not make are ignored."""
        await self.ledger.recall()
        row = await self.storage.booking_by_appointment(appointment_id)
        if row is None or not row.active or row.start <= self.now():
            return []
        if self.budget.available() == 0:
            await self.storage.update_booking(row.id, next_check_at=self.now())
            return []
        async with self._lock:
            return await self._check(row, CheckResult())

    async def _check(self, row: BookingRow, result: CheckResult) -> list[BookingChange]:
        if self.ledger.held(row.id):
            result.held += 1
            return []
        at = self.now()
        self.budget.spend()
        try:
            seen = await self.ledger.look(self.api, row, at)
        except (RateLimited, ApiUnavailable):
            raise
        except ZimunError as exc:
            log.warning("booking %s: Zimun refused to show it (%s)", row.id, exc)
            await self.ledger.postpone(row.id, at)
            result.failed += 1
            return []
        changes = await self.ledger.commit([seen], now=at)
        result.checked += 1
        result.changed += len(changes)
        return changes
