"""Run the sandbox for tests: a real uvicorn server on 127.0.0.1, in a background thread.

with serve_sandbox(SandboxConfig(hold_ttl=60)) as server:
    server.base_url      # "http://127.0.0.1:PORT/api/v1"
    server.token_url     # "http://127.0.0.1:PORT/oauth/token"
    server.clock.advance(601)
    server.faults.fail_next(2, 503)
    server.store.appointment_list(), server.store.active_holds()
    server.stats.token_requests, server.stats.count("POST", "/appointments/confirm")
    server.business_cancel(appointment_id), server.business_move(appointment_id, new_start)
    server.remove_service("svc_cleaning"), server.deactivate_location("loc_milan")
    server.faults.damage("GET", "/locations", "items[].timezone", mode="garble")

with serve_sandbox(SandboxConfig(extra_clients=300)) as server:   # 300 businesses' credentials
    server.numbered_client(17)   # ClientConfig("business-17", "secret-17")
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import uvicorn
from starlette.applications import Starlette

from sandbox import control
from sandbox.app import API_PREFIX, Sandbox, create_app
from sandbox.auth import Auth
from sandbox.clock import Clock
from sandbox.config import ClientConfig, SandboxConfig
from sandbox.faults import Faults
from sandbox.seed import Location, Seed, Service
from sandbox.stats import Stats
from sandbox.store import AppointmentRecord, Store

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
    def control_url(self) -> str:
        """The control API (sandbox/control.py), e.g. control_url + "/clock"."""
        return self.root_url + control.PREFIX

    @property
    def config(self) -> SandboxConfig:
        return self.sandbox.config

    @property
    def client_id(self) -> str:
        return self.config.client.client_id

    @property
    def client_secret(self) -> str:
        return self.config.client.client_secret

    def numbered_client(self, n: int) -> ClientConfig:
        """The n-th (from 1) of the numbered clients (SandboxConfig.extra_clients): one
        business's own Zimun credentials when many bots share this sandbox."""
        if not 1 <= n <= self.config.extra_clients:
            raise IndexError(f"the sandbox has {self.config.extra_clients} numbered clients")
        return self.config.all_clients[len(self.config.clients) + n - 1]

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

    # -- the business's own changes, as its front desk makes them: no idempotency key, not
    # through the API. Errors raise sandbox.errors.ApiError with the status and code the API
    # would answer (404 appointment_not_found, 409 slot_unavailable, ...).

    def remove_service(self, service_id: str) -> Service:
        """No longer listed; availability and holds for it: 404 service_not_found."""
        return self.store.remove_service(service_id)

    def deactivate_location(self, location_id: str) -> Location:
        """Listed with active false; availability and holds there: 400 not_bookable."""
        return self.store.deactivate_location(location_id)

    def activate_location(self, location_id: str) -> Location:
        return self.store.activate_location(location_id)

    def business_cancel(self, appointment_id: str) -> AppointmentRecord:
        """GET /appointments/{id} then reads status cancelled and a new updated_at."""
        return self.store.business_cancel(appointment_id)

    def business_move(self, appointment_id: str, new_start: datetime) -> AppointmentRecord:
        """Same rules as a reschedule; reads back with the new times and updated_at."""
        return self.store.business_move(appointment_id, new_start)


class _ThreadServer(uvicorn.Server):
    """uvicorn.Server that stops at once when asked, instead of on its next 0.1 s tick:
    tests start and stop many servers, and those ticks added up."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    def install_signal_handlers(self) -> None:  # older uvicorn; newer ones skip threads anyway
        pass

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, polling every 5 ms instead of sleeping 0.1 s steps."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + self.config.timeout_graceful_shutdown
        state = self.server_state
        # uvicorn offers no event to wait on, hence the short poll.
        while (state.connections or state.tasks) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        for task in self.server_state.tasks:
            task.cancel()
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()

    def stop(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                self._loop.call_soon_threadsafe(self._wake.set)


@contextmanager
def serve_sandbox(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1"
) -> Iterator[SandboxServer]:
    """Serve a fresh sandbox on a free port until the block ends."""
    app = create_app(config)
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it every response on a kept-alive connection waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
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
            timeout_graceful_shutdown=2,  # seconds, for requests still running
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
        server.stop()
        for gate in app.state.sandbox.faults._gates:
            gate.release()
        thread.join(10)
        sock.close()
