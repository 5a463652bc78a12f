"""How the fleet benchmark builds and starts N businesses in one process: `build_fleet` is the
one function to change when the way the bot builds its businesses changes.

`ProcessFleet` (the default) is what `python -m bot` does with BUSINESSES_FILE in webhook mode
(bot.wiring.serve_many): bot.telegram.fleet.Fleet starting each business with
bot.wiring.build_business on the process's SharedHttp, the Zimun probe before serving, one
SharedScheduler for every business's periodic work, the Prometheus metrics, and the webhook
listener's routes (business <id> at /hook/<id> with its own derived secret), to which updates
are posted in process (httpx's ASGI transport: Starlette parses each request as it would from
a socket). The bot's clock is the sandbox's (bot.wiring.utc_now, set in the benchmark's own
process), and Telegram's flood control is off, as in the other benchmarks.

`TodayFleet` (`--builder today`) is issue 19's prototype made with the production parts: for
each business its own Settings, Zimun client (on the process's shared Zimun pool), storage
scope, Conversation and `bot.wiring.build_application` (on the shared SharedRequest, with its
own JobQueue), started `START_CONCURRENCY` at a time: getMe, the Zimun probe (a token and the
branch list), the commands menu, resumed conversations, its scheduler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import httpx
from telegram import Update
from telegram.ext import Application

from bench.fleet_api import BotApiTransport, WebhookBotAPI, bot_token
from bench.runner import observe
from bench.sandbox_process import SandboxInfo, bench_client
from bot import wiring
from bot.chat.engine import Conversation
from bot.config.businesses import derived_webhook_secret
from bot.config.settings import Settings
from bot.ops.health import probe_zimun
from bot.store.storage import Storage
from bot.telegram.fleet import Business, BusinessSpec, Fleet, Webhooks
from bot.telegram.ordering import DEFAULT_CONCURRENCY
from bot.telegram.scheduler import SharedScheduler
from bot.telegram.shared_http import SharedHttp
from bot.telegram.webhook import SECRET_HEADER, fleet_routes, listener
from bot.wiring import build_application
from bot.zimun.client import ZimunClient

START_CONCURRENCY = 20  # businesses starting at once (TodayFleet)
STOP_CONCURRENCY = 50
WEBHOOK_URL = "https://bot.bench.invalid/hook"
WEBHOOK_SECRET = "fleet-bench-webhook-secret-0123456789-abcdefghijklmnop"
BUILDERS = ("process", "today")


class BenchFleet(Protocol):
    """What the benchmark needs of a fleet, whoever builds it."""

    async def start(self) -> None:
        """Start every business; return once all serve."""

    def serving(self) -> int: ...

    def api(self, index: int) -> WebhookBotAPI:
        """Business `index`'s Bot API, for its customers."""

    async def stop(self) -> None: ...


def business_settings(info: SandboxInfo, number: int, db: str) -> Settings:
    client_id, secret = bench_client(number)
    return Settings(
        TELEGRAM_BOT_TOKEN=bot_token(number),
        TELEGRAM_BASE_URL="http://bot-api.invalid/bot",
        ZIMUN_CLIENT_ID=client_id,
        ZIMUN_CLIENT_SECRET=secret,
        ZIMUN_BASE_URL=info.base_url,
        ZIMUN_TOKEN_URL=info.token_url,
        BOT_DB_PATH=db,
        BOT_DEFAULT_LANGUAGE="en",
        LOG_LEVEL="WARNING",
        # Customers book many times each, on purpose (as in bench.runner).
        MAX_UPCOMING_PER_CUSTOMER=0,
        MAX_BOOKINGS_PER_DAY=0,
    )


def build_fleet(
    info: SandboxInfo,
    storage: Storage,
    businesses: int,
    *,
    now: Callable[[], datetime],
    builder: str = "process",
) -> BenchFleet:
    """The fleet under test."""
    if builder == "today":
        return TodayFleet(info, storage, businesses, now=now)
    return ProcessFleet(info, storage, businesses, now=now)


class ProcessFleet:
    """The businesses as `python -m bot` serves a BUSINESSES_FILE in webhook mode."""

    def __init__(
        self,
        info: SandboxInfo,
        storage: Storage,
        businesses: int,
        *,
        now: Callable[[], datetime],
    ) -> None:
        wiring.utc_now = now  # type: ignore[assignment]  # the bot's clock: the sandbox's
        _without_flood_control()
        self._transport = BotApiTransport()
        self.http = SharedHttp(bot_api_transport=self._transport)
        self._apis = [WebhookBotAPI(bot_token(n)) for n in range(businesses)]
        for api in self._apis:
            self._transport.add(api)
            api.serves_webhooks()
        self._specs = [
            BusinessSpec(f"b{n}", business_settings(info, n, storage.path))
            for n in range(businesses)
        ]
        self._by_id = {spec.id: api for spec, api in zip(self._specs, self._apis, strict=True)}
        metrics = wiring.make_metrics()
        slots = asyncio.Semaphore(DEFAULT_CONCURRENCY)  # updates handled at once, all businesses

        def build_one(spec: BusinessSpec) -> Business:
            business = wiring.build_business(spec, storage, self.http, slots=slots, metrics=metrics)
            observe(business.app, self._by_id[spec.id])
            return business

        self.fleet = Fleet(
            build_one,
            preflight=wiring.zimun_preflight,
            webhooks=Webhooks(WEBHOOK_URL, self._secret),
            on_state=lambda bid, state: wiring.business_state(metrics, bid, state),
            on_all_serving=wiring.tune_gc,
        )
        self.jobs = SharedScheduler(self.fleet.serving)
        routes = fleet_routes("/hook", self.fleet.endpoint)
        self._web = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=listener(routes)), base_url="http://listener"
        )
        self._pending: set[asyncio.Task[Any]] = set()
        self._scheduling: asyncio.Task[None] | None = None

    @staticmethod
    def _secret(business_id: str) -> str:
        return derived_webhook_secret(WEBHOOK_SECRET, business_id)

    def api(self, index: int) -> WebhookBotAPI:
        return self._apis[index]

    def serving(self) -> int:
        return len(self.fleet.serving())

    async def start(self) -> None:
        self.fleet.start(self._specs)
        while not self.fleet.all_serving():
            failed = self.fleet.counts().get("failed", 0)
            if failed:
                raise RuntimeError(f"{failed} businesses failed to start")
            await asyncio.sleep(0.02)
        self._scheduling = asyncio.get_running_loop().create_task(self.jobs.run())
        for spec, api in zip(self._specs, self._apis, strict=True):
            api.deliver = self._poster(spec.id)

    def _poster(self, business_id: str) -> Callable[[dict[str, Any]], None]:
        headers = {SECRET_HEADER: self._secret(business_id), "content-type": "application/json"}
        path = f"/hook/{business_id}"

        def post(update: dict[str, Any]) -> None:
            task = asyncio.ensure_future(
                self._web.post(path, content=json.dumps(update), headers=headers)
            )
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        return post

    async def stop(self) -> None:
        try:
            if self._scheduling is not None:
                self._scheduling.cancel()
                await asyncio.gather(self._scheduling, return_exceptions=True)
            await self.fleet.stop()
        finally:
            await self._web.aclose()
            await self.http.aclose()


class TodayFleet:
    """N copies of today's Application in one event loop, on the shared HTTP clients."""

    def __init__(
        self,
        info: SandboxInfo,
        storage: Storage,
        businesses: int,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._info = info
        self._storage = storage
        self._now = now
        self._transport = BotApiTransport()
        self.http = SharedHttp(bot_api_transport=self._transport)
        self._apis = [WebhookBotAPI(bot_token(n)) for n in range(businesses)]
        for api in self._apis:
            self._transport.add(api)
        self._apps: list[Application | None] = [None] * businesses
        self._pending: set[asyncio.Task[Any]] = set()

    def api(self, index: int) -> WebhookBotAPI:
        return self._apis[index]

    def serving(self) -> int:
        return sum(1 for app in self._apps if app is not None and app.running)

    async def start(self) -> None:
        limit = asyncio.Semaphore(START_CONCURRENCY)

        async def one(number: int) -> None:
            async with limit:
                await self._start(number)

        await asyncio.gather(*(one(n) for n in range(len(self._apis))))

    async def _start(self, number: int) -> None:
        settings = business_settings(self._info, number, self._storage.path)
        client = ZimunClient.from_settings(
            settings, http=self.http.zimun_http(str(settings.ZIMUN_BASE_URL))
        )
        scope = _scope(self._storage, number)
        conversation = Conversation(client, scope, default_language="en", now=self._now)

        async def close(_app: Application) -> None:
            await client.aclose()  # leaves the shared pool open

        app = build_application(
            settings,
            conversation,
            request=self.http.bot_request(),
            get_updates_request=self.http.updates_request(),
            rate_limiter=None,  # Telegram's 30 messages/s per bot is not what is measured
            update_budget=None,
            on_shutdown=(close,),
        )
        api = self._apis[number]
        observe(app, api)
        await app.initialize()  # getMe
        probe = await probe_zimun(client)
        if not probe.ok:
            raise RuntimeError(f"business {number}: {probe.detail}")
        if app.post_init:
            await app.post_init(app)
        await app.start()
        self._apps[number] = app
        api.deliver = lambda update: self._deliver(app, update)

    def _deliver(self, app: Application, update: dict[str, Any]) -> None:
        """What the webhook does with Telegram's POST: parse the body, queue the Update."""
        data = json.loads(json.dumps(update))
        app.update_queue.put_nowait(Update.de_json(data, app.bot))

    async def stop(self) -> None:
        limit = asyncio.Semaphore(STOP_CONCURRENCY)

        async def one(app: Application) -> None:
            async with limit:
                if app.running:
                    await app.stop()
                    if app.post_stop:
                        await app.post_stop(app)
                await app.shutdown()
                if app.post_shutdown:
                    await app.post_shutdown(app)

        try:
            await asyncio.gather(*(one(app) for app in self._apps if app is not None))
        finally:
            await self.http.aclose()


def _without_flood_control() -> None:
    """Build every business without Telegram's 30 messages/s per bot and each chat's budget
    of updates, as the other benchmarks do: they would measure Telegram's limits, not the bot
    (a lone bot at 100 updates/s would wait for its 30 messages/s). In this process only."""
    build = wiring.build
    if getattr(build, "without_flood_control", False):
        return

    def unlimited(settings: Settings, **options: Any) -> wiring.Built:
        return build(settings, **{**options, "rate_limiter": None, "update_budget": None})

    unlimited.without_flood_control = True  # type: ignore[attr-defined]
    wiring.build = unlimited  # type: ignore[assignment]


def _scope(storage: Storage, number: int) -> Storage:
    """Business `number`'s part of the one database (the whole of it before Storage had
    business scopes: the customers' chat ids differ anyway)."""
    for_business = getattr(storage, "for_business", None)
    return for_business(f"b{number}") if for_business is not None else storage
