"""What watching waitlisted days costs: Zimun calls per hour per waitlisted day.

The production WaitlistWatch (bot.followup.waitlist_watch) against the sandbox in its own process
over loopback. For each mix of waitlisted days, the days are filled at the sandbox (every place
booked, as a busy business's would be: nobody is told, and the watching goes on), customers are
put on their waiting lists (several per day: the cost does not grow with them), then the bot's
clock is simulated: two hours of scans every 30 s, nothing waited. The figure is the
availability calls the sandbox answered during the second hour, per hour and per waitlisted
day, next to the cadence's own formula (bot.core.cadence.WaitCadence.calls_per_hour,
per (service, branch) pair).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.runner import NOW, settings_for
from bench.sandbox_process import SandboxProcess
from bench.simulation import SimClock, scratch_storage
from bot.core.cadence import WAIT_CADENCE, day_bounds
from bot.core.errors import ZimunError
from bot.followup.waitlist_watch import DEFAULT_CALLS_PER_MINUTE, WaitlistWatch
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient

BRANCH = "loc_milan"  # Tuesday to Saturday; three services with few times a day
TIMEZONE = "Europe/Rome"
CUSTOMERS_PER_DAY = 5
HOURS = 2
ANSWERED = "GET /availability 200"
TUESDAY, FRIDAY = date(2027, 2, 2), date(2027, 2, 5)  # within 7 days of Monday 1 February
FAR = (date(2027, 2, 16), date(2027, 2, 23), date(2027, 3, 2))  # further out


@dataclass(frozen=True)
class Mix:
    """Waitlisted days, per service at the branch."""

    name: str
    days: dict[str, tuple[date, ...]]

    @property
    def day_count(self) -> int:
        return sum(len(days) for days in self.days.values())

    def pairs(self, now: datetime) -> tuple[int, int]:
        """(pairs with a day within 7 days, pairs with all days further out)."""
        near = sum(
            1
            for days in self.days.values()
            if any(day_bounds(d, TIMEZONE)[0] - now <= WAIT_CADENCE.near for d in days)
        )
        return near, len(self.days) - near


MIXES = (
    Mix("one day within 7 days", {"svc_whitening": (TUESDAY,)}),
    Mix("one day further out", {"svc_whitening": (FAR[0],)}),
    Mix("five days of one service (two within 7 days)", {"svc_whitening": (TUESDAY, FRIDAY, *FAR)}),
    Mix(
        "three services, one day within 7 days each",
        {"svc_whitening": (TUESDAY,), "svc_cleaning": (TUESDAY,), "svc_consultation": (TUESDAY,)},
    ),
)


def measure(workdir: Path) -> list[dict[str, Any]]:
    with SandboxProcess(now=NOW) as sandbox:
        return asyncio.run(_measure(sandbox, workdir))


async def _measure(sandbox: SandboxProcess, workdir: Path) -> list[dict[str, Any]]:
    assert sandbox.info is not None
    settings = settings_for(sandbox.info, workdir / "waitlist-setup.db")
    async with ZimunClient.from_settings(settings) as client:
        filled: set[tuple[str, date]] = set()
        results = []
        for index, mix in enumerate(MIXES):
            for service_id, days in mix.days.items():
                for day in days:
                    if (service_id, day) not in filled:
                        await _fill(client, service_id, day)
                        filled.add((service_id, day))
            with scratch_storage(workdir / f"waitlist-{index}.db") as storage:
                _join(storage, mix)
                results.append(await _simulate(client, storage, sandbox, mix))
    return results


async def _fill(client: ZimunClient, service_id: str, day: date) -> None:
    """Book every place of the day: it is full, as the waiting list assumes."""
    service = await client.get_service(service_id)
    assert service is not None
    for _ in range(10):  # a time with two places is listed until both are taken
        answer = await client.get_availability(service_id, location_id=BRANCH, day=day)
        if not answer.slots_on(day):
            return
        for slot in answer.slots_on(day):
            try:
                hold = await client.hold(service=service, start=slot.start, location_id=BRANCH)
                await client.confirm(hold.hold_id, name="Bench", email="b@example.com")
            except ZimunError:
                continue


def _join(storage: Storage, mix: Mix) -> None:
    user = 0
    for service_id, days in mix.days.items():
        for day in days:
            starts, ends = day_bounds(day, TIMEZONE)
            for _ in range(CUSTOMERS_PER_DAY):
                user += 1
                storage.join_waitlist(
                    user_id=user,
                    chat_id=user,
                    service_id=service_id,
                    service_name=service_id,
                    location_id=BRANCH,
                    location_name=BRANCH,
                    timezone=TIMEZONE,
                    day=day,
                    ends_at=ends,
                    language="en",
                    now=NOW,
                    next_check_at=WAIT_CADENCE.next_look(NOW, starts),
                )


async def _simulate(
    client: ZimunClient, storage: Storage, sandbox: SandboxProcess, mix: Mix
) -> dict[str, Any]:
    clock = SimClock()
    watch = WaitlistWatch(client, storage, now=lambda: clock.now, monotonic=lambda: clock.ticks)
    step = WAIT_CADENCE.scan_every
    scans_per_hour = int(timedelta(hours=1) / step)
    counted_from = scans_per_hour * (HOURS - 1)
    offered = 0
    for scan in range(1, scans_per_hour * HOURS + 1):
        clock.at_scan(scan, step)
        if scan == counted_from + 1:
            sandbox.reset_stats()
        offered += (await watch.check_due()).offered
    calls = sandbox.stats()["responses"].get(ANSWERED, 0)
    near, far = mix.pairs(NOW)
    formula = WAIT_CADENCE.calls_per_hour(near, far)
    return {
        "mix": mix.name,
        "waitlisted_days": mix.day_count,
        "customers": mix.day_count * CUSTOMERS_PER_DAY,
        "pairs_near": near,
        "pairs_far": far,
        "calls_per_hour": calls,
        "calls_per_hour_per_day": round(calls / mix.day_count, 2),
        "formula_per_hour": round(formula, 2),
        "told": offered,  # 0: the days stayed full
        "cap_per_hour": DEFAULT_CALLS_PER_MINUTE * 60,
    }
