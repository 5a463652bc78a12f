"""The day picker at the edges of time: a month with nothing left, the way on, the earliest
free time in one tap, and one availability answer serving the whole calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.payload import Action
from bot.core.screens import MonthValue
from bot.core.state import Step
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.driver import Chat
from tests.booking.steps import to_calendar, to_times
from tests.booking.test_flows import state_of

# Monday 30 November 2026, 23:30 in Madrid: the month's last evening, every branch closed.
LAST_EVENING = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)


def shown_month(chat: Chat) -> tuple[int, int]:
    for button in chat.buttons:
        if isinstance(button.label, MonthValue):  # the title between ‹ and ›
            return button.label.year, button.label.month
    raise AssertionError(f"no month title on screen: {chat.describe()}")


def availability_calls(sandbox: SandboxServer) -> int:
    return sandbox.stats.count("GET", "/availability")


async def test_on_a_months_last_evening_the_calendar_opens_on_the_next_month(
    chat: Chat, sandbox: SandboxServer
) -> None:
    sandbox.clock.set(LAST_EVENING)
    await to_calendar(chat)
    assert shown_month(chat) == (2026, 12)
    assert chat.actions(Action.DAY)  # something to tap at once
    assert not chat.shows("No times left in {month}.")
    await chat.tap_action(Action.MONTH_PREV)
    assert shown_month(chat) == (2026, 11)
    assert not chat.actions(Action.DAY)
    assert chat.shows("No times left in {month}.")
    [onward] = chat.actions(Action.MONTH_ONWARD)
    assert onward.label.values["month"] == MonthValue(2026, 12)
    await chat.tap_data(onward.data)
    assert shown_month(chat) == (2026, 12)
    await chat.tap_action(Action.DAY)
    assert chat.shows("Available times on {date}:")


async def test_paging_months_and_picking_a_day_cost_one_availability_call(
    chat: Chat, sandbox: SandboxServer
) -> None:
    sandbox.clock.set(LAST_EVENING)
    await to_calendar(chat)
    assert availability_calls(sandbox) == 1
    await chat.tap_action(Action.MONTH_NEXT)
    await chat.tap_action(Action.MONTH_NEXT)
    await chat.tap_action(Action.MONTH_PREV)
    await chat.tap_action(Action.DAY)
    assert chat.shows("Available times on {date}:")
    assert availability_calls(sandbox) == 1
    sandbox.clock.advance(60)  # no longer fresh: the next look asks again
    await chat.tap("« Back")
    await chat.tap_action(Action.MONTH_NEXT)
    assert availability_calls(sandbox) == 2


async def test_a_second_customer_shares_the_answer_but_not_the_time_the_first_holds(
    chat: Chat, engine, sandbox: SandboxServer, storage: Storage
) -> None:
    from tests.booking.conftest import customer

    await to_times(chat)
    await chat.tap_action(Action.TIME, 0)
    held = state_of(storage).draft.hold
    assert held is not None
    other = Chat(engine, customer(2002, "de"))
    await to_times(other)
    assert availability_calls(sandbox) == 1  # the first customer's answer, still fresh
    assert held.start not in state_of(storage, 2002).draft.slots  # taken out when it was held


async def test_the_earliest_time_is_one_tap_away_when_it_takes_a_search(
    chat: Chat, sandbox: SandboxServer, storage: Storage
) -> None:
    # Saturday 28 November 2026, 20:00 in Milan: closed until Tuesday.
    sandbox.clock.set(datetime(2026, 11, 28, 19, 0, tzinfo=UTC))
    await to_calendar(chat, branch="Milano – Porta Romana")
    [shortcut] = chat.actions(Action.FIRST_FREE)
    assert shortcut.label.key == "⚡ Earliest: {date}, {time}"
    first = state_of(storage).draft.first_free
    assert first == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Milan
    await chat.tap_data(shortcut.data)
    assert chat.shows("What name should the appointment be under? Please type it.")
    [hold] = sandbox.store.active_holds()
    assert hold.start == first and hold.location_id == "loc_milan"


async def test_no_shortcut_when_the_earliest_time_is_today(chat: Chat) -> None:
    await to_calendar(chat)  # Monday 07:00 in Madrid: free this morning
    assert not chat.actions(Action.FIRST_FREE)


async def test_days_after_the_window_cannot_be_picked(chat: Chat, storage: Storage) -> None:
    await to_calendar(chat)
    while chat.actions(Action.MONTH_NEXT):
        await chat.tap_action(Action.MONTH_NEXT)
    month = state_of(storage).draft.month
    assert month is not None and "b" in month.codes  # after the last bookable day
    beyond = month.codes.index("b") + 1
    [cell] = [b for b in chat.actions(Action.DAY_UNAVAILABLE) if b.label.text == f"·{beyond}·"]
    await chat.tap_data(cell.data)
    assert chat.reply.toast is not None and chat.reply.toast.key == "That day can't be booked yet."
    assert state_of(storage).nav.step == Step.DAY
