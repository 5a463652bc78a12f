"""One scenario: a fresh sandbox process, the production Application over the in-process fake
Bot API, N customers, and what it cost.

The bot is assembled as `python -m bot` assembles it (Storage, ZimunClient.from_settings,
Conversation, `build_application`), with three differences a benchmark needs: the fake's
transport instead of HTTPS, no flood-control rate limiter (it would measure Telegram's 30
messages/s, not the bot), and one extra handler in a last group that tells the fake when an
update is fully handled. The echo floor gets the same transport and the same extra handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bench.customers import Chat, Samples, Window, customer, echo_customer
from bench.fake_telegram import TOKEN, BenchBotAPI, BenchRequest
from bench.flood import Flooder
from bench.sandbox_process import SandboxInfo, SandboxProcess
from bot.chat.engine import Conversation
from bot.config.settings import Settings
from bot.store.storage import Storage
from bot.telegram.app import polling
from bot.wiring import build_application, tune_gc
from bot.zimun.client import ZimunClient

# A Monday morning in a month without holidays in the demo seed: every run sees the same
# calendar, whatever the day it is run on.
NOW = datetime.fromisoformat("2027-02-01T08:00:00+01:00")
LAST_GROUP = sys.maxsize
WARMUP_CHAT = 1


@dataclass
class Scenario:
    name: str
    customers: int
    latency_ms: int = 0
    think: float = 0.0  # mean seconds between a customer's actions
    duration: float | None = None  # seconds of measured window (customers spread first)
    min_samples: int = 60  # the window stays open (up to 3 x duration) until this many
    bookings_each: int | None = None  # or: this many bookings per customer
    manage_share: float = 0.3  # share of bookings followed by a reschedule or a cancel
    echo: bool = False  # also run the echo floor on the same updates
    profile: Path | None = None  # write a pyinstrument HTML profile here
    flood_control: bool = False  # the production rate limiter (Telegram's 30 messages/s)
    flood: int = 0  # updates one extra chat floods the bot with during the window (bench.flood)


@dataclass
class Result:
    scenario: Scenario
    wall: float = 0.0
    cpu: float = 0.0
    samples: Samples = field(default_factory=Samples)
    writes: int = 0
    client: dict[str, Any] = field(default_factory=dict)
    sandbox: dict[str, Any] = field(default_factory=dict)
    sandbox_cpu: float = 0.0
    store: dict[str, int] = field(default_factory=dict)
    echo_cpu: float | None = None
    echo_wall: float | None = None
    echo_updates: int = 0
    echo_latencies: list[float] = field(default_factory=list)
    bot_api_calls: dict[str, int] = field(default_factory=dict)
    flooder: dict[str, int] | None = None


def settings_for(info: SandboxInfo, db: Path) -> Settings:
    return Settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL="http://bot-api.invalid/bot",
        ZIMUN_CLIENT_ID=info.client_id,
        ZIMUN_CLIENT_SECRET=info.client_secret,
        ZIMUN_BASE_URL=info.base_url,
        ZIMUN_TOKEN_URL=info.token_url,
        BOT_DB_PATH=str(db),
        BOT_DEFAULT_LANGUAGE="en",
        LOG_LEVEL="WARNING",
        # Simulated customers book many appointments each, without pause, on purpose: the
        # benchmark measures the bot, not the fair share per customer (README, "Your rules").
        MAX_UPCOMING_PER_CUSTOMER=0,
        MAX_BOOKINGS_PER_DAY=0,
    )


def clock_from(start: datetime) -> Callable[[], datetime]:
    """The bot's "now": the sandbox's starting instant plus the time elapsed since."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


def observe(app: Application, api: BenchBotAPI) -> None:
    """Tell the fake when an update has gone through every handler group."""

    async def done(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        api.update_done(chat.id if chat is not None else None, update.update_id)

    app.add_handler(TypeHandler(Update, done), group=LAST_GROUP)


@dataclass
class BotUnderTest:
    api: BenchBotAPI
    app: Application
    storage: Storage
    client: ZimunClient


@asynccontextmanager
async def running_bot(
    info: SandboxInfo, db: Path, *, flood_control: bool = False
) -> AsyncIterator[BotUnderTest]:
    settings = settings_for(info, db)
    storage = Storage(settings.BOT_DB_PATH)
    client = ZimunClient.from_settings(settings)
    conversation = Conversation(client, storage, default_language="en", now=clock_from(NOW))

    async def close(_app: Application) -> None:
        try:
            await client.aclose()
        finally:
            storage.close()

    api = BenchBotAPI()
    app = build_application(
        settings,
        conversation,
        request=BenchRequest(api),
        get_updates_request=BenchRequest(api),
        rate_limiter="default" if flood_control else None,
        # Customers acting without pause would exceed a person's update budget on purpose:
        # the budget is part of the flood control, measured by the flood case.
        update_budget="default" if flood_control else None,
        on_shutdown=(close,),
    )
    observe(app, api)
    tune_gc()  # as python -m bot does once the bot is built
    try:
        async with _polling(app, api):
            yield BotUnderTest(api, app, storage, client)
    finally:
        gc.unfreeze()  # the next scenario builds its own bot: let this one's objects go
        gc.collect()


@asynccontextmanager
async def _polling(app: Application, api: BenchBotAPI) -> AsyncIterator[None]:
    async with polling(app, poll_interval=0.0, long_poll=10):
        try:
            yield
        finally:
            api.close()  # release the pending long poll so the updater stops at once


def echo_application(api: BenchBotAPI) -> Application:
    """The floor: python-telegram-bot's defaults, one handler per kind of update, each
    answering with what the customer sent (a tap: the toast and an edit, as the bot does)."""

    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "…")

    async def tapped(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(query.data or "…")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url("http://bot-api.invalid/bot")
        .request(BenchRequest(api))
        .get_updates_request(BenchRequest(api))
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(tapped))
    observe(app, api)
    return app


async def warm_up(bot: BotUnderTest) -> None:
    """One booking first: the token, the catalog cache and a pooled connection are ready, as
    they are in a bot that has been running for a while."""
    samples = Samples()
    with Chat(bot.api, WARMUP_CHAT, samples) as chat:
        await chat.book(0)


async def drive(
    bot: BotUnderTest,
    scenario: Scenario,
    samples: Samples,
    window: Window | None = None,
    first_chat: int = 1000,
) -> None:
    """Every customer of the scenario, until their bookings are done or the window closes. A
    lone customer acts without pause: alone in the bot, a pause changes nothing but the number
    of samples."""
    think = scenario.think if scenario.customers > 1 else 0.0
    await asyncio.gather(
        *(
            customer(
                bot.api,
                first_chat + i,
                samples,
                think=think,
                manage_share=scenario.manage_share,
                window=window,
                max_bookings=scenario.bookings_each,
                record=scenario.echo,
            )
            for i in range(scenario.customers)
        )
    )


async def run_async(scenario: Scenario, sandbox: SandboxProcess, workdir: Path) -> Result:
    result = Result(scenario)
    assert sandbox.info is not None
    db = workdir / f"{scenario.name}.db"
    async with running_bot(sandbox.info, db, flood_control=scenario.flood_control) as bot:
        await warm_up(bot)
        window = None
        if scenario.duration is not None:
            window = Window(
                scenario.customers,
                scenario.duration,
                min_samples=scenario.min_samples,
                longest=scenario.duration * 3,
            )
        task = asyncio.ensure_future(drive(bot, scenario, result.samples, window))
        if window is not None:
            await window.opened.wait()  # the customers are in place, spread over their journeys
        bot.client.stats.reset()
        sandbox.reset_stats()
        writes, calls = bot.storage.writes, dict(bot.api.calls)
        sandbox_cpu = sandbox.cpu_seconds()
        profiler = _profiler(scenario)
        cpu, wall = time.process_time(), time.perf_counter()
        flooder = Flooder(bot.api) if scenario.flood else None
        if flooder is not None:
            await flooder.flood(scenario.flood, scenario.duration or 10.0)
        await task
        if flooder is not None:
            result.flooder = flooder.summary(await _flood_handled(bot))
        result.cpu = time.process_time() - cpu
        result.wall = time.perf_counter() - wall
        if profiler is not None:
            _save_profile(profiler, scenario)
        result.sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
        result.writes = bot.storage.writes - writes
        result.client = bot.client.stats.as_dict()
        result.sandbox = sandbox.stats()
        result.store = sandbox.store()
        result.bot_api_calls = {k: v - calls.get(k, 0) for k, v in bot.api.calls.items()}
    if scenario.echo:
        await run_echo(scenario, result)
    with contextlib.suppress(FileNotFoundError):
        for suffix in ("", "-wal", "-shm"):
            os.unlink(f"{db}{suffix}")
    return result


async def _flood_handled(bot: BotUnderTest) -> int:
    """Wait (up to 30 s) until every update pushed so far is handled or skipped; returns how
    many the budget skipped."""
    processor = bot.app.update_processor
    pushed = bot.api.pushed
    for _ in range(3000):
        if getattr(processor, "finished", pushed) >= pushed:
            break
        await asyncio.sleep(0.01)
    budget = getattr(processor, "admission", None)
    return getattr(budget, "dropped", 0)


async def run_echo(scenario: Scenario, result: Result) -> None:
    """The same updates, customer by customer and with the same concurrency, to the echo app."""
    api = BenchBotAPI()
    app = echo_application(api)
    samples = Samples()
    async with _polling(app, api):
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(
            *(
                echo_customer(api, chat_id, samples, script)
                for chat_id, script in result.samples.replay
            )
        )
        result.echo_cpu = time.process_time() - cpu
        result.echo_wall = time.perf_counter() - wall
    result.echo_updates = samples.updates
    result.echo_latencies = samples.latencies


def run(scenario: Scenario, workdir: Path) -> Result:
    with SandboxProcess(latency_ms=scenario.latency_ms, now=NOW) as sandbox:
        return asyncio.run(run_async(scenario, sandbox, workdir))


def _profiler(scenario: Scenario) -> Any:
    if scenario.profile is None:
        return None
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled", interval=0.0005)
    profiler.start()
    return profiler


def _save_profile(profiler: Any, scenario: Scenario) -> None:
    profiler.stop()
    assert scenario.profile is not None
    scenario.profile.parent.mkdir(parents=True, exist_ok=True)
    scenario.profile.write_text(profiler.output_html())
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    scenario.profile.with_suffix(".txt").write_text(text)


# ---- memory per conversation ---------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass
class MemoryPoint:
    conversations: int
    rss: int
    traced: int  # Python heap allocated since tracing started and still alive
    db_bytes: int
    lanes: int  # per-chat ordering lanes in memory


# How far the memory run takes each conversation after /start: taps on Book, a branch, a service.
DEPTHS = {"location": 1, "service": 2, "calendar": 3}


async def memory_async(
    sandbox: SandboxProcess, workdir: Path, levels: list[int], depth: str = "service"
) -> list[dict]:
    """Leave `levels` conversations mid-booking (on the calendar: branch and service chosen),
    and see what stays in RAM once the customers are gone."""
    assert sandbox.info is not None
    db = workdir / "memory.db"
    points: list[MemoryPoint] = []
    async with running_bot(sandbox.info, db) as bot:
        await warm_up(bot)
        tracemalloc.start(1)
        started = 0
        for level in levels:
            batch = range(100_000 + started, 100_000 + level)
            await _mid_booking(bot, batch, DEPTHS[depth])
            started = max(started, level)
            gc.collect()
            _trim()  # give freed memory back, so RSS shows what is alive
            traced, _ = tracemalloc.get_traced_memory()
            size = _file_bytes(db)
            processor = bot.app.update_processor
            points.append(
                MemoryPoint(level, rss_bytes(), traced, size, getattr(processor, "busy_chats", 0))
            )
        tracemalloc.stop()
        stored = bot.storage.conversation_count()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{db}{suffix}")
    base = points[0]
    rows = []
    for point in points:
        n = point.conversations - base.conversations
        rows.append(
            {
                "conversations": point.conversations,
                "rss_bytes": point.rss,
                "traced_bytes": point.traced,
                "db_bytes": point.db_bytes,
                "lanes_in_memory": point.lanes,
                "rss_per_conversation": (point.rss - base.rss) / n if n else None,
                "traced_per_conversation": (point.traced - base.traced) / n if n else None,
                "db_per_conversation": (point.db_bytes - base.db_bytes) / n if n else None,
            }
        )
    rows[-1]["stored_conversations"] = stored
    return rows


def _trim() -> None:
    """glibc keeps freed memory in its arenas; ask it to return what it can (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _file_bytes(db: Path) -> int:
    """The database with its write-ahead log."""
    files = (db, db.with_name(db.name + "-wal"))
    return sum(f.stat().st_size for f in files if f.exists())


async def _mid_booking(bot: BotUnderTest, chats: range, taps: int, concurrency: int = 200) -> None:
    samples = Samples(keep_latencies=False)
    queue = iter(chats)

    async def worker() -> None:
        for chat_id in queue:
            with Chat(bot.api, chat_id, samples) as chat:
                await chat.text("/start")
                await chat.to_calendar(chat_id, taps)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def memory(workdir: Path, levels: list[int], depth: str = "service") -> list[dict]:
    with SandboxProcess(latency_ms=0, now=NOW) as sandbox:
        return asyncio.run(memory_async(sandbox, workdir, levels, depth))
