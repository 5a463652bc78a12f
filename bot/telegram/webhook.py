"""Webhook mode: one small web server for Telegram's updates and for /healthz.

python-telegram-bot's own `run_webhook` serves only the webhook path (its tornado app is
internal), so the bot runs the "custom webhook" pattern python-telegram-bot documents
(examples/customwebhookbot): a Starlette app under uvicorn that checks Telegram's secret
header and puts each update on `application.update_queue`, next to a GET /healthz for load
balancers. Start and stop follow run_webhook's order: initialize, post_init, listen, setWebhook,
start; on SIGINT/SIGTERM stop listening, finish every queued update, post_stop, shutdown,
post_shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.health import Health

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


def webhook_app(app: Application, path: str, secret: str, health: Health | None) -> Starlette:
    """The ASGI app: POST `path` (Telegram, with the secret) and GET /healthz."""

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook request without the right secret token refused")
            return Response(status_code=403)
        try:
            data = await request.json()
            update = Update.de_json(data, app.bot)
        except Exception:  # not JSON, or not an Update
            return Response(status_code=400)
        if update is None:
            return Response(status_code=400)
        await app.update_queue.put(update)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        if health is None:
            return JSONResponse({"status": "ok"})
        healthy, body = await health.report()
        return JSONResponse(body, status_code=200 if healthy else 503)

    routes = [
        Route("/" + path.strip("/"), telegram, methods=["POST"]),
        Route(HEALTH_PATH, healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes)


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
) -> None:
    """Serve on `sock` until SIGINT/SIGTERM, then stop as run_webhook would."""
    config = uvicorn.Config(
        webhook_app(app, path, secret, health),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.initialize()
        try:
            if app.post_init:
                await app.post_init(app)
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
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
            raise RuntimeError("the webhook server stopped while starting")
        await asyncio.sleep(0.01)
