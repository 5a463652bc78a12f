"""The follow-up of a booking after the chat, as one bundle the composition root builds.

What the follow-up decides and does (which reminder is due, what changed at the business, who
on the waiting list is told, what is old enough to delete) lives here and in the modules it
bundles, free of Telegram: an adapter only runs these passes on its schedule and hands them
`send`, the one door to the customer's chat, so another adapter or process can run the same
follow-up. A restart loses nothing: every pass reads what is due from SQLite, and `catch_up`
sends at start-up what fell due while the bot was down.

Customer notices of changes made at the business are also sent as soon as the ledger commits
one (`on_change`, a ledger listener), so the reconcile scan's period adds no delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.business import Business
from bot.core.changes import BookingChange
from bot.core.rules import BookingRules
from bot.followup.ledger import Ledger
from bot.followup.messages import House
from bot.followup.notices import NoticeService
from bot.followup.outbox import Send, Tally
from bot.followup.reconcile import CheckResult, Reconciler
from bot.followup.reminders import ReminderService, ScanResult
from bot.followup.waitlist_watch import LookResult, WaitlistWatch
from bot.store import retention
from bot.zimun.client import ZimunClient

log = logging.getLogger("bot.followup")


@dataclass
class FollowUp:
    """Reminders, change notices, the reconcile scan and the waiting list's watch."""

    reminders: ReminderService
    reconciler: Reconciler
    notices: NoticeService
    watch: WaitlistWatch
    now: Callable[[], datetime]
    _flushes: set[asyncio.Task[Tally]] = field(default_factory=set)
    _send: Send | None = None

    @property
    def ledger(self) -> Ledger:
        return self.reminders.ledger

    # -- the passes an adapter schedules --

    async def remind(self, send: Send) -> ScanResult:
        """One reminder scan."""
        return await self.reminders.scan(send)

    async def reconcile(self, send: Send) -> CheckResult:
        """One reconcile scan, then the notices it queued."""
        result = await self.reconciler.check_due()
        await self.notices.flush(send)
        return result

    async def watch_and_tell(self, send: Send) -> LookResult:
        """One look at the waiting list's due pairs, then the telling."""
        result = await self.watch.check_due()
        await self.watch.flush(send)
        return result

    async def housekeeping(self) -> int:
        """Delete what the bot no longer needs (bot.store.retention); returns rows deleted."""
        now = self.now()
        deleted = await self.ledger.storage.prune(
            appointments_before=retention.appointments_before(now),
            idle_before=retention.idle_before(now),
        )
        if deleted:
            log.info("housekeeping: %d old rows deleted", deleted)
        return deleted

    async def catch_up(self, send: Send, *, housekeeping: bool, reminders: bool) -> None:
        """At start-up: what a stop or a crash left unsent (notices, the waiting list's news),
        then housekeeping and a reminder scan when they are on. Each part fails alone."""
        await _logged("sending pending notices", self.notices.flush(send))
        if housekeeping:
            try:
                await self.housekeeping()
            except Exception:
                log.exception("housekeeping failed; the next run tries again")
        if reminders:
            await _logged("reminder scan", self.remind(send))
        await _logged("telling the waiting list", self.watch.flush(send))

    # -- notices as soon as a change at the business is committed --

    def attach(self, send: Send) -> None:
        """Listen to the ledger: each change made at the business is told at once."""
        self._send = send
        self.ledger.listeners.append(self.on_change)

    def detach(self) -> None:
        if self.on_change in self.ledger.listeners:
            self.ledger.listeners.remove(self.on_change)
        self._send = None

    def on_change(self, change: BookingChange) -> None:
        """A ledger listener: tell the customer of a change made at the business now rather
        than at the next scan (their own changes they know of)."""
        if change.by_customer or self._send is None:
            return
        task = asyncio.get_running_loop().create_task(self.notices.flush(self._send))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def idle(self) -> None:
        """Wait until the notices on their way are sent."""
        while self._flushes:
            await asyncio.gather(*list(self._flushes), return_exceptions=True)


async def _logged(what: str, step: Awaitable[object]) -> None:
    try:
        await step
    except Exception:
        log.exception("%s failed; the next scan tries again", what)


def build_followup(
    api: ZimunClient,
    ledger: Ledger,
    *,
    rules: BookingRules,
    business: Business,
    now: Callable[[], datetime],
    reconcile_calls_per_minute: int,
    waitlist_calls_per_minute: int,
) -> FollowUp:
    """`rules` and `business`: the operator's, which every message sent on its own follows
    (its languages, the changes it may offer, whom to call)."""
    house = House(rules, business)
    return FollowUp(
        reminders=ReminderService(api, ledger, now=now, house=house),
        reconciler=Reconciler(api, ledger, now=now, calls_per_minute=reconcile_calls_per_minute),
        notices=NoticeService(ledger.storage, now=now, house=house),
        watch=WaitlistWatch(
            api,
            ledger.storage,
            rules=rules,
            now=now,
            calls_per_minute=waitlist_calls_per_minute,
            house=house,
        ),
        now=now,
    )
