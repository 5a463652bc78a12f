"""A waiting customer is told once when a time frees up, and books it: through the real bot
(the production Application, the fake Bot API and the sandbox on loopback), in simulated time
(the sandbox clock is the bot's; each scan runs when the test says so)."""

from __future__ import annotations

from datetime import timedelta

from bot.core.cadence import WAIT_CADENCE
from bot.core.payload import Action
from bot.core.screens import DateValue, Msg
from bot.core.state import Step
from bot.i18n import localizer
from bot.ops.stats import stats_of
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import TIME_RE, Chat
from tests.waitlist.steps import (
    FREED,
    SATURDAY,
    availability_calls,
    entries,
    fill_day,
    freed_notices,
    join,
    state_of,
)


def text(language: str, key: str, **values: object) -> str:
    return localizer(language).render(Msg(key, **values), "html")  # type: ignore[arg-type]


async def test_a_waiting_customer_is_told_once_within_five_minutes_and_books_the_freed_time(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = "es"
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    [entry] = entries(ops, chat)
    assert (entry.day, entry.status, entry.language) == (SATURDAY, "waiting", "es")
    assert chat.says(
        Msg(
            "🔔 Done: I'll tell you if a time frees up on {date}. Your waiting list is under My "
            "appointments.",
            date=DateValue(SATURDAY, "full", MONDAY.year),
        )
    )
    assert (
        state_of(ops, chat).nav.step == Step.DAY
    )  # the booking goes on: another day, if they like

    # Looks while the day is full tell nobody; each costs one availability call.
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    calls = availability_calls(sandbox)
    result = await ops.watch()
    assert (result.looked, result.calls, result.offered) == (1, 1, 0)
    assert availability_calls(sandbox) == calls + 1
    assert freed_notices(ops, chat) == []

    # A walk-in cancels at the front desk: the customer hears within five minutes.
    freed = walk_ins[3]
    cancelled_at = MONDAY + timedelta(minutes=5, seconds=10)
    sandbox.clock.set(cancelled_at)
    sandbox.business_cancel(freed.id)
    moment = cancelled_at
    while not freed_notices(ops, chat):
        moment += WAIT_CADENCE.scan_every
        assert moment - cancelled_at <= timedelta(minutes=5)
        sandbox.clock.set(moment)
        await ops.watch()
    [notice] = freed_notices(ops, chat)
    assert notice.text is not None
    assert notice.text.startswith(
        text(
            "es",
            FREED,
            date=DateValue(SATURDAY, "full", MONDAY.year),
            service="Consultation",
            location="Madrid – Chamberí",
        )
    )
    [told] = entries(ops, chat)
    assert told.status == "told"

    # Told once: later looks, a restart, more looks add nothing.
    for _ in range(3):
        moment += WAIT_CADENCE.near_every
        sandbox.clock.set(moment)
        await ops.watch()
    await ops.restart()
    await ops.watch()
    assert len(freed_notices(ops, chat)) == 1

    # The button: that day's times, asked afresh: the freed time, as a new message.
    await chat.tap_action(Action.WAITLIST_OPEN, message=notice)
    state = state_of(ops, chat)
    assert (state.nav.step, state.draft.day, state.draft.slots) == (
        Step.TIME,
        SATURDAY,
        [freed.start],
    )
    [kept] = [m for m in ops.fake.messages(chat.chat_id) if m.message_id == notice.message_id]
    assert kept.text == notice.text
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.give_details("Ana García", "ana@example.com")
    await chat.tap_index(0)  # Confirm
    [booking] = ops.db.bookings_for_user(chat.chat_id)
    assert booking.start == freed.start
    assert [e.status for e in entries(ops, chat)] == ["booked"]
    stats = stats_of(ops.db, ops.sandbox.clock.now())  # what /stats counts
    assert (stats.waitlist_joined, stats.waitlist_told, stats.waitlist_booked) == (1, 1, 1)
