"""One scheduler for every business's periodic work (bot.telegram.scheduler.SharedScheduler):
each job runs for each serving business that wants it, a bounded number at a time, and one
business's failure neither stops nor delays the others' runs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.telegram.scheduler import SCHEDULER_KEY, SharedScheduler


@dataclass
class FollowUpStub:
    """What the jobs call on a business's follow-up, counted."""

    fail: bool = False
    runs: list[str] = field(default_factory=list)
    busy: list[int] = field(default_factory=lambda: [0, 0])  # [now, most at once], shared

    async def _run(self, what: str) -> str:
        self.busy[0] += 1
        self.busy[1] = max(self.busy[1], self.busy[0])
        try:
            await asyncio.sleep(0)
            if self.fail:
                raise RuntimeError("this business's Zimun is down")
            self.runs.append(what)
            return what
        finally:
            self.busy[0] -= 1

    async def remind(self, send: Any) -> str:
        return await self._run("reminders")

    async def reconcile(self, send: Any) -> str:
        return await self._run("reconcile")

    async def watch_and_tell(self, send: Any) -> str:
        return await self._run("waitlist")

    def housekeeping(self) -> int:
        self.runs.append("housekeeping")
        return 0


@dataclass
class SchedulerStub:
    followup: FollowUpStub
    wanted: frozenset[str]
    send: Any = None


@dataclass
class AppStub:
    bot_data: dict[str, Any]


def business(wanted: set[str], busy: list[int], fail: bool = False) -> AppStub:
    followup = FollowUpStub(fail=fail, busy=busy)
    return AppStub({SCHEDULER_KEY: SchedulerStub(followup, frozenset(wanted))})


def runs(app: AppStub) -> list[str]:
    return app.bot_data[SCHEDULER_KEY].followup.runs


@pytest.mark.parametrize("job", ["reminders", "reconcile", "waitlist", "housekeeping"])
async def test_each_job_runs_once_for_each_business_that_wants_it(
    job: str, caplog: pytest.LogCaptureFixture
) -> None:
    busy = [0, 0]
    every = {"reminders", "reconcile", "waitlist", "housekeeping"}
    apps = {f"shop-{n}": business(every, busy) for n in range(50)}
    apps["quiet"] = business(every - {job}, busy)  # e.g. REMINDER_OFFSETS empty
    apps["down"] = business(every, busy, fail=True)
    scheduler = SharedScheduler(
        lambda: [(b, app, None) for b, app in apps.items()],  # type: ignore[misc]
        concurrency=7,
    )

    assert await scheduler.run_once(job) == 51
    assert all(runs(apps[f"shop-{n}"]) == [job] for n in range(50))
    assert runs(apps["quiet"]) == []
    assert busy[1] <= 7
    if job != "housekeeping":
        assert "of business down failed" in caplog.text
