"""The sandbox in a child process, so its CPU is not counted as the bot's.

The child serves the sandbox with `serve_sandbox` (uvicorn on 127.0.0.1, a free port) and
answers a few commands over a pipe: its URLs, its request counters, what its store holds, its
own CPU time, a latency change, a stats reset. One process per scenario: every scenario starts
with an empty store.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class SandboxInfo:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str


def bench_client(number: int) -> tuple[str, str]:
    """The (client id, secret) of the sandbox's extra client `number` (0-based): one per
    business of the fleet benchmark (bench/fleet.py)."""
    return f"bench-client-{number}", f"bench-secret-{number}-0123456789abcdef"


def _serve(
    conn: Connection, latency_ms: int, now: str | None, token_ttl: float, clients: int
) -> None:
    """The child's main: serve until told to stop (or the parent goes away)."""
    from sandbox.config import DEMO_CLIENT, ClientConfig, SandboxConfig
    from sandbox.testing import serve_sandbox

    extra = tuple(ClientConfig(*bench_client(n)) for n in range(clients))
    config = SandboxConfig(
        latency_ms=latency_ms,
        now=datetime.fromisoformat(now) if now else None,
        token_ttl=token_ttl,
        clients=(DEMO_CLIENT, *extra),
    )
    with serve_sandbox(config) as server:
        conn.send(
            SandboxInfo(server.base_url, server.token_url, server.client_id, server.client_secret)
        )
        while True:
            try:
                command, arg = conn.recv()
            except EOFError:
                return
            if command == "stop":
                conn.send(None)
                return
            conn.send(_answer(server, command, arg))


def _answer(server: Any, command: str, arg: Any) -> Any:
    if command == "stats":
        stats = server.stats
        with stats._lock:
            requests = {f"{m} {r}": n for (m, r), n in sorted(stats.requests.items())}
            statuses = {f"{m} {r} {s}": n for (m, r, s), n in sorted(stats.responses.items())}
            tokens = stats.token_requests
        return {"requests": requests, "responses": statuses, "token_requests": tokens}
    if command == "reset_stats":
        server.stats.reset()
        return None
    if command == "latency":
        server.faults.latency_ms = int(arg)
        return None
    if command == "store":
        appointments = server.store.appointment_list()
        return {
            "appointments": len(appointments),
            "active": sum(1 for a in appointments if a.active),
            "cancelled": sum(1 for a in appointments if a.status == "cancelled"),
            "active_holds": len(server.store.active_holds()),
        }
    if command == "cpu":
        return time.process_time()
    raise ValueError(f"unknown command {command!r}")


class SandboxProcess:
    """`with SandboxProcess(latency_ms=50) as sandbox: sandbox.info.base_url ...`

    `clients`: extra OAuth clients besides the demo one (`bench_client(n)` for n below it),
    so that one sandbox serves every business of a fleet with its own credentials."""

    def __init__(
        self,
        *,
        latency_ms: int = 0,
        now: datetime | None = None,
        token_ttl: float = 3600,
        clients: int = 0,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child, latency_ms, now.isoformat() if now else None, token_ttl, clients),
            name="zimun-sandbox",
            daemon=True,
        )
        self._child = child
        self.info: SandboxInfo | None = None

    def __enter__(self) -> Self:
        self._process.start()
        self._child.close()
        if not self._conn.poll(STARTUP_TIMEOUT):
            self._process.kill()
            raise RuntimeError("the sandbox process did not start")
        self.info = self._conn.recv()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._process.is_alive():
                self._conn.send(("stop", None))
                self._conn.poll(10)
        except (BrokenPipeError, EOFError, OSError):
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._conn.close()

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def stats(self) -> dict[str, Any]:
        return self._ask("stats")

    def reset_stats(self) -> None:
        self._ask("reset_stats")

    def set_latency(self, latency_ms: int) -> None:
        self._ask("latency", latency_ms)

    def store(self) -> dict[str, int]:
        return self._ask("store")

    def cpu_seconds(self) -> float:
        return self._ask("cpu")
