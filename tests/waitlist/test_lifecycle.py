"""A waiting-list entry's life through the real bot: it survives restarts (stopped while
waiting, while chosen but not told yet, after being told: nothing lost, nothing twice), ends
by itself after its day, can be left from My bookings or the day's screen, is counted in
/stats and removed by /forget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.cadence import WAIT_CADENCE
from bot.core.payload import Action, waitlist_data
from bot.core.screens import DateValue, Msg
from bot.core.state import Step
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat
from tests.waitlist.steps import (
    SATURDAY,
    TUESDAY,
    availability_calls,
    entries,
    fill_day,
    freed_notices,
    join,
    open_calendar,
    state_of,
    tap_data,
    tap_day,
)

OWNER = 4242


async def test_restarts_while_waiting_and_before_telling_lose_nothing_and_repeat_nothing(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    [joined] = entries(ops, chat)
    await ops.restart()  # stopped while waiting: the entry and its schedule are rows
    assert entries(ops, chat) == [joined]
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every - timedelta(seconds=1))
    assert (await ops.watch()).looked == 0  # not due yet: the schedule survived
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    assert (await ops.watch()).looked == 1

    # A time frees up; the look chooses the customer, and the bot stops before telling.
    sandbox.business_cancel(walk_ins[0].id)
    sandbox.clock.set(MONDAY + 2 * WAIT_CADENCE.near_every)
    assert (await ops.waitlist.check_due()).offered == 1
    assert [e.status for e in entries(ops, chat)] == ["due"]
    assert freed_notices(ops, chat) == []
    await ops.restart()  # the start-up tells what was chosen
    await ops.told_at_start()
    assert len(freed_notices(ops, chat)) == 1
    # Restarted again after telling, and looked at again: nothing twice.
    await ops.restart()
    await ops.told_at_start()
    sandbox.clock.set(MONDAY + 3 * WAIT_CADENCE.near_every)
    await ops.watch()
    assert len(freed_notices(ops, chat)) == 1
    assert [e.status for e in entries(ops, chat)] == ["told"]


async def test_an_entry_ends_after_its_day_and_costs_nothing_more(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    fill_day(sandbox, TUESDAY)
    await join(chat, TUESDAY)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    assert (await ops.watch()).looked == 1
    end_of_tuesday = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # midnight in Madrid
    sandbox.clock.set(end_of_tuesday - timedelta(seconds=1))
    assert (await ops.watch()).ended == 0
    sandbox.clock.set(end_of_tuesday)
    calls = availability_calls(sandbox)
    result = await ops.watch()
    assert (result.ended, result.looked) == (1, 0)
    assert entries(ops, chat) == []
    for hours in range(1, 4):
        sandbox.clock.set(end_of_tuesday + timedelta(hours=hours))
        await ops.watch()
    assert availability_calls(sandbox) == calls
    assert freed_notices(ops, chat) == []
    await chat.command("mybookings")
    assert chat.actions(Action.WAITLIST) == []


async def test_a_customer_sees_and_leaves_their_waiting_list(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = "it"
    fill_day(sandbox, SATURDAY)
    fill_day(sandbox, TUESDAY)
    await join(chat, SATURDAY)
    await tap_day(chat, TUESDAY)  # still on the calendar: a second day
    await chat.tap_action(Action.WAITLIST_JOIN)
    assert len(entries(ops, chat)) == 2

    # The full day's screen knows: leave from there.
    await tap_day(chat, TUESDAY)
    assert chat.actions(Action.WAITLIST_JOIN) == []
    await chat.tap_action(Action.WAITLIST_LEAVE)
    assert chat.says(
        Msg("You've left the waiting list for {date}.", date=DateValue(TUESDAY, "full"))
    )
    assert [e.day for e in entries(ops, chat)] == [SATURDAY]
    assert state_of(ops, chat).nav.step == Step.DAY

    # My bookings shows the list; each entry's button leaves it.
    await chat.command("mybookings")
    await chat.tap_action(Action.WAITLIST)
    assert state_of(ops, chat).nav.step == Step.WAITLIST
    [leave] = chat.actions(Action.WAITLIST_LEAVE)
    await tap_data(chat, chat.keyboard, leave)
    assert entries(ops, chat) == []
    assert chat.says(Msg("You're not waiting for any day."))
    # Back: My bookings, and the booking in progress still waits behind it.
    await chat.tap_action(Action.BACK)
    assert state_of(ops, chat).nav.step == Step.BOOKINGS
    assert state_of(ops, chat).nav.resume == Step.DAY
    # Nothing left to watch: no call.
    calls = availability_calls(sandbox)
    sandbox.clock.set(MONDAY + timedelta(hours=1))
    assert (await ops.watch()).looked == 0
    assert availability_calls(sandbox) == calls


async def test_someone_elses_entry_is_answered_as_one_that_does_not_exist(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """Entry ids are sequential: a forged tap on someone else's entry was refused ("That
    button isn't valid.") while an id that does not exist read "ended", which told which ids
    exist (how many customers wait). Both answer alike now, and nothing changes."""
    fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    [entry] = entries(ops, chat)
    answers = []
    for entry_id in (entry.id, entry.id + 1000):  # someone else's, then no one's
        other = Chat(ops, 2002)
        await other.command("start")
        data = waitlist_data(Action.WAITLIST_LEAVE, entry_id)
        update = await tap_data(other, other.keyboard, data)
        answer = dict(ops.fake.answer_to(update) or {})
        answer.pop("callback_query_id", None)
        latest = ops.fake.messages(2002)[-1]
        answers.append((answer, latest.text, state_of(ops, other).nav.step))
    assert answers[0] == answers[1]
    assert entries(ops, chat) == [entry]


@pytest.mark.parametrize("settings_overrides", [{"ADMIN_CHAT_ID": OWNER}])
async def test_stats_count_the_waiting_list_and_forget_removes_it(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    other = Chat(ops, 2002)
    await join(chat, SATURDAY)
    await join(other, SATURDAY)
    sandbox.business_cancel(walk_ins[0].id)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    await ops.watch()
    await chat.tap_action(Action.WAITLIST_OPEN, message=freed_notices(ops, chat)[0])
    await chat.tap_index(0)  # the freed time
    await chat.give_details("Ana", "ana@example.com")
    await chat.tap_index(0)  # Confirm

    owner = Chat(ops, chat_id=OWNER)
    await owner.command("stats")
    assert owner.latest is not None and owner.latest.text is not None
    line = localizer("en").render(
        Msg(
            "Waiting list: joined {joined} · told of a free time {told} · booked {booked}",
            joined=2,
            told=1,
            booked=1,
        ),
        "html",
    )
    assert line in owner.latest.text.splitlines()

    # /forget: the waiting customer's entry goes; the anonymous counts stay.
    assert ops.rows_of(other.chat_id)["waitlist"] == 1
    await other.command("forget")
    await other.tap_action(Action.YES)
    assert ops.rows_of(other.chat_id)["waitlist"] == 0
    await owner.command("stats")
    assert line in (owner.latest.text or "").splitlines()


async def test_no_waiting_list_for_closed_days_nor_while_rescheduling(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    fill_day(sandbox, SATURDAY)
    await open_calendar(chat)
    sunday = SATURDAY + timedelta(days=1)
    update = await tap_day(chat, sunday)
    answer = ops.fake.answer_to(update)
    assert answer is not None
    assert answer.get("text") == localizer("en").render(
        Msg("The location is closed on that day."), "plain"
    )
    assert state_of(ops, chat).nav.step == Step.DAY

    # Rescheduling: a full day is only a toast (the list would lead to a new booking).
    await chat.book(service=1, day=0)
    await chat.command("mybookings")
    await chat.tap_index(0)
    await chat.tap_action(Action.RESCHEDULE)
    update = await tap_day(chat, SATURDAY)
    answer = ops.fake.answer_to(update)
    assert answer is not None and answer.get("text") == localizer("en").render(
        Msg("No times left on that day."), "plain"
    )
    assert state_of(ops, chat).nav.step == Step.DAY
