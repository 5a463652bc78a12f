"""The first in line cannot keep a freed time from everyone (issue 18, item 4): told of a
freed time, the customer joins that day's list again.
The re-armed entry keeps its place and its offer, is not told of the same time again, and once
the offer's window ends the next in line hears of it. Through the real bot, simulated time."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.cadence import WAIT_CADENCE
from bot.core.records import WaitlistRow
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat
from tests.waitlist.steps import (
    SATURDAY,
    entries,
    fill_day,
    freed_notices,
    join,
)

MINUTE = timedelta(minutes=1)


def rejoin(ops: OpsBot, entry: WaitlistRow, now: datetime) -> None:
    fields = ("user_id", "chat_id", "service_id", "service_name", "location_id")
    fields += ("location_name", "timezone", "day", "ends_at", "language")
    values = {name: getattr(entry, name) for name in fields}
    ops.db.join_waitlist(**values, now=now, next_check_at=now + WAIT_CADENCE.near_every)


async def test_a_told_customer_rejoining_from_the_old_calendar_keeps_no_one_else_out(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    first, second = chat, Chat(ops, 2002, "de")
    await join(first, SATURDAY)
    sandbox.clock.set(sandbox.clock.now() + MINUTE)
    await join(second, SATURDAY)

    sandbox.business_cancel(walk_ins[0].id)
    sandbox.clock.set(MONDAY + 10 * MINUTE)
    assert (await ops.watch()).offered == 1
    assert [len(freed_notices(ops, c)) for c in (first, second)] == [1, 0]

    # The customer joins again (however they got to a "Tell me" button: an old calendar
    # message, the full day's screen): the chat's own write, as it defers it.
    [told] = entries(ops, first)
    assert told.status == "told"
    rejoin(ops, told, sandbox.clock.now())
    [again] = entries(ops, first)
    assert again.status == "waiting"

    # Every look for the next 35 minutes: the first is never told again; the second is told
    # once the first's window ends.
    for minutes in range(0, 36, 4):
        sandbox.clock.set(MONDAY + 11 * MINUTE + minutes * MINUTE)
        await ops.watch()
    assert len(freed_notices(ops, first)) == 1
    assert len(freed_notices(ops, second)) == 1
    assert WAIT_CADENCE.offer_window < 35 * MINUTE
