"""What watching waitlisted days costs, counted at the sandbox over a simulated hour of scans
every 30 s: one availability call per look at a (service, branch) pair, whatever the number of
customers and days waiting for it; every 4 minutes for a pair with a day within 7 days, every
30 minutes otherwise (bot.core.cadence)."""

from __future__ import annotations

from datetime import date, timedelta

from bot.core.cadence import WAIT_CADENCE
from bot.followup.reconcile import CallBudget
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat
from tests.waitlist.steps import (
    OTHER_SERVICE_INDEX,
    SATURDAY,
    TUESDAY,
    availability_calls,
    fill_day,
    join,
)


def answered(sandbox: SandboxServer) -> int:
    """Availability calls answered (a call refused once because the token expired in the
    simulated hour, and repeated, counts once)."""
    return sandbox.stats.count("GET", "/availability", 200)


FAR = date(2026, 12, 15)  # a Tuesday, three weeks ahead
PAIR = ("svc_consultation", "loc_madrid")
HOUR = timedelta(hours=1)


async def test_calls_per_hour_are_bounded_per_service_and_branch(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    for day in (SATURDAY, TUESDAY, FAR):
        fill_day(sandbox, day)
    fill_day(sandbox, FAR, service="svc_cleaning")
    # Four customers, three days of the Consultation (two within 7 days), one far Cleaning.
    await join(chat, SATURDAY)
    await join(Chat(ops, 2002), TUESDAY)
    await join(Chat(ops, 2003), FAR)
    await join(Chat(ops, 2004), SATURDAY)
    await join(Chat(ops, 2005), FAR, service=OTHER_SERVICE_INDEX)

    # Two simulated hours of scans; the second is counted.
    ops.waitlist.budget = CallBudget(6000, lambda: 0.0)  # the cap is another test's business
    hour_scans = int(HOUR / WAIT_CADENCE.scan_every)
    looks = calls = 0
    for scan in range(1, 2 * hour_scans + 1):
        sandbox.clock.set(MONDAY + WAIT_CADENCE.scan_every * scan)
        if scan == hour_scans + 1:
            counted_from = answered(sandbox)
        result = await ops.watch()
        assert result.offered == 0  # the days stay full: nobody is told
        if scan > hour_scans:
            looks += result.looked
            calls += result.calls
    measured = answered(sandbox) - counted_from
    assert measured == calls == looks == WAIT_CADENCE.calls_per_hour(near=1, far=1) == 17


async def test_the_cap_on_calls_per_minute_makes_pairs_take_turns(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    fill_day(sandbox, SATURDAY)
    fill_day(sandbox, SATURDAY, service="svc_cleaning")
    await join(chat, SATURDAY)
    await join(Chat(ops, 2002), SATURDAY, service=OTHER_SERVICE_INDEX)
    ticks = [0.0]
    ops.waitlist.budget = CallBudget(1, lambda: ticks[0])  # one call per minute
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    assert (await ops.watch()).calls == 1
    ticks[0] = 30.0  # half a minute of real time: still spent
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every + WAIT_CADENCE.scan_every)
    assert (await ops.watch()).calls == 0
    ticks[0] = 60.0  # the other pair's turn, most overdue first
    assert (await ops.watch()).calls == 1
    assert availability_calls(sandbox) >= 2


async def test_a_server_refusing_range_queries_gets_day_queries_in_turn(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    for day in (SATURDAY, TUESDAY):
        fill_day(sandbox, day)
    await join(chat, SATURDAY)
    await join(Chat(ops, 2002), TUESDAY)
    ops.waitlist.budget = CallBudget(6000, lambda: 0.0)
    sandbox.faults.fail_next(1, 400, path="/availability")  # the range: refused once
    sandbox.clock.set(MONDAY + WAIT_CADENCE.near_every)
    result = await ops.watch()
    assert (result.looked, result.calls) == (1, 2)  # the range, then one day
    judged = {e.day: e.checked_at for e in ops.db.waiting_for_pair(*PAIR, sandbox.clock.now())}
    assert sorted(d for d, at in judged.items() if at) == [TUESDAY]  # the nearest first
    sandbox.clock.set(MONDAY + 2 * WAIT_CADENCE.near_every)
    assert (await ops.watch()).calls == 1  # day queries from now on, the other day's turn
    judged = {e.day: e.checked_at for e in ops.db.waiting_for_pair(*PAIR, sandbox.clock.now())}
    assert judged[SATURDAY] is not None and judged[SATURDAY] > judged[TUESDAY]
