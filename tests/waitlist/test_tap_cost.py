"""A freed time's button costs Zimun little however often it is tapped (issue 18, item 16):
through the real bot, simulated time. Only an entry whose customer was told is answered (an
entry-scoped payload for any other entry asks nothing), and the fresh look it takes serves
everyone: taps cost at most one call per service and branch per RENEW_AFTER."""

from __future__ import annotations

from datetime import timedelta

from bot.chat.availability import RENEW_AFTER
from bot.chat.waitlist_tap import GONE_AGAIN
from bot.core.cadence import WAIT_CADENCE
from bot.core.payload import Action, waitlist_data
from bot.core.state import Step
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat
from tests.waitlist.steps import (
    SATURDAY,
    availability_calls,
    entries,
    fill_day,
    freed_notices,
    join,
    state_of,
    tap_data,
)


async def test_an_untold_entry_s_button_asks_zimun_nothing(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    [entry] = entries(ops, chat)
    assert entry.status == "waiting"
    calls = availability_calls(sandbox)
    data = waitlist_data(Action.WAITLIST_OPEN, entry.id)
    updates = [await tap_data(chat, chat.keyboard, data) for _ in range(20)]
    assert availability_calls(sandbox) == calls
    assert state_of(ops, chat).nav.step == Step.DAY
    answer = ops.fake.answer_to(updates[-1])
    assert answer is not None
    assert answer.get("text") == localizer("en").gettext(GONE_AGAIN.key)


async def test_twenty_taps_on_a_notice_cost_one_call_per_renewal(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)
    sandbox.business_cancel(walk_ins[0].id)
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    await ops.watch()
    [notice] = freed_notices(ops, chat)
    calls = availability_calls(sandbox)
    for _ in range(20):
        await chat.tap_action(Action.WAITLIST_OPEN, message=notice)
    assert availability_calls(sandbox) == calls + 1
    assert state_of(ops, chat).draft.slots == [walk_ins[0].start]
    sandbox.clock.set(sandbox.clock.now() + RENEW_AFTER + timedelta(seconds=1))
    for _ in range(20):
        await chat.tap_action(Action.WAITLIST_OPEN, message=notice)
    assert availability_calls(sandbox) == calls + 2
