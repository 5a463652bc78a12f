"""The webhook under abuse, as operators run it: `python -m bot` in webhook mode on loopback
(listening on 127.0.0.1 by default), the fake Bot API and the sandbox.

Half-open connections (slow-loris) do not starve /healthz or Telegram's updates, even under a
256-file-descriptor limit; after a correct secret, bodies are bounded, a repeated update id is
handled once, "POST /hook/" is no redirect, and refusals do not flood the log. Every loop here
is bounded in count, and every socket has a timeout and is closed at the end."""

from __future__ import annotations

import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.telegram.webhook_guard import MAX_CONNECTIONS, MAX_PER_CLIENT
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.process import bot_env, free_port, wait_listening

SECRET = "w3bhook-Secret_0123456789-abcdefghij"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram/hook"
CHAT = 4343
HALF_OPEN = 300
FILE_LIMIT = 256  # a common default for a service's open files


@dataclass
class Webhook:
    root: str
    url: str
    port: int
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def webhook_bot(
    fake: FakeBotAPI, base_url: str, sandbox: SandboxServer, tmp_path: Path, files: int
) -> Iterator[Webhook]:
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    env = bot_env(
        fake,
        base_url,
        sandbox,
        tmp_path / "bot.db",
        WEBHOOK_URL=root + PATH,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=str(port),  # WEBHOOK_LISTEN left to its default
    )
    log_path = tmp_path / "bot.log"

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    with log_path.open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=log,
            preexec_fn=limit_files,
        )
    try:
        fake.wait_for_sync(lambda: fake.webhook or bot.poll() is not None, 30)
        assert bot.poll() is None, log_path.read_text()
        with httpx.Client(timeout=10) as http:
            wait_listening(http, root + "/healthz")
        yield Webhook(root, root + PATH, port, log_path)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    assert "Traceback" not in log_path.read_text()


def half_open(port: int, stack: ExitStack) -> socket.socket:
    """A connection that starts a request and never finishes its headers."""
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
    sock.sendall(f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_HEADER}: ".encode())
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def test_half_open_connections_starve_neither_health_nor_updates(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    fake, base_url = fake_api
    with (
        webhook_bot(fake, base_url, sandbox, tmp_path, files=FILE_LIMIT) as hook,
        ExitStack() as stack,
    ):
        sockets = [half_open(hook.port, stack) for _ in range(HALF_OPEN)]
        with httpx.Client(timeout=10) as http:
            assert http.get(hook.root + "/healthz").json() == {"status": "ok"}
            fake.user_sends_command(CHAT, "start", language_code="it")
            posted = http.post(hook.url, json=fake.updates[-1], headers={SECRET_HEADER: SECRET})
            assert posted.status_code == 200
        fake.wait_for_sync(lambda: fake.latest_keyboard(CHAT))
        # The server kept at most MAX_CONNECTIONS of them: the oldest made way for the newest.
        assert sum(closed_by_server(s) for s in sockets) >= HALF_OPEN - MAX_CONNECTIONS
    assert f"starting the webhook on 127.0.0.1:{hook.port}" in hook.log


def test_after_the_secret_bodies_are_bounded_and_repeats_dropped(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    fake, base_url = fake_api
    secret = {SECRET_HEADER: SECRET}
    with (
        webhook_bot(fake, base_url, sandbox, tmp_path, files=FILE_LIMIT) as hook,
        httpx.Client(timeout=10) as http,
    ):
        fake.user_sends_command(CHAT, "start", language_code="it")
        start = fake.updates[-1]
        for _ in range(3):  # Telegram redelivering, or someone replaying
            assert http.post(hook.url, json=start, headers=secret).status_code == 200
        fake.user_sends_command(CHAT, "help", language_code="it")
        assert http.post(hook.url, json=fake.updates[-1], headers=secret).status_code == 200
        # One chat's updates are handled in order: once /help is answered, so is every /start.
        fake.wait_for_sync(lambda: len(fake.calls_of("sendMessage", CHAT)) >= 2)

        huge = dict(start, update_id=start["update_id"] + 1000)
        huge["message"] = dict(start["message"], text="x" * 2_000_000)
        assert http.post(hook.url, json=huge, headers=secret).status_code == 413
        stream = (b"x" * 65536 for _ in range(40))  # no Content-Length: cut off, not read whole
        assert http.post(hook.url, content=stream, headers=secret).status_code == 413

        slash = http.post(hook.url + "/", json=start, headers=secret)
        assert slash.status_code == 404 and "location" not in slash.headers

        for _ in range(50):
            forged = http.post(hook.url, json=start, headers={SECRET_HEADER: "guess"})
            assert forged.status_code == 403
        # Still serving after all that.
        assert http.get(hook.root + "/healthz").status_code == 200

    assert len(fake.calls_of("sendMessage", CHAT)) == 2  # /start once, /help once
    refusals = hook.log.count("without the right secret token refused")
    assert 1 <= refusals <= 2, hook.log


def body_pending(port: int, stack: ExitStack, source: str = "127.0.0.1") -> socket.socket | None:
    """A connection whose request headers are all in (with the secret) and whose body is not:
    the server has read them once it answers "100 Continue" (None: it refused the connection)."""
    sock = stack.enter_context(
        socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    )
    try:
        sock.sendall(
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_HEADER}: {SECRET}\r\n"
            "Content-Type: application/json\r\nContent-Length: 2\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        answer = sock.recv(1024)
    except OSError:  # reset: refused
        return None
    if not answer:
        return None
    assert answer.startswith(b"HTTP/1.1 100 Continue"), answer
    return sock


def test_a_request_whose_headers_are_in_is_never_evicted(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A fast stream of partial connections evicted real requests whose body came 50 ms after
    their headers (7 of 8 failed): only connections still sending headers make way now."""
    fake, base_url = fake_api
    with (
        webhook_bot(fake, base_url, sandbox, tmp_path, files=FILE_LIMIT) as hook,
        ExitStack() as stack,
    ):
        real = body_pending(hook.port, stack)
        assert real is not None
        partial = [half_open(hook.port, stack) for _ in range(2 * MAX_CONNECTIONS)]
        with httpx.Client(timeout=10) as http:  # accepted after all of them: they were seen
            assert http.get(hook.root + "/healthz").status_code == 200
        real.sendall(b"{}")  # the body, at last: not an update, but answered
        assert real.recv(1024).startswith(b"HTTP/1.1 400 ")
        assert sum(closed_by_server(s) for s in partial) >= MAX_CONNECTIONS


def test_one_address_cannot_fill_the_server(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Connections that cannot be evicted (headers in, body pending) from one address stop at
    MAX_PER_CLIENT: another address still gets in."""
    fake, base_url = fake_api
    with (
        webhook_bot(fake, base_url, sandbox, tmp_path, files=FILE_LIMIT) as hook,
        ExitStack() as stack,
    ):
        held = [body_pending(hook.port, stack, source="127.0.0.2") for _ in range(MAX_CONNECTIONS)]
        assert sum(s is not None for s in held) == MAX_PER_CLIENT
        with httpx.Client(timeout=10) as http:
            assert http.get(hook.root + "/healthz").status_code == 200


def test_a_header_block_over_the_cap_in_one_write_is_refused(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    """h11 counts only headers still incomplete: 100 KB of headers in one write was accepted."""
    fake, base_url = fake_api
    with (
        webhook_bot(fake, base_url, sandbox, tmp_path, files=FILE_LIMIT) as hook,
        ExitStack() as stack,
    ):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", hook.port), timeout=5))
        padding = "".join(f"X-Pad-{i}: {'a' * 1000}\r\n" for i in range(100))
        sock.sendall(
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{SECRET_HEADER}: {SECRET}\r\n"
            f"{padding}Content-Length: 2\r\n\r\n{{}}".encode()
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 431 ")
        with httpx.Client(timeout=10) as http:  # and the server goes on
            small = http.post(hook.url, content=b"{}", headers={SECRET_HEADER: SECRET})
            assert small.status_code == 400
