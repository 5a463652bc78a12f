"""A stand-in for the operator's load balancer in front of several bot processes' webhooks, on
loopback: each POST goes to the next backend in turn (round robin); a backend that refuses the
connection or fails mid-way is skipped and the request goes to the next (as a load balancer's
retry does, which is how an update may reach two processes). What each backend answered is
counted, so a test can say where updates went.

Served by uvicorn in a thread of the test process (as the fake Bot API is); the fake Bot API's
setWebhook URL is this proxy's."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.process import free_port


class RoundRobin:
    """The proxy's state: its backends (base URLs, changeable while it runs) and counts."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = list(backends)
        self.answered: Counter[str] = Counter()  # backend -> requests it answered
        self.failed: Counter[str] = Counter()  # backend -> requests it failed
        self._next = 0
        self._lock = threading.Lock()

    def _order(self) -> list[str]:
        with self._lock:
            backends = list(self.backends)
            start = self._next % max(len(backends), 1)
            self._next += 1
        return backends[start:] + backends[:start]

    def app(self) -> Starlette:
        client = httpx.AsyncClient(timeout=30.0)

        async def forward(request: Request) -> Response:
            body = await request.body()
            headers = {
                k: v
                for k, v in request.headers.items()
                if k.lower() not in ("host", "content-length")
            }
            for backend in self._order():
                try:
                    answer = await client.post(
                        backend + request.url.path, content=body, headers=headers
                    )
                except httpx.HTTPError:
                    self.failed[backend] += 1
                    continue
                if answer.status_code >= 500:
                    self.failed[backend] += 1
                    continue
                self.answered[backend] += 1
                return Response(answer.content, status_code=answer.status_code)
            return Response(status_code=502)

        return Starlette(routes=[Route("/{path:path}", forward, methods=["POST"])])


@contextmanager
def serve_proxy(proxy: RoundRobin) -> Iterator[str]:
    """Serve `proxy` on a free loopback port; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        proxy.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the proxy did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
