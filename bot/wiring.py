"""The composition root: the one place that builds the bot from its wings and runs it.

Storage, the Zimun client, the operator's words and rules, the conversation, the follow-up of
bookings (bot.followup.services) and the Telegram adapter around them are made here and nowhere
else; `python -m bot` (bot.__main__) only parses the command line and calls in. Tests and the
benchmark build the same Application through `build_application`.

With BUSINESSES_FILE, `run` serves many businesses in one process (`run_many`): each is built
by `build_business`, the same `build` as the one business of a process without the file, on its
scope of the one database and on the process's shared HTTP clients, metrics, cap on updates
handled at once and scheduler; bot.telegram.fleet starts, retries, reloads (SIGHUP) and stops
them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import re
import signal
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.config.businesses import BusinessConfig, load_businesses
from bot.config.clock import utc_now
from bot.config.settings import Settings, SettingsError

if TYPE_CHECKING:
    import socket

    from starlette.routing import BaseRoute
    from telegram.ext import Application

    from bot.chat.engine import Conversation
    from bot.config.businesses import BusinessConfig
    from bot.ops.health import CheckResult
    from bot.ops.metrics import BusinessState, Metrics
    from bot.store.contract import Store
    from bot.telegram.cluster import Cluster, PollShare
    from bot.telegram.fleet import Business, BusinessSpec
    from bot.telegram.shared_http import SharedHttp
    from bot.zimun.client import ZimunClient

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAILURE = 0, 1
# What Telegram accepts as a webhook secret_token (1-256 of these characters), from 32 on: the
# secret is all that stands between the internet and the update queue.
SECRET_TOKEN_RE = r"^[A-Za-z0-9_-]{32,256}$"
URL_RE = re.compile(r"\w+://\S+")
# Bits a secret's own characters carry (their counts' Shannon entropy times the length): a
# secrets.token_hex(16) carries 94 or more, "a" * 32 none, "ab" * 16 thirty-two.
SECRET_MIN_BITS = 80.0
DEFAULT_LABEL = "default"  # the one business of a process without BUSINESSES_FILE, in metrics
METRICS_PATH = "/metrics"  # Prometheus; on the listener, never to be exposed by the proxy
MAX_CHECK_LINE = 400  # characters of one `check` line: Zimun's error texts are quoted in them


class StartupError(Exception):
    """A problem found while starting; `str()` is the one line shown to the operator."""


def webhook_secret(settings: Settings) -> str | None:
    """The secret Telegram must send with every webhook request; required in webhook mode."""
    secret = settings.WEBHOOK_SECRET.get_secret_value() if settings.WEBHOOK_SECRET else None
    if settings.WEBHOOK_URL is None:
        return secret
    if not secret:
        raise SettingsError(
            "WEBHOOK_SECRET is not set (required with WEBHOOK_URL, so that only Telegram "
            "can post updates; 32 to 256 letters, digits, _ and -)"
        )
    if not re.match(SECRET_TOKEN_RE, secret):
        raise SettingsError(
            "WEBHOOK_SECRET is invalid: use 32 to 256 letters, digits, _ and - "
            "(e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if guessable(secret):
        raise SettingsError(
            "WEBHOOK_SECRET is too easy to guess (too few different characters, or a short "
            "piece repeated): use a random one, e.g. the output of: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret


def guessable(secret: str) -> bool:
    """Whether `secret` is too regular to keep strangers out: its characters carry fewer than
    SECRET_MIN_BITS, or it is a shorter piece repeated ("abcdefgh" * 4). The length rule alone
    let 32 x "a" through."""
    counts = Counter(secret).values()
    bits = -sum(n * math.log2(n / len(secret)) for n in counts)
    repeated = any(
        len(secret) % size == 0 and secret == secret[:size] * (len(secret) // size)
        for size in range(1, len(secret) // 2 + 1)
    )
    return bits < SECRET_MIN_BITS or repeated


@contextmanager
def telegram_errors() -> Iterator[None]:
    """Telegram's start-up refusals as one line each."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        yield
    except InvalidToken:
        raise StartupError(
            "Telegram rejected TELEGRAM_BOT_TOKEN (check it with BotFather)"
        ) from None
    except NetworkError as exc:
        raise StartupError(
            f"cannot reach the Telegram Bot API at TELEGRAM_BASE_URL: {_reason(exc)}"
        ) from None
    except TelegramError as exc:
        raise StartupError(f"Telegram refused to start the bot: {_reason(exc)}") from None


@dataclass(frozen=True)
class Built:
    """The Application and what it runs on (the health check reads the same store)."""

    app: Application
    storage: Store
    client: ZimunClient
    conversation: Conversation
    cluster: Cluster | None = None  # several processes share the store (DATABASE_URL)


def cluster_for(
    settings: Settings, storage: Store, share: PollShare | None = None
) -> Cluster | None:
    """The bot's coordination with its other processes (bot.telegram.cluster) when its store
    is PostgreSQL, which several processes may share; None with SQLite (one process).
    `share`: the process's share of its bots' polling (BUSINESSES_FILE)."""
    from bot.store.factory import database_url
    from bot.telegram.cluster import Cluster, bot_key

    if not database_url(settings):
        return None
    token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
    polled = settings.WEBHOOK_URL is None
    return Cluster(storage, storage.business, bot_key(token), share, polled=polled)


async def open_bot_store(settings: Settings) -> Store:
    """The process's store (bot.store.factory): PostgreSQL when DATABASE_URL is set, else
    SQLite at BOT_DB_PATH. Opened on the event loop that runs the bot: PostgreSQL's pool
    belongs to it."""
    from bot.store.factory import database_url, open_store

    try:
        return await open_store(settings, now=utc_now)
    except Exception as exc:  # StorageError, sqlite3 errors: say which, not a traceback
        if database_url(settings):  # the message names host and database, never the password
            raise StartupError(f"cannot open the database (DATABASE_URL): {exc}") from None
        raise StartupError(f"cannot open BOT_DB_PATH={settings.BOT_DB_PATH!r}: {exc}") from None


def build(
    settings: Settings,
    *,
    storage: Store,
    close_storage: bool = False,
    page_sock: socket.socket | None = None,
    **options: Any,
) -> Built:
    """Zimun client and conversation over `storage` (open_bot_store; a business's scope of
    the process's store) behind the Telegram Application; the Application's shutdown closes
    the client, and the store with `close_storage` (the one business of a process without
    BUSINESSES_FILE: else the process closes it). `page_sock`: where the booking page is
    served beside long polling (MINI_APP_URL without a webhook). `options` go to
    build_application (shared update slots, metrics observers)."""
    from bot.chat.engine import Conversation
    from bot.config.operator import load_operator
    from bot.zimun.client import ZimunClient

    now = utc_now  # the one clock the bot decides by: the store's, the conversation's
    opened = storage
    zimun_options = options.pop("zimun", {})
    client = ZimunClient.from_settings(settings, now=now, **zimun_options)
    operator = load_operator(settings)
    conversation = Conversation(
        client,
        storage,
        now=now,
        default_language=settings.default_language,
        reminder_offsets=settings.reminder_offsets,
        rules=operator.rules,
        business=operator.business,
        calendar_url=str(settings.MINI_APP_URL) if settings.MINI_APP_URL else None,
    )

    async def close_resources(_app: Application) -> None:
        try:
            await client.aclose()
        finally:
            if close_storage:
                await opened.close()
                log.info("storage closed")

    page_startup, page_shutdown = page_listener(settings, conversation, page_sock)
    options["on_startup"] = (*options.pop("on_startup", ()), *page_startup)
    on_shutdown = (*page_shutdown, close_resources, *options.pop("on_shutdown", ()))
    cluster = cluster_for(settings, storage)
    options.setdefault("cluster", cluster)
    app = build_application(settings, conversation, on_shutdown=on_shutdown, **options)
    return Built(app, storage, client, conversation, options["cluster"])


def run(settings: Settings) -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_URL is set.

    On a stop signal python-telegram-bot stops fetching, commits the update offset, finishes
    every update already fetched, then runs the shutdown hooks (poll_until_stopped).
    """
    from bot.config.businesses import load_businesses
    from bot.telegram.app import ALLOWED_UPDATES, check_telegram

    secret = webhook_secret(settings)
    businesses = load_businesses(settings)
    if businesses is not None:
        return run_many(settings, businesses, secret)
    with telegram_errors():
        me = asyncio.run(check_telegram(settings))
    log.info("Telegram knows this bot as @%s", me.username)
    metrics = make_metrics()
    if settings.WEBHOOK_URL is None or secret is None:
        options = counted(metrics)
        sock = bind_metrics(settings)
        if sock is not None:
            listening = metrics_listener(metrics, sock)
            options["on_startup"] += listening["on_startup"]
            options["on_shutdown"] = listening["on_shutdown"]
        loop = asyncio.new_event_loop()  # the store's and run_polling's
        asyncio.set_event_loop(loop)
        store = loop.run_until_complete(open_bot_store(settings))
        page_sock = page_socket(settings)
        built = build(settings, storage=store, close_storage=True, page_sock=page_sock, **options)
        tune_gc()
        log.info("starting with long polling")
        try:
            with telegram_errors():
                if built.cluster is not None:
                    poll_as_one_of_many(built.app, built.cluster, loop)
                else:
                    poll_until_stopped(built.app, list(ALLOWED_UPDATES), loop)
        finally:
            if sock is not None:
                sock.close()
    else:
        run_webhook(settings, secret, metrics)
    log.info("stopped")
    return EXIT_OK


def counted(metrics: Metrics, business_id: str = "") -> dict[str, Any]:
    """build()'s options that count one business's updates, bookings, errors and Zimun calls.
    The one business of a process without BUSINESSES_FILE is "default" in the labels, and
    counted as serving once its Application runs (the fleet tells the metrics of its own)."""
    counts = metrics.for_business(business_id or DEFAULT_LABEL)
    options: dict[str, Any] = {"metrics": counts, "zimun": {"observe": counts.zimun_call}}
    if not business_id:

        async def serving(_app: Application) -> None:
            counts.set_state("serving")

        options["on_startup"] = (serving,)
    return options


def bind_metrics(settings: Settings) -> socket.socket | None:
    """Polling mode: the socket of /metrics (METRICS_PORT on WEBHOOK_LISTEN), or None."""
    from bot.telegram.webhook import bind

    if settings.METRICS_PORT is None:
        return None
    try:
        return bind(settings.WEBHOOK_LISTEN, settings.METRICS_PORT)
    except OSError as exc:
        raise StartupError(
            f"cannot listen on WEBHOOK_LISTEN={settings.WEBHOOK_LISTEN} "
            f"METRICS_PORT={settings.METRICS_PORT}: {exc.strerror or exc}"
        ) from None


def metrics_route(metrics: Metrics) -> Any:
    """GET /metrics: the Prometheus text exposition (an exact path: the listener does not
    redirect slashes, so a Mount would miss "/metrics")."""
    from prometheus_client import CONTENT_TYPE_LATEST
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def exposition(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return Route(METRICS_PATH, exposition, methods=["GET"])


def metrics_listener(metrics: Metrics, sock: socket.socket) -> dict[str, Any]:
    """build()'s hooks that serve /metrics on `sock` while the Application runs."""
    from bot.telegram.webhook import listener, serve_listener

    serving: list[asyncio.Task[None]] = []

    async def start(_app: Application) -> None:
        app = listener([metrics_route(metrics)])
        serving.append(asyncio.get_running_loop().create_task(serve_listener(app, sock)))

    async def stop(_app: Application) -> None:
        for task in serving:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return {"on_startup": (start,), "on_shutdown": (stop,)}


def poll_until_stopped(
    app: Application, allowed_updates: list[str], loop: asyncio.AbstractEventLoop | None = None
) -> None:
    """`run_polling` with our own stop signals, so that a stop during start-up is a normal stop:
    python-telegram-bot's own handler, arriving while it still bootstraps, interrupts a
    request and surfaces as a network error (an operator's `systemctl stop` right after a start
    would exit 1). Here a signal while running stops it gracefully (`stop_running`), one during
    start-up ends the start, and an error the interruption causes is not reported as one."""
    if loop is None:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the loop run_polling takes
    stopping: list[int] = []

    def on_signal(signum: int) -> None:
        stopping.append(signum)
        if app.running:
            app.stop_running()
        else:
            raise SystemExit(0)  # python-telegram-bot shuts down what it started

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        app.run_polling(allowed_updates=allowed_updates, stop_signals=None)
    except Exception as exc:
        if not stopping:
            raise
        log.info("stopped while starting (%s)", type(exc).__name__)


def poll_as_one_of_many(
    app: Application, cluster: Cluster, loop: asyncio.AbstractEventLoop
) -> None:
    """Long polling as one of several processes of the bot (bot.telegram.cluster): the
    Application runs and handles what it is given, and polls while this process holds the
    bot's polling role; SIGINT/SIGTERM stop it as run_polling would (the role is given up at
    once, so another process polls at its next try)."""
    from bot.telegram.app import polling

    asyncio.set_event_loop(loop)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async def until_stopped() -> None:
        async with polling(app, cluster=cluster):
            await stop.wait()

    try:
        loop.run_until_complete(until_stopped())
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def tune_gc() -> None:
    """Fewer and cheaper garbage collections for a long-running event loop: what is alive once
    the bot is built (modules, schemas, catalogs, the Application) is moved out of the
    collector's scans, and young collections run every 50,000 allocations instead of 700.
    `make bench` (500 customers, 50 ms API): full collections of 50-100 ms went from ~20 per
    10 s to none, p95 latency per update 117 -> 90 ms, CPU per update -5%."""
    gc.collect()  # garbage left by start-up must not be frozen with the rest
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def run_webhook(settings: Settings, secret: str, metrics: Metrics) -> None:
    """The webhook and GET /healthz on WEBHOOK_LISTEN:WEBHOOK_PORT (bot.telegram.webhook)."""
    from bot.ops.health import Health, probe_zimun
    from bot.telegram.app import ALLOWED_UPDATES
    from bot.telegram.webhook import bind, serve_webhook
    from bot.zimun.client import ZimunClient

    url = str(settings.WEBHOOK_URL)
    try:
        sock = bind(settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT)
    except OSError as exc:
        raise StartupError(
            f"cannot listen on WEBHOOK_LISTEN={settings.WEBHOOK_LISTEN} "
            f"WEBHOOK_PORT={settings.WEBHOOK_PORT}: {exc.strerror or exc}"
        ) from None
    runner = asyncio.Runner()  # one loop: the store's pool is opened on the one that serves
    try:
        store = runner.run(open_bot_store(settings))
    except BaseException:
        runner.close()
        sock.close()
        raise
    built = build(settings, storage=store, close_storage=True, **counted(metrics))
    # The probe has its own client: its catalog refresh must not disturb the conversations'.
    probe_client = ZimunClient.from_settings(settings, max_retries=0, timeout=5.0)
    health = Health(lambda: probe_zimun(probe_client), built.storage)
    tune_gc()

    async def serve() -> None:
        try:
            await serve_webhook(
                built.app,
                sock=sock,
                url=url,
                path=urlsplit(url).path,
                secret=secret,
                allowed_updates=ALLOWED_UPDATES,
                health=health,
                take=built.cluster.take if built.cluster is not None else None,
                extra=[
                    metrics_route(metrics),
                    *page_routes(settings, built.conversation, built.app),
                ],
            )
        finally:
            await probe_client.aclose()

    log.info("starting the webhook on %s:%s", settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT)
    try:
        with telegram_errors():
            runner.run(serve())
    finally:
        runner.close()
        sock.close()


# ---- the booking page (bot.miniapp, MINI_APP_URL) ---------------------------------------------


def page_routes(
    settings: Settings,
    conversation: Conversation | None,
    app: Application,
    *,
    prefix: str | None = None,
) -> list[BaseRoute]:
    """The booking page's routes for `conversation`'s business under MINI_APP_URL's path (or
    `prefix`: "" for a business's page mounted by the fleet's listener), its messages for the
    chat sent as the chat's own, by the business's own bot; none without MINI_APP_URL."""
    if settings.MINI_APP_URL is None or conversation is None:
        return []
    from bot.core.screens import Reply
    from bot.miniapp.routes import miniapp_routes
    from bot.telegram.buckets import Buckets, Verdict
    from bot.telegram.budget import BURST, PER_SECOND
    from bot.telegram.cluster import TurnAdmission
    from bot.telegram.delivery import deliver
    from bot.telegram.ordering import PerChatOrdering

    budget = Buckets(BURST, PER_SECOND)  # per customer, as the chat's budget of updates
    # The page's requests take their turn in the chat's lane (bot.telegram.ordering).
    lanes = app.update_processor
    serialize = lanes.in_lane if isinstance(lanes, PerChatOrdering) else None
    turns = lanes.admission if isinstance(lanes, PerChatOrdering) else None
    if serialize is not None and isinstance(turns, TurnAdmission):  # several processes:
        serialize = turns.after(serialize)  # ... and in the chat's turn, as its updates

    async def send(chat_id: int, reply: Reply) -> None:
        await deliver(app.bot, chat_id, reply)

    return miniapp_routes(
        conversation,
        send,
        bot_token=settings.TELEGRAM_BOT_TOKEN.get_secret_value(),
        prefix=urlsplit(str(settings.MINI_APP_URL)).path if prefix is None else prefix,
        script_url=str(settings.MINI_APP_SCRIPT_URL),
        admit=lambda chat_id: budget.take(chat_id) is Verdict.ADMIT,
        serialize=serialize,
    )


def page_socket(settings: Settings) -> socket.socket | None:
    """In polling mode with MINI_APP_URL: the web listener's socket, bound before anything
    starts (a taken port is one clear line)."""
    if settings.MINI_APP_URL is None:
        return None
    from bot.telegram.webhook import bind

    try:
        return bind(settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT)
    except OSError as exc:
        raise StartupError(
            f"cannot listen on WEBHOOK_LISTEN={settings.WEBHOOK_LISTEN} "
            f"WEBHOOK_PORT={settings.WEBHOOK_PORT} for MINI_APP_URL: {exc.strerror or exc}"
        ) from None


def page_listener(
    settings: Settings, conversation: Conversation, sock: socket.socket | None
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Start-up and shut-down hooks that serve the booking page on `sock` beside long
    polling; none without a socket."""
    if sock is None:
        return (), ()
    from bot.telegram.webhook import Listener

    running: list[Listener] = []

    async def start(app: Application) -> None:
        listener = Listener(page_routes(settings, conversation, app), sock)
        await listener.start()
        running.append(listener)
        log.info(
            "serving the booking page on %s:%s", settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT
        )

    async def stop(app: Application) -> None:
        for listener in running:
            await listener.stop()
        sock.close()

    return (start,), (stop,)


# ---- many businesses in one process (BUSINESSES_FILE) -----------------------------------------


def run_many(settings: Settings, businesses: list[BusinessConfig], secret: str | None) -> int:
    """Serve every business of BUSINESSES_FILE in one event loop until SIGINT/SIGTERM: one
    web listener (webhook mode: business <id> at WEBHOOK_URL/<id>; /healthz; /metrics) or one
    long poll per business; SIGHUP re-reads the file (bot.telegram.fleet)."""
    from bot.telegram.webhook import bind

    sock = page_sock = None
    webhook = settings.WEBHOOK_URL is not None and secret is not None
    if webhook:
        port = settings.WEBHOOK_PORT
        listen = settings.WEBHOOK_LISTEN
    elif settings.METRICS_PORT is not None:
        port, listen = settings.METRICS_PORT, settings.WEBHOOK_LISTEN
    else:
        port = None
    if port is not None:
        try:
            sock = bind(listen, port)
        except OSError as exc:
            raise StartupError(f"cannot listen on {listen}:{port}: {exc.strerror or exc}") from None
    if not webhook and port != settings.WEBHOOK_PORT:
        page_sock = page_socket(settings)  # polling with MINI_APP_URL: the pages' listener
    try:
        asyncio.run(serve_many_on_store(settings, businesses, secret, sock, page_sock))
    finally:
        for bound in (sock, page_sock):
            if bound is not None:
                bound.close()
    log.info("stopped")
    return EXIT_OK


async def serve_many_on_store(
    settings: Settings,
    businesses: list[BusinessConfig],
    secret: str | None,
    sock: socket.socket | None,
    page_sock: socket.socket | None = None,
) -> None:
    """`serve_many` on the process's store, opened on this loop and closed after."""
    storage = await open_bot_store(settings)
    try:
        await serve_many(settings, businesses, secret, storage, sock, page_sock)
    finally:
        await storage.close()
        log.info("storage closed")


async def serve_many(
    settings: Settings,
    businesses: list[BusinessConfig],
    secret: str | None,
    storage: Store,
    sock: socket.socket | None,
    page_sock: socket.socket | None = None,
) -> None:
    """The fleet behind its listeners: `sock` (the webhooks, or /metrics in polling mode;
    /healthz; the booking pages unless `page_sock`, polling mode's own for them, is given)."""
    from bot.config import chat_tag
    from bot.config.businesses import derived_webhook_secret
    from bot.ops.health import FleetHealth
    from bot.telegram.cluster import PollShare
    from bot.telegram.fleet import BusinessSpec, Fleet, Webhooks, run_fleet
    from bot.telegram.ordering import DEFAULT_CONCURRENCY
    from bot.telegram.scheduler import SharedScheduler
    from bot.telegram.shared_http import SharedHttp
    from bot.telegram.webhook import (
        fleet_pages,
        fleet_routes,
        health_route,
        listener,
        serve_listener,
    )

    # One key for every log line's chat tag, whichever businesses come and go.
    chat_tag.set_key(secret or businesses[0].settings.TELEGRAM_BOT_TOKEN.get_secret_value())
    metrics = make_metrics()
    slots = asyncio.Semaphore(DEFAULT_CONCURRENCY)  # updates handled at once, all businesses
    webhooks = None
    if settings.WEBHOOK_URL is not None and secret is not None:
        webhooks = Webhooks(
            str(settings.WEBHOOK_URL), lambda bid: derived_webhook_secret(secret, bid)
        )

    http = SharedHttp()  # one Bot API pool, one per Zimun host, one TLS context

    # Several processes on one database: the polling of the file's bots spreads over them.
    share = PollShare(storage, lambda: len(fleet.members)) if webhooks is None else None

    def build_one(spec: BusinessSpec) -> Business:
        return build_business(spec, storage, http, slots=slots, metrics=metrics, share=share)

    fleet = Fleet(
        build_one,
        preflight=zimun_preflight,
        webhooks=webhooks,
        on_state=partial(business_state, metrics),
        # What a thousand businesses built is alive for good: out of the collector's scans
        # (bench/fleet: young collections of hundreds of ms under load without it).
        on_all_serving=tune_gc,
    )

    def reread() -> list[BusinessSpec] | None:
        from bot.config.businesses import load_businesses
        from bot.config.settings import load_settings

        try:
            again = load_businesses(load_settings())
        except SettingsError as exc:
            log.warning("BUSINESSES_FILE not re-read, nothing changed: %s", exc)
            return None
        if not again:
            log.warning("BUSINESSES_FILE is no longer set; nothing changed")
            return None
        log_secrets_of(settings, again)
        return [BusinessSpec(b.id, b.settings) for b in again]

    pages: list[Any] = []  # business <id>'s booking page at MINI_APP_URL's path + "/<id>/"
    if settings.MINI_APP_URL is not None:
        pages = fleet_pages(urlsplit(str(settings.MINI_APP_URL)).path, fleet.page)
    listeners: list[tuple[socket.socket, list[Any]]] = []
    health = None
    if sock is not None:
        routes: list[Any] = []
        if webhooks is not None:
            routes += fleet_routes(urlsplit(webhooks.base_url).path, fleet.endpoint)
        health = FleetHealth(fleet.all_serving, storage)
        routes.append(health_route(health))
        if metrics is not None:
            routes.append(metrics_route(metrics))
        listeners.append((sock, routes + (pages if page_sock is None else [])))
    if page_sock is not None and pages:
        listeners.append((page_sock, pages))
    if pages:
        log.info(
            "serving each business's booking page at %s<id>/ on %s:%s",
            urlsplit(str(settings.MINI_APP_URL)).path.rstrip("/") + "/",
            settings.WEBHOOK_LISTEN,
            settings.WEBHOOK_PORT,
        )
    serve = None
    if listeners:
        apps = [(bound, listener(routes)) for bound, routes in listeners]

        async def serve() -> None:
            probing = None
            if health is not None:  # the database's verdict before the first /healthz
                await health.refresh()
                probing = asyncio.get_running_loop().create_task(health.run())
            try:
                await asyncio.gather(*(serve_listener(app, bound) for bound, app in apps))
            finally:
                if probing is not None:
                    probing.cancel()
                    await asyncio.gather(probing, return_exceptions=True)

    log_secrets_of(settings, businesses)
    tune_gc()
    mode = "webhooks" if webhooks is not None else "long polling"
    log.info("serving %d businesses with %s", len(businesses), mode)
    try:
        await run_fleet(
            fleet,
            [BusinessSpec(b.id, b.settings) for b in businesses],
            reread=reread,
            serve=serve,
            jobs=SharedScheduler(fleet.serving),
        )
    finally:
        await http.aclose()


def build_business(
    spec: BusinessSpec,
    storage: Store,
    http: SharedHttp,
    *,
    slots: asyncio.Semaphore | None = None,
    metrics: Metrics | None = None,
    share: PollShare | None = None,
) -> Business:
    """One business of the file, built by the same code path as the process's one business
    without the file (`build`), on its scope of the process's database and the process's
    shared HTTP clients."""
    from bot.config.operator import load_operator
    from bot.i18n.localizer import use_words
    from bot.telegram.fleet import Business

    # Its words, for everything it says from now on: the fleet builds it in its own task,
    # whose context its Application's tasks inherit.
    use_words(load_operator(spec.settings).overrides)
    zimun: dict[str, Any] = {"http": http.zimun_http(str(spec.settings.ZIMUN_BASE_URL))}
    options: dict[str, Any] = {
        "update_slots": slots,
        "key_chat_tags": False,
        "own_jobs": False,  # the fleet's SharedScheduler runs every business's jobs
        "request": http.bot_request(),
        "get_updates_request": http.updates_request(),
    }
    if metrics is not None:
        counting = counted(metrics, spec.id)
        zimun.update(counting.pop("zimun"))
        options.update(counting)
    options["zimun"] = zimun
    scoped = storage.for_business(spec.id)
    options["cluster"] = cluster_for(spec.settings, scoped, share)
    built = build(spec.settings, storage=scoped, **options)
    return Business(
        spec.id,
        spec.settings,
        built.storage,
        built.client,
        built.conversation,
        built.app,
        cluster=built.cluster,
        page=business_page(spec.settings, built.conversation, built.app),
    )


def business_page(settings: Settings, conversation: Conversation, app: Application) -> Any:
    """One business's booking page as the routes the process's listener mounts at
    MINI_APP_URL's path + "/<id>/" (bot.telegram.webhook.fleet_pages): its own catalog and
    words, initData checked with its own bot token, its own conversation, its messages sent by
    its own bot; built when it starts, dropped when it stops. None without MINI_APP_URL."""
    routes = page_routes(settings, conversation, app, prefix="")
    if not routes:
        return None
    from starlette.routing import Router

    return Router(routes, redirect_slashes=False)


async def zimun_preflight(business: Business) -> str | None:
    """Why the business cannot serve now (Zimun refuses its credentials or does not answer),
    or None."""
    from bot.ops.health import probe_zimun

    result = await probe_zimun(business.client)
    return None if result.ok else f"Zimun {result.detail}"


def log_secrets_of(settings: Settings, businesses: list[BusinessConfig]) -> None:
    """Every business's secrets join the ones no log line may show."""
    from bot.config.logs import configure_logging

    secrets = secrets_of(settings)
    for business in businesses:
        secrets += secrets_of(business.settings)
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT, secrets=secrets)


def business_state(metrics: Metrics, business_id: str, state: BusinessState | None) -> None:
    """The fleet's news for the metrics: a business's state (None: removed), and a failed
    start counted as an error of kind "start"."""
    if state is None:
        metrics.forget(business_id)
        return
    metrics.set_state(business_id, state)
    if state == "failed":
        metrics.for_business(business_id).error("start")


def make_metrics() -> Metrics:
    """The process's Prometheus metrics (bot.ops.metrics)."""
    from bot.ops.metrics import Metrics

    return Metrics()


def check(settings: Settings) -> int:
    """`python -m bot check`: one line per check on stdout; 0 when all pass, else 1."""
    from bot.ops.health import run_checks

    if (businesses := load_businesses(settings)) is not None:
        return check_each(settings, businesses, deep=False)
    results = asyncio.run(run_checks(settings, check_telegram_token))
    show(settings, (r.line() for r in results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILURE


def check_deep(settings: Settings) -> int:
    """`python -m bot check --deep`: the checks above, then the read-only tour of the Zimun
    account as the bot will offer it; 0 when the bot can serve customers, else 1."""
    from bot.config.operator import load_operator
    from bot.ops.deep_check import run_deep_check
    from bot.ops.health import run_checks

    if (businesses := load_businesses(settings)) is not None:
        return check_each(settings, businesses, deep=True)
    results = asyncio.run(run_checks(settings, check_telegram_token))
    show(settings, (r.line() for r in results))
    ready = all(r.ok for r in results)
    if not next(r for r in results if r.name == "Zimun").ok:
        print("Deep check skipped: Zimun does not accept the credentials.")
        return EXIT_FAILURE
    report = asyncio.run(run_deep_check(settings, load_operator(settings), now=utc_now()))
    show(settings, report.lines())
    return EXIT_OK if ready and report.ok else EXIT_FAILURE


def check_each(settings: Settings, businesses: list[BusinessConfig], *, deep: bool) -> int:
    """`check` (`--deep`) of every business of BUSINESSES_FILE (bot/ops/check_many.py)."""
    from bot.ops.check_many import check_businesses

    passed = asyncio.run(
        check_businesses(settings, businesses, check_telegram_token, show, deep=deep, now=utc_now)
    )
    return EXIT_OK if passed else EXIT_FAILURE


def show(settings: Settings, lines: Iterable[str]) -> None:
    """Print check lines scrubbed of every configured secret and cut to MAX_CHECK_LINE: they
    quote Zimun's own error texts, and a token endpoint may echo the request (its Basic
    Authorization header is base64 of the client id and secret)."""
    from bot.config.logs import Scrubber

    scrub = Scrubber(secrets_of(settings))
    for line in lines:
        shown = scrub(line)
        if len(shown) > MAX_CHECK_LINE:
            shown = shown[: MAX_CHECK_LINE - 1] + "…"
        print(shown, flush=True)


def secrets_of(settings: Settings) -> list[str]:
    """The configured secrets, which no log line or check line may show."""
    secrets = [
        settings.TELEGRAM_BOT_TOKEN.get_secret_value(),
        settings.ZIMUN_CLIENT_SECRET.get_secret_value(),
    ]
    if settings.WEBHOOK_SECRET is not None:
        secrets.append(settings.WEBHOOK_SECRET.get_secret_value())
    return secrets


async def check_telegram_token(settings: Settings) -> CheckResult:
    from bot.ops.health import CheckResult
    from bot.telegram.app import check_telegram

    try:
        with telegram_errors():
            me = await check_telegram(settings)
    except StartupError as exc:
        return CheckResult("Telegram", False, str(exc))
    return CheckResult("Telegram", True, f"TELEGRAM_BOT_TOKEN accepted, the bot is @{me.username}")


def build_application(
    settings: Settings, conversation: Conversation, **options: Any
) -> Application:
    """The Telegram Application around `conversation`, with the follow-up of its bookings.

    `options` are bot.telegram.app.build_application's (fake transports, intervals, hooks)."""
    from bot.followup.services import build_followup
    from bot.telegram.app import build_application as telegram_application

    followup = build_followup(
        conversation.api,
        conversation.ledger,
        rules=conversation.rules,
        business=conversation.business,
        now=conversation.now,
        reconcile_calls_per_minute=settings.RECONCILE_CALLS_PER_MINUTE,
        waitlist_calls_per_minute=settings.WAITLIST_CALLS_PER_MINUTE,
    )
    return telegram_application(settings, conversation, followup, **options)


def install_operator(settings: Settings) -> None:
    """Check the operator's words and rules before anything else, and put their rewordings
    of messages (MESSAGES_DIR) in place; SettingsError (one line) when something is wrong."""
    from bot.config.operator import load_operator
    from bot.i18n.localizer import use_overrides

    use_overrides(load_operator(settings).overrides)


def _reason(exc: Exception) -> str:
    """Telegram's reason, without URLs (they would carry the token)."""
    message = str(getattr(exc, "message", "") or type(exc).__name__)
    return URL_RE.sub("[url]", message.replace("httpx.", ""))
