"""Webhook mode: one small web server for Telegram's updates and for /healthz.

python-telegram-bot's own `run_webhook` serves only the webhook path (its tornado app is
internal), so the bot runs the "custom webhook" pattern python-telegram-bot documents
(examples/customwebhookbot): a Starlette app under uvicorn that checks Telegram's secret
header and puts each update on `application.update_queue`, next to a GET /healthz for load
balancers. Start and stop follow run_webhook's order: initialize, post_init, listen, setWebhook,
start; on SIGINT/SIGTERM stop listening, finish every queued update, post_stop, shutdown,
post_shutdown.

The server faces the internet (behind the operator's proxy, or not), so it is guarded
(bot.telegram.webhook_guard): a deadline per request, a cap on connections, on header and body
size; an update id seen before is dropped; refusals are logged once a minute at most; and
/healthz says "ok" or "failed", the reasons going to the log only.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import json
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from telegram import Update
from telegram.ext import Application

from bot.ops.health import Health
from bot.telegram.webhook_guard import MAX_BODY_BYTES, RecentIds, Throttle, server_limits

log = logging.getLogger(__name__)
refusals = logging.getLogger(__name__ + ".refused")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Endpoint:
    """Where one bot's updates go: its Application (None while it is known but not serving:
    503, Telegram tries again later), the secret Telegram must send, its recently seen ids."""

    app: Application | None
    secret: str
    seen: RecentIds
    # Several processes behind one load balancer (bot.telegram.cluster.Cluster.take): queue
    # the update and return once it was handled (here, or before by another process), so
    # Telegram's 200 means handled; raises when it cannot be taken (503: Telegram retries).
    # None: one process, which answers at once (`seen` is all).
    take: Callable[[Application, Update], Awaitable[None]] | None = None


class Reporter(Protocol):
    def report(self) -> tuple[bool, dict[str, Any]]: ...


async def receive(request: Request, endpoint: Endpoint) -> Response:
    """One POST from Telegram: check the secret, read the update, queue it."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), endpoint.secret.encode()):
        refusals.warning("webhook request without the right secret token refused")
        return Response(status_code=403)
    app = endpoint.app
    if app is None:
        refusals.info("webhook request for a bot that is not serving now: 503")
        return Response(status_code=503)
    body = await _body(request)
    if body is None:
        refusals.warning("webhook request refused: body larger than %d bytes", MAX_BODY_BYTES)
        return Response(status_code=413)
    try:
        data = json.loads(body)
        update = Update.de_json(data, app.bot)
    except Exception:  # not JSON, or not an Update
        update = None
    if update is None:
        refusals.warning("webhook request refused: not a Telegram update")
        return Response(status_code=400)
    if endpoint.take is not None:  # several processes: answered once handled, wherever
        try:  # (a second delivery here waits for the first's handling: `seen` is not asked)
            await endpoint.take(app, update)
        except Exception as exc:  # the database cannot tell: Telegram delivers it again
            log.warning("webhook: update not taken (%s): 503", type(exc).__name__)
            return Response(status_code=503)
        return Response(status_code=200)  # handled (here, or by another process before)
    if not endpoint.seen.first_time(update.update_id):
        refusals.info("webhook: update %s was received before; dropped", update.update_id)
        return Response(status_code=200)  # received: Telegram must not send it again
    await app.update_queue.put(update)
    return Response(status_code=200)


def health_route(health: Reporter | None) -> Route:
    """GET /healthz: "ok" (200) or "failed" (503), never a reason."""

    async def healthz(request: Request) -> Response:
        if health is None:
            return JSONResponse({"status": "ok"})
        healthy, body = health.report()  # never waits on a probe
        return JSONResponse(body, status_code=200 if healthy else 503)

    return Route(HEALTH_PATH, healthz, methods=["GET"])


def listener(routes: Sequence[BaseRoute]) -> Starlette:
    """The web listener's ASGI app from its routes and mounts, built in one place (the
    webhook, /healthz, /metrics, pages mounted by other features)."""
    starlette = Starlette(routes=list(routes))
    # "POST /hook/" would be answered with a redirect built from the request's Host header.
    starlette.router.redirect_slashes = False
    return starlette


def webhook_app(
    app: Application,
    path: str,
    secret: str,
    health: Reporter | None,
    extra: Sequence[BaseRoute] = (),
    take: Callable[[Application, Update], Awaitable[None]] | None = None,
) -> Starlette:
    """The ASGI app: POST `path` (Telegram, with the secret), GET /healthz, and `extra`
    (`take`: see Endpoint)."""
    endpoint = Endpoint(app, secret, RecentIds(), take)

    async def telegram(request: Request) -> Response:
        return await receive(request, endpoint)

    routes = [
        Route("/" + path.strip("/"), telegram, methods=["POST"]),
        health_route(health),
        *extra,
    ]
    return listener(routes)


def fleet_routes(prefix: str, endpoint: Callable[[str], Endpoint | None]) -> list[BaseRoute]:
    """POST `prefix`/<business id>: each business's updates, with its own secret; an id the
    process does not serve is 404."""

    async def telegram(request: Request) -> Response:
        found = endpoint(request.path_params["business"])
        if found is None:
            refusals.warning("webhook request for an unknown business refused")
            return Response(status_code=404)
        return await receive(request, found)

    path = "/" + "/".join(p for p in (prefix.strip("/"), "{business}") if p)
    return [Route(path, telegram, methods=["POST"])]


@dataclass(frozen=True)
class Site:
    """One business's booking page as the listener finds it: its routes (None while the
    business is starting or failed: 503) and the context its requests run in (the business's
    words and log name, as its own tasks have them)."""

    app: ASGIApp | None
    context: contextvars.Context | None = None


def fleet_pages(prefix: str, site: Callable[[str], Site | None]) -> list[BaseRoute]:
    """`prefix`/<business id>/...: each business's booking page (bot.miniapp), looked up by id
    at request time (businesses come and go on SIGHUP); an id the process does not serve is
    404, a business not serving now 503. `prefix`/<id> redirects to `prefix`/<id>/."""
    base = "/" + "/".join(p for p in (prefix.strip("/"), "{business}") if p)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        found = site(scope["path_params"]["business"])
        if found is None:
            refusals.info("page request for an unknown business: 404")
            await Response(status_code=404)(scope, receive, send)
        elif found.app is None:
            refusals.info("page request for a business that is not serving now: 503")
            await Response(status_code=503, headers={"Retry-After": "5"})(scope, receive, send)
        elif found.context is None:
            await found.app(scope, receive, send)
        else:  # in the business's words and log name, as its Application's own tasks
            work = found.app(scope, receive, send)
            await asyncio.get_running_loop().create_task(work, context=found.context.copy())

    async def to_page(request: Request) -> Response:
        business = request.path_params["business"]
        if site(business) is None:
            return Response(status_code=404)
        return Response(status_code=308, headers={"Location": f"{request.url.path}/"})

    return [Route(base, to_page, methods=["GET"]), Mount(base, app=dispatch)]


async def _body(request: Request) -> bytes | None:
    """The request body, or None as soon as it is known to exceed MAX_BODY_BYTES (a declared
    Content-Length is believed; a longer stream is cut off, never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
    except ClientDisconnect:
        return b""
    return b"".join(chunks)


def quiet_refusals() -> None:
    """At most one log line a minute per kind of refusal, ours and uvicorn's ("Invalid HTTP
    request received." for every malformed request)."""
    for name in (refusals.name, "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, Throttle) for f in logger.filters):
            logger.addFilter(Throttle())


class _Server(uvicorn.Server):
    """uvicorn without its signal handling: the bot owns SIGINT/SIGTERM (uvicorn would re-raise
    the signal after shutting down, and the process would not exit 0)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(listen: str, port: int) -> socket.socket:
    """Bind before anything starts, so a taken port is one clear error (OSError)."""
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


async def serve_webhook(
    app: Application,
    *,
    sock: socket.socket,
    url: str,
    path: str,
    secret: str,
    allowed_updates: Sequence[str],
    health: Health | None = None,
    extra: Sequence[BaseRoute] = (),
    take: Callable[[Application, Update], Awaitable[None]] | None = None,
) -> None:
    """Serve on `sock` until SIGINT/SIGTERM, then stop as run_webhook would (`take`: see
    Endpoint)."""
    config = uvicorn.Config(
        webhook_app(app, path, secret, health, extra, take),
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the bot's (scrubbing) handler
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
        **server_limits(),
    )
    server = _Server(config)
    quiet_refusals()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    probing: asyncio.Task[None] | None = None
    try:
        await app.initialize()
        try:
            if app.post_init:
                await app.post_init(app)
            if health is not None:  # a verdict before the first request, then in the background
                await health.refresh()
                probing = asyncio.create_task(health.run())
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            try:
                await _started(server, serving)
                await app.bot.set_webhook(
                    url=url, secret_token=secret, allowed_updates=list(allowed_updates)
                )
                await app.start()
                stopping = asyncio.create_task(stop.wait())
                await asyncio.wait({stopping, serving}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                log.info("stopping the webhook")
            finally:
                server.should_exit = True
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await serving
                if app.running:
                    await app.stop()
                    if app.post_stop:
                        await app.post_stop(app)
        finally:
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)
    finally:
        if probing is not None:
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
            raise RuntimeError("the webhook server stopped while starting")
        await asyncio.sleep(0.01)


async def serve_listener(asgi: Any, sock: socket.socket) -> None:
    """The web listener on `sock` until cancelled (then it closes its connections)."""
    config = uvicorn.Config(
        asgi,
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the bot's (scrubbing) handler
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
        **server_limits(),
    )
    server = _Server(config)
    quiet_refusals()
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await _started(server, serving)
        await serving
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await serving


# ---- the web listener in polling mode (the booking page, bot.miniapp) -------------------------


class Listener:
    """`routes` served on `sock` beside long polling (MINI_APP_URL without WEBHOOK_URL), with
    the webhook's guards; started and stopped by the Application's start-up and shut-down
    hooks."""

    def __init__(self, routes: Sequence[BaseRoute], sock: socket.socket) -> None:
        config = uvicorn.Config(
            listener(routes),
            log_level="warning",
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            **server_limits(),
        )
        self.server = _Server(config)
        self.sock = sock
        self.task: asyncio.Task[None] | None = None

    async def start(self, _app: Application | None = None) -> None:
        quiet_refusals()
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        await _started(self.server, self.task)

    async def stop(self, _app: Application | None = None) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.task
