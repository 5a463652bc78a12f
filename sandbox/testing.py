"""Run the sandbox for tests: a real uvicorn server on 127.0.0.1, in a background thread.

with serve_sandbox(SandboxConfig(hold_ttl=60)) as server:
    server.base_url      # "http://127.0.0.1:PORT/api/v1"
    server.token_url     # "http://127.0.0.1:PORT/oauth/token"
    server.clock.advance(601)
    server.faults.fail_next(2, 503)
    server.store.appointment_list(), server.store.active_holds()
    server.stats.token_requests, server.stats.count("POST", "/appointments/confirm")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from sandbox.app import API_PREFIX, Sandbox, create_app
from sandbox.auth import Auth
from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.faults import Faults
from sandbox.seed import Seed
from sandbox.stats import Stats
from sandbox.store import Store

STARTUP_TIMEOUT = 10.0


@dataclass
class SandboxServer:
    """A running sandbox: its URLs, its demo credentials, and its insides for assertions."""

    app: Starlette
    sandbox: Sandbox
    host: str
    port: int

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.root_url + "/oauth/token"

    @property
    def config(self) -> SandboxConfig:
        return self.sandbox.config

    @property
    def client_id(self) -> str:
        return self.config.client.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client.client_secret

    @property
    def store(self) -> Store:
        return self.sandbox.store

    @property
    def seed(self) -> Seed:
        return self.sandbox.seed

    @property
    def clock(self) -> Clock:
        return self.sandbox.clock

    @property
    def faults(self) -> Faults:
        return self.sandbox.faults

    @property
    def stats(self) -> Stats:
        return self.sandbox.stats

    @property
    def auth(self) -> Auth:
        return self.sandbox.auth


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # older uvicorn; newer ones skip threads anyway
        pass


@contextmanager
def serve_sandbox(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1"
) -> Iterator[SandboxServer]:
    """Serve a fresh sandbox on a free port until the block ends."""
    app = create_app(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = _ThreadServer(
        uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        yield SandboxServer(app=app, sandbox=app.state.sandbox, host=host, port=port)
    finally:
        server.should_exit = True
        for gate in app.state.sandbox.faults._gates:
            gate.release()
        thread.join(10)
        sock.close()
