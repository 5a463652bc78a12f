"""A freed time's notice tapped while a booking is in progress never loses it silently: the
same service at the same branch goes on inside that booking; anything else asks first (No:
back exactly where the customer was; Yes: dropped with a word, and the freed day's times)."""

from __future__ import annotations

from datetime import timedelta

from bot.chat.detours import DROPPED, WELCOME_BACK
from bot.core.cadence import WAIT_CADENCE
from bot.core.payload import Action, waitlist_data
from bot.core.state import Step
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import TIME_RE, Chat
from tests.waitlist.steps import (
    OTHER_SERVICE_INDEX,
    SATURDAY,
    entries,
    fill_day,
    freed_notices,
    join,
    open_calendar,
    state_of,
    tap_data,
    tap_day,
)


async def _told(ops: OpsBot, sandbox: SandboxServer, chat: Chat, freed_id: str) -> None:
    sandbox.business_cancel(freed_id)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    await ops.watch()
    assert len(freed_notices(ops, chat)) == 1


async def test_another_booking_in_progress_is_kept_unless_the_customer_says_drop_it(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    # Meanwhile: a Dental cleaning at the same branch, a time held, the name given.
    await open_calendar(chat, OTHER_SERVICE_INDEX)
    await chat.pick_day(1)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.send("Ana García")
    held = state_of(ops, chat)
    assert held.nav.step == Step.EMAIL and held.draft.hold is not None
    await _told(ops, sandbox, chat, walk_ins[2].id)

    # The notice's button asks first.
    await chat.tap_action(Action.WAITLIST_OPEN, message=freed_notices(ops, chat)[0])
    assert state_of(ops, chat).nav.step == Step.WAITLIST_SWITCH
    assert len(sandbox.store.active_holds()) == 1
    # No: back to the email step, the time still held, the name still there.
    await chat.tap_action(Action.BACK)
    state = state_of(ops, chat)
    assert (state.nav.step, state.draft.name, state.draft.hold) == (
        Step.EMAIL,
        "Ana García",
        held.draft.hold,
    )
    assert chat.says(WELCOME_BACK)
    assert len(sandbox.store.active_holds()) == 1

    # The button again (a client still showing it; the bot retired it), and Yes this time:
    # the Dental cleaning is dropped with a word, its time released, Saturday's times shown.
    [entry] = entries(ops, chat)
    notice = freed_notices(ops, chat)[0]
    await tap_data(chat, notice, waitlist_data(Action.WAITLIST_OPEN, entry.id))
    assert state_of(ops, chat).nav.step == Step.WAITLIST_SWITCH
    await chat.tap_action(Action.YES)
    state = state_of(ops, chat)
    assert (state.nav.step, state.draft.service_id, state.draft.day) == (
        Step.TIME,
        "svc_consultation",
        SATURDAY,
    )
    assert state.draft.slots == [walk_ins[2].start]
    assert state.draft.name is None  # a new booking: nothing of the dropped one carried over
    assert chat.says(DROPPED)
    assert sandbox.store.active_holds() == []


async def test_the_same_service_and_branch_in_progress_goes_on_with_the_freed_day(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)  # and, on the calendar still, another day's time for now
    await chat.pick_day(1)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.give_details("Ana García", "ana@example.com")
    before = state_of(ops, chat)
    assert before.nav.step == Step.SUMMARY and before.draft.hold is not None
    await chat.command("help")  # on a detour when the notice comes
    await _told(ops, sandbox, chat, walk_ins[5].id)

    await chat.tap_action(Action.WAITLIST_OPEN, message=freed_notices(ops, chat)[0])
    state = state_of(ops, chat)
    assert (state.nav.step, state.draft.day, state.draft.slots) == (
        Step.TIME,
        SATURDAY,
        [walk_ins[5].start],
    )
    assert (state.draft.attempt, state.draft.name, state.draft.hold) == (
        before.draft.attempt,
        "Ana García",
        before.draft.hold,
    )
    assert state.nav.resume is None  # off the detour, into the booking
    # Back leads to the calendar, then to the summary of the time still held.
    await chat.tap_action(Action.BACK)
    await chat.tap_action(Action.BACK)
    assert state_of(ops, chat).nav.step == Step.SUMMARY
    await chat.tap_action(Action.CHANGE)
    await chat.tap_action(Action.CHANGE_TIME)
    # Picking Saturday's freed time takes it and gives the old one back: straight to the
    # summary, name and email kept; confirmed, the waiting-list entry is done.
    await tap_day(chat, SATURDAY)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    assert state_of(ops, chat).nav.step == Step.SUMMARY
    [hold] = sandbox.store.active_holds()
    assert hold.start == walk_ins[5].start
    await chat.tap_action(Action.CONFIRM)
    [booking] = ops.db.bookings_for_user(chat.chat_id)
    assert booking.start == walk_ins[5].start
    assert [e.status for e in entries(ops, chat)] == ["booked"]
    assert sandbox.clock.now() - MONDAY < timedelta(hours=1)


async def test_the_freed_time_picked_at_the_email_step_asks_for_the_email_next(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """Issue 18, item 5: the name was asked again, and the email typed then became the name."""
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    await chat.pick_day(1)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.send("Ana García")
    assert state_of(ops, chat).nav.step == Step.EMAIL
    await _told(ops, sandbox, chat, walk_ins[5].id)

    await chat.tap_action(Action.WAITLIST_OPEN, message=freed_notices(ops, chat)[0])
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    state = state_of(ops, chat)
    assert (
        state.nav.step,
        state.draft.name,
        state.draft.hold.start if state.draft.hold else None,
    ) == (
        Step.EMAIL,
        "Ana García",
        walk_ins[5].start,
    )
    await chat.send("ana@example.com")
    state = state_of(ops, chat)
    assert (state.nav.step, state.draft.name, state.draft.email) == (
        Step.SUMMARY,
        "Ana García",
        "ana@example.com",
    )


async def test_the_notice_keeps_its_button_after_no_carry_on(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """Issue 18, item 5: after "No, carry on" the notice had lost its button, and the entry,
    already told, would not tell again: the freed time was out of reach."""
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    await open_calendar(chat, OTHER_SERVICE_INDEX)
    await chat.pick_day(1)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await _told(ops, sandbox, chat, walk_ins[2].id)
    [notice] = freed_notices(ops, chat)
    await chat.tap_action(Action.WAITLIST_OPEN, message=notice)
    assert state_of(ops, chat).nav.step == Step.WAITLIST_SWITCH
    await chat.tap_action(Action.BACK)  # No, carry on
    [kept] = freed_notices(ops, chat)
    assert (kept.text, kept.buttons) == (notice.text, notice.buttons)
    await chat.tap_action(Action.WAITLIST_OPEN, message=kept)  # later: the way is still there
    await chat.tap_action(Action.YES)
    assert state_of(ops, chat).draft.slots == [walk_ins[2].start]
