"""How the fleet benchmark builds and starts N businesses in one process: `build_fleet` is the
one function to change when the way the bot builds its businesses changes.

`TodayFleet` is issue 19's prototype made with the production parts: for each business its
own Settings, Zimun client (on the process's shared Zimun pool), storage scope, Conversation
and `bot.wiring.build_application` (on the shared SharedRequest), started `START_CONCURRENCY`
at a time as the process's fleet does: getMe, the Zimun probe (a token and the branch list),
the commands menu, resumed conversations, the scheduler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from telegram import Update
from telegram.ext import Application

from bench.fleet_api import BotApiTransport, WebhookBotAPI, bot_token
from bench.runner import observe
from bench.sandbox_process import SandboxInfo, bench_client
from bot.chat.engine import Conversation
from bot.config.settings import Settings
from bot.ops.health import probe_zimun
from bot.store.storage import Storage
from bot.telegram.shared_http import SharedHttp
from bot.wiring import build_application
from bot.zimun.client import ZimunClient

START_CONCURRENCY = 20  # businesses starting at once
STOP_CONCURRENCY = 50


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
    info: SandboxInfo, storage: Storage, businesses: int, *, now: Callable[[], datetime]
) -> BenchFleet:
    """The fleet under test."""
    return TodayFleet(info, storage, businesses, now=now)


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


def _scope(storage: Storage, number: int) -> Storage:
    """Business `number`'s part of the one database (the whole of it before Storage had
    business scopes: the customers' chat ids differ anyway)."""
    for_business = getattr(storage, "for_business", None)
    return for_business(f"b{number}") if for_business is not None else storage
