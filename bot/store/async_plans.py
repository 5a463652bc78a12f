"""The asynchronous stores' methods: each the plan of the same name (bot.store.plans), run by
the store's `_run_async`. Shared by the SQLite adapter and the PostgreSQL store, so the two
have the same methods by construction (the contract: bot.store.contract)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from bot.store.local_coord import DELIVERY_MEMORY, Pruning
from bot.store.plans import Plan, Plans, is_atomic

P = ParamSpec("P")
T = TypeVar("T")


def _async(
    plan: Callable[Concatenate[Plans, P], Plan[T]],
) -> Callable[Concatenate[AsyncPlans, P], Coroutine[Any, Any, T]]:
    """The store's coroutine of a plan: run it, in one transaction if it is atomic."""
    atomic = is_atomic(plan)

    @functools.wraps(plan)
    async def method(self: AsyncPlans, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._run_async(plan(self._plans, *args, **kwargs), atomic)

    return method


class AsyncPlans:
    """Every operation of the contract as a coroutine; a subclass runs the plans."""

    _plans: Plans

    async def _run_async(self, plan: Plan[T], atomic: bool) -> T:
        raise NotImplementedError

    get_language = _async(Plans.get_language)
    set_language = _async(Plans.set_language)
    get_prefs = _async(Plans.get_prefs)
    update_prefs = _async(Plans.update_prefs)
    add_booking = _async(Plans.add_booking)
    update_booking = _async(Plans.update_booking)
    bookings_to_check = _async(Plans.bookings_to_check)
    upcoming_bookings = _async(Plans.upcoming_bookings)
    upcoming_count = _async(Plans.upcoming_count)
    booked_since = _async(Plans.booked_since)
    get_booking = _async(Plans.get_booking)
    bookings_for_user = _async(Plans.bookings_for_user)
    booking_by_appointment = _async(Plans.booking_by_appointment)
    stored_booking = _async(Plans.stored_booking)
    apply = _async(Plans.apply)
    set_reminders = _async(Plans.set_reminders)
    drop_pending_reminders = _async(Plans.drop_pending_reminders)
    due_reminders = _async(Plans.due_reminders)
    reminders_for_booking = _async(Plans.reminders_for_booking)
    claim = _async(Plans.claim)
    unclaim = _async(Plans.unclaim)
    claim_done = _async(Plans.claim_done)
    skip = _async(Plans.skip)
    claim_waitlist = _async(Plans.claim_waitlist)
    add_notice = _async(Plans.add_notice)
    pending_notice = _async(Plans.pending_notice)
    skip_pending_notices = _async(Plans.skip_pending_notices)
    pending_notices = _async(Plans.pending_notices)
    notices_for_booking = _async(Plans.notices_for_booking)
    join_waitlist = _async(Plans.join_waitlist)
    waitlist_entry = _async(Plans.waitlist_entry)
    waitlist_entry_for = _async(Plans.waitlist_entry_for)
    waitlist_for_user = _async(Plans.waitlist_for_user)
    leave_waitlist = _async(Plans.leave_waitlist)
    end_waitlist = _async(Plans.end_waitlist)
    waitlist_pairs_due = _async(Plans.waitlist_pairs_due)
    waiting_for_pair = _async(Plans.waiting_for_pair)
    open_offers = _async(Plans.open_offers)
    waitlist_day_full = _async(Plans.waitlist_day_full)
    offer_waitlist = _async(Plans.offer_waitlist)
    schedule_waitlist = _async(Plans.schedule_waitlist)
    due_waitlist = _async(Plans.due_waitlist)
    waitlist_booked = _async(Plans.waitlist_booked)
    record_funnel = _async(Plans.record_funnel)
    funnel_since = _async(Plans.funnel_since)
    load_conversation = _async(Plans.load_conversation)
    conversation_and_language = _async(Plans.conversation_and_language)
    save_with_funnel = _async(Plans.save_with_funnel)
    save_conversation = _async(Plans.save_conversation)
    pending_conversations = _async(Plans.pending_conversations)
    forget_user = _async(Plans.forget_user)
    conversation_count = _async(Plans.conversation_count)
    prune = _async(Plans.prune)

    # -- several processes, one bot (bot.store.contract) --

    forget_deliveries = _async(Plans.forget_deliveries)
    delivered = _async(Plans.delivered)
    poll_offset = _async(Plans.poll_offset)
    set_poll_offset = _async(Plans.set_poll_offset)

    @property
    def business(self) -> str:
        raise NotImplementedError

    @property
    def _pruning(self) -> Pruning:
        raise NotImplementedError

    async def first_delivery(self, update_id: int) -> bool:
        """The plan's answer; and once an hour per business, deliveries older than a day are
        forgotten (Telegram gives up on an update well within a day)."""
        first = await self._run_async(self._plans.first_delivery(update_id), False)
        now = self._plans._clock()
        if self._pruning.due(self.business, now):
            await self.forget_deliveries(now - DELIVERY_MEMORY)
        return first
