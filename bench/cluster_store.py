"""Part 1 of bench/cluster.py (issue 20): the bot on PostgreSQL against the bot on SQLite, in
one process, with the main benchmark's customers, fake Bot API and sandbox process.

The bot is the main benchmark's (bench/runner.py: the production Application over the
in-process fake, polling, no flood control, the sandbox in its own process), except for its
store, which is opened the way `python -m bot` opens it (bot.store.factory.open_store): the
asynchronous SQLite adapter on a fresh file at BOT_DB_PATH, or PostgreSQL at DATABASE_URL (a
fresh database of the server bench/cluster.py started). Both get the same clock, the same
customers and the same scenarios, so the figures of one run compare.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench import report, runner
from bench.customers import Window
from bench.fake_telegram import BenchBotAPI, BenchRequest
from bench.sandbox_process import SandboxInfo, SandboxProcess
from bot.chat.engine import Conversation
from bot.store.contract import Store
from bot.store.factory import open_store
from bot.telegram.app import polling
from bot.wiring import build_application, cluster_for, tune_gc
from bot.zimun.client import ZimunClient


@dataclass
class StoreBot:
    """The bench's BotUnderTest, over an asynchronous store of either kind."""

    api: BenchBotAPI
    app: Any
    storage: Store
    client: ZimunClient


@asynccontextmanager
async def running_bot(
    info: SandboxInfo, db: Path, database_url: str, coordinated: bool = False
) -> AsyncIterator[StoreBot]:
    """runner.running_bot with the store `python -m bot` would open: PostgreSQL at
    `database_url`, or SQLite at `db` when it is empty. `coordinated`: on PostgreSQL, with the
    coordination `python -m bot` adds there (bot.wiring.cluster_for: each update in its chat's
    turn across processes, polling by the holder of the polling role, shared 429 pauses)."""
    settings = runner.settings_for(info, db)
    if database_url:
        settings = settings.model_copy(update={"DATABASE_URL": SecretStr(database_url)})
    clock = runner.clock_from(runner.NOW)
    store = await open_store(settings, now=clock)
    client = ZimunClient.from_settings(settings)
    conversation = Conversation(client, store, default_language="en", now=clock)
    cluster = cluster_for(settings, store) if coordinated else None

    async def close(_app: Any) -> None:
        try:
            await client.aclose()
        finally:
            await store.close()

    api = BenchBotAPI()
    app = build_application(
        settings,
        conversation,
        request=BenchRequest(api),
        get_updates_request=BenchRequest(api),
        rate_limiter=None,
        update_budget=None,
        on_shutdown=(close,),
        cluster=cluster,
    )
    runner.observe(app, api)
    tune_gc()
    try:
        async with polling(app, poll_interval=0.0, long_poll=10, cluster=cluster):
            try:
                yield StoreBot(api, app, store, client)
            finally:
                api.close()
    finally:
        gc.unfreeze()
        gc.collect()


async def _run_async(
    scenario: runner.Scenario,
    sandbox: SandboxProcess,
    db: Path,
    database_url: str,
    coordinated: bool,
) -> runner.Result:
    """runner.run_async's measurement (the same window, the same counters)."""
    result = runner.Result(scenario)
    assert sandbox.info is not None
    async with running_bot(sandbox.info, db, database_url, coordinated) as bot:
        await runner.warm_up(bot)  # type: ignore[arg-type]
        window = None
        if scenario.duration is not None:
            window = Window(
                scenario.customers,
                scenario.duration,
                min_samples=scenario.min_samples,
                longest=scenario.duration * 3,
            )
        task = asyncio.ensure_future(runner.drive(bot, scenario, result.samples, window))  # type: ignore[arg-type]
        if window is not None:
            await window.opened.wait()
        bot.client.stats.reset()
        sandbox.reset_stats()
        writes, calls = bot.storage.writes, dict(bot.api.calls)
        sandbox_cpu = sandbox.cpu_seconds()
        cpu, wall = time.process_time(), time.perf_counter()
        await task
        result.cpu = time.process_time() - cpu
        result.wall = time.perf_counter() - wall
        result.sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
        result.writes = bot.storage.writes - writes
        result.client = bot.client.stats.as_dict()
        result.sandbox = sandbox.stats()
        result.store = sandbox.store()
        result.bot_api_calls = {k: v - calls.get(k, 0) for k, v in bot.api.calls.items()}
    return result


def run(
    scenario: runner.Scenario, db: Path, database_url: str, coordinated: bool = False
) -> dict[str, Any]:
    """One scenario on one store, with a fresh sandbox process; its summary (bench/report)."""
    with SandboxProcess(latency_ms=scenario.latency_ms, now=runner.NOW) as sandbox:
        result = asyncio.run(_run_async(scenario, sandbox, db, database_url, coordinated))
    return report.summarise(result)


async def _round_trips(url: str, pauses: tuple[float, ...], bursts: int) -> dict[str, float]:
    """10 `SELECT 1` through a pool like the store's, hot and after each pause: what one
    round trip to the server costs on this machine when the processes were idle (woken up)."""
    from psycopg_pool import AsyncConnectionPool

    pool = AsyncConnectionPool(url, min_size=2, max_size=4, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    out: dict[str, float] = {}
    try:
        for pause in pauses:
            times = []
            for _ in range(bursts):
                if pause:
                    await asyncio.sleep(pause)
                started = time.perf_counter()
                for _ in range(10):
                    async with pool.connection() as conn:
                        await conn.execute("SELECT 1")
                times.append((time.perf_counter() - started) * 100)  # ms per round trip
            out[f"after {pause * 1000:.0f} ms idle" if pause else "hot"] = round(
                sorted(times)[len(times) // 2], 3
            )
    finally:
        await pool.close()
    return out


def round_trips(url: str, bursts: int = 20) -> dict[str, float]:
    """p50 ms per loopback round trip, hot and after 50 and 500 ms of idling."""
    return asyncio.run(_round_trips(url, (0.0, 0.05, 0.5), bursts))
