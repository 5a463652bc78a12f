"""The sandbox behind a tap: every request it gets is recorded (to prove a check only reads),
and one JSON answer can be damaged on its way out (a field removed or garbled), the way a
server with an undocumented shape would answer. Served by uvicorn on 127.0.0.1.

    with serve_tapped(SandboxConfig(...)) as served:
        served.tap.damage("GET", "/availability", "days.0.slots.0.start_time", "remove")
        ... served.base_url, served.tap.methods() ...
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn

from sandbox.app import API_PREFIX, Sandbox, create_app
from sandbox.config import SandboxConfig

Mode = Literal["remove", "garble"]
GARBLED = "garbled#value"


@dataclass
class Damage:
    method: str
    path: str  # relative to /api/v1
    field_path: str  # dotted, list indexes as numbers: "days.0.slots.0.start_time"
    mode: Mode
    times: int = 1


@dataclass
class Tap:
    """ASGI middleware around the sandbox app."""

    app: Any
    requests: list[tuple[str, str]] = field(default_factory=list)
    damages: list[Damage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def damage(
        self, method: str, path: str, field_path: str, mode: Mode = "remove", times: int = 1
    ) -> None:
        with self.lock:
            self.damages.append(Damage(method.upper(), path, field_path, mode, times))

    def methods(self) -> set[str]:
        with self.lock:
            return {method for method, _ in self.requests}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        with self.lock:
            self.requests.append((method, path))
            damage = self._take(method, path.removeprefix(API_PREFIX))
        if damage is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = json.dumps(_damaged(json.loads(b"".join(chunks)), damage)).encode()
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _take(self, method: str, path: str) -> Damage | None:
        for damage in self.damages:
            if damage.method == method and damage.path == path:
                damage.times -= 1
                if damage.times <= 0:
                    self.damages.remove(damage)
                return damage
        return None


def _damaged(data: Any, damage: Damage) -> Any:
    *parents, last = damage.field_path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if damage.mode == "remove":
        del node[key]
    else:
        node[key] = GARBLED
    return data


@dataclass
class Tapped:
    """A running tapped sandbox: what tests/process.py's bot_env and the settings need."""

    sandbox: Sandbox
    tap: Tap
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def token_url(self) -> str:
        return f"http://{self.host}:{self.port}/oauth/token"

    @property
    def client_id(self) -> str:
        return self.sandbox.config.client.client_id

    @property
    def client_secret(self) -> str:
        return self.sandbox.config.client.client_secret


@contextmanager
def serve_tapped(config: SandboxConfig, host: str = "127.0.0.1") -> Iterator[Tapped]:
    app = create_app(config)
    tap = Tap(app)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    server = uvicorn.Server(
        uvicorn.Config(tap, log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the tapped sandbox did not start")
            time.sleep(0.005)
        yield Tapped(app.state.sandbox, tap, host, sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
