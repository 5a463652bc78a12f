"""A minimal misbehaving Zimun on 127.0.0.1, for the few cases the sandbox will not do
(it is faithful; these servers are not): a page token repeated forever, HTML error pages."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def token(request: Request) -> Response:
    return JSONResponse({"access_token": "t0k3n", "token_type": "Bearer", "expires_in": 3600})


def app(*routes: Route) -> Starlette:
    return Starlette(routes=[Route("/oauth/token", token, methods=["POST"]), *routes])


@dataclass(frozen=True)
class Loopback:
    root_url: str

    @property
    def base_url(self) -> str:
        return self.root_url + "/api/v1"

    @property
    def token_url(self) -> str:
        return self.root_url + "/oauth/token"


@contextmanager
def serve(application: Starlette) -> Iterator[Loopback]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(application, log_level="warning", lifespan="off", http="h11", ws="none")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.005)
        yield Loopback(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
