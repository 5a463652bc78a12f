"""What an operator runs to see the bot is healthy: `python -m bot check` (a subprocess, as
operators run it: one line per check, exit 0/1) and GET /healthz in webhook mode (over HTTP on
loopback: 200 when Zimun and the database answer, 503 when either does not)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
import uvicorn

from bot.ops.health import Health, probe_zimun
from bot.store.storage import SCHEMA_VERSION, Storage
from bot.telegram.webhook import webhook_app
from sandbox.testing import SandboxServer
from tests.booking.conftest import make_client
from tests.fakes.bot_api import FakeBotAPI
from tests.process import BOT_PREFIXES, ROOT, bot_env, free_port, wait_listening


def run_check(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def fake() -> Iterator[tuple[FakeBotAPI, str]]:
    api = FakeBotAPI()
    with api.serve() as base_url:
        yield api, base_url


def test_check_passes_with_the_right_token_and_credentials(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    result = run_check(bot_env(api, base_url, sandbox, tmp_path / "bot.db"), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines == [
        "OK   Telegram: TELEGRAM_BOT_TOKEN accepted, the bot is @zimun_test_bot",
        "OK   Zimun: credentials accepted, 5 branches listed",
        f"OK   Storage: BOT_DB_PATH={tmp_path / 'bot.db'} will be created at start",
    ]
    assert not (tmp_path / "bot.db").exists()  # a check creates nothing
    assert sandbox.stats.token_requests == 1


def test_check_reports_a_wrong_token_and_wrong_zimun_credentials(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    wrong_token = "987654321:AAWrongTokenWrongTokenWrongToken_xyz"
    env = bot_env(api, base_url, sandbox, tmp_path / "bot.db")
    env.update(TELEGRAM_BOT_TOKEN=wrong_token, ZIMUN_CLIENT_SECRET="not-the-secret")
    Storage(str(tmp_path / "bot.db")).close()  # an existing database is opened and read
    result = run_check(env, tmp_path)
    assert result.returncode == 1
    telegram, zimun, storage = result.stdout.strip().splitlines()
    assert telegram == (
        "FAIL Telegram: Telegram rejected TELEGRAM_BOT_TOKEN (check it with BotFather)"
    )
    assert zimun.startswith("FAIL Zimun: credentials refused: Zimun token request refused")
    assert "ZIMUN_CLIENT_ID and ZIMUN_CLIENT_SECRET" in zimun
    assert storage.startswith("OK   Storage: ") and f"(schema {SCHEMA_VERSION})" in storage
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "AAWrongToken" not in output and "not-the-secret" not in output


def test_malformed_reminder_offsets_are_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_PREFIXES)}
    env.update(
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN="1:x",
        ZIMUN_CLIENT_ID="id",
        ZIMUN_CLIENT_SECRET="s",
        REMINDER_OFFSETS="24h,tomorrow",
    )
    result = run_check(env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: REMINDER_OFFSETS is invalid: 'tomorrow' is not a duration like "
        "24h, 90m or 1d (got '24h,tomorrow')"
    ]


def test_healthz_answers_in_webhook_mode(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = bot_env(
        api,
        base_url,
        sandbox,
        tmp_path / "bot.db",
        WEBHOOK_URL=url,
        WEBHOOK_SECRET="s3cret-0123456789-abcdefghijklmnopq",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        api.wait_for_sync(lambda: api.webhook or bot.poll() is not None, 30)
        assert bot.poll() is None, log_path.read_text()
        with httpx.Client(timeout=10) as http:
            wait_listening(http, url)
            health = http.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    assert "Traceback" not in log_path.read_text()


class _Served:
    """An ASGI app under uvicorn on a loopback port, in a thread with its own event loop."""

    def __init__(self, app: object) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("server did not start")
            threading.Event().wait(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


async def test_healthz_is_503_when_zimun_or_the_database_fails(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Anyone may ask /healthz: it says "failed", and what failed goes to the log only. Each
    `refresh` stands for one tick of the background probe."""
    storage = Storage(str(tmp_path / "bot.db"))

    async def zimun():  # type: ignore[no-untyped-def]
        async with make_client(sandbox, max_retries=0) as client:
            return await probe_zimun(client)

    health = Health(zimun, storage)
    with _Served(webhook_app(None, "/hook", "secret", health)) as root:  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=root, timeout=10) as http:
            await health.refresh()
            ok = await http.get("/healthz")
            assert (ok.status_code, ok.json()["status"]) == (200, "ok")

            sandbox.faults.fail_next(1, 503, path="/locations")
            with caplog.at_level(logging.WARNING, logger="bot.ops.health"):
                await health.refresh()
            down = await http.get("/healthz")
            assert (down.status_code, down.json()) == (503, {"status": "failed"})
            [zimun_line] = [r.getMessage() for r in caplog.records]
            assert "FAIL Zimun: cannot reach the API" in zimun_line
            assert "Storage" not in zimun_line

            await health.refresh()
            assert (await http.get("/healthz")).status_code == 200
            storage.close()
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="bot.ops.health"):
                await health.refresh()
            broken = await http.get("/healthz")
            assert (broken.status_code, broken.json()) == (503, {"status": "failed"})
            [storage_line] = [r.getMessage() for r in caplog.records]
            assert "FAIL Storage" in storage_line and "Zimun" not in storage_line
            assert sandbox.client_secret not in broken.text + storage_line

            refused = await http.post("/hook", json={"update_id": 1})
            assert refused.status_code == 403  # no secret header


async def test_concurrent_refreshes_share_one_probe(sandbox: SandboxServer, tmp_path: Path) -> None:
    calls = 0

    async def zimun():  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        async with make_client(sandbox) as client:
            return await probe_zimun(client)

    storage = Storage(str(tmp_path / "bot.db"))
    try:
        health = Health(zimun, storage)
        await asyncio.gather(*(health.refresh() for _ in range(5)))
        assert health.report() == (True, {"status": "ok"})
    finally:
        storage.close()
    assert calls == 1


async def test_healthz_never_waits_on_a_slow_zimun(sandbox: SandboxServer, tmp_path: Path) -> None:
    """With Zimun slow, 110 health requests that each awaited a live probe filled the
    100-connection cap and Telegram's POSTs were reset: now they answer from the last verdict
    while the probe is still out (here: never returns), and a verdict gone stale is failed."""
    slow = asyncio.Event()
    now = [0.0]

    async def zimun():  # type: ignore[no-untyped-def]
        if slow.is_set():
            await asyncio.Event().wait()  # Zimun never answers
        async with make_client(sandbox) as client:
            return await probe_zimun(client)

    storage = Storage(str(tmp_path / "bot.db"))
    health = Health(zimun, storage, interval=15, clock=lambda: now[0])
    assert health.report() == (False, {"status": "failed"})  # no verdict yet
    await health.refresh()
    slow.set()
    stuck = asyncio.create_task(health.refresh())
    try:
        with _Served(webhook_app(None, "/hook", "secret", health)) as root:  # type: ignore[arg-type]
            limits = httpx.Limits(max_connections=110)
            async with httpx.AsyncClient(base_url=root, timeout=30, limits=limits) as http:
                answers = await asyncio.gather(*(http.get("/healthz") for _ in range(110)))
                assert {a.status_code for a in answers} == {200}
                now[0] = 15 * 3 + 1  # the background probe has not come back for 3 intervals
                stale = await http.get("/healthz")
                assert (stale.status_code, stale.json()) == (503, {"status": "failed"})
        assert not stuck.done()
    finally:
        stuck.cancel()
        storage.close()


class EchoingTokenEndpoint(BaseHTTPRequestHandler):
    """A token endpoint that refuses the client and quotes back everything it was sent: the
    Authorization header (base64 of id:secret) and the form body, then filler past any cap."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        secret = ECHO_SECRET
        echoed = (
            f"bad client; you sent Authorization: {self.headers['Authorization']} "
            f"(urlsafe {base64.urlsafe_b64encode(f'id:{secret}'.encode()).decode()}), "
            f"body {body}, client_secret={quote(secret)} or {quote_plus(secret)}; " + "x" * 2000
        )
        payload = json.dumps({"error": "invalid_client", "error_description": echoed})
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: object) -> None:
        pass


ECHO_SECRET = "p@ss/wörd+x y-0123456789"


def test_check_never_prints_the_client_secret_in_any_form(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A token endpoint that echoes the request had `check` print the client secret in base64
    (the Basic Authorization header) verbatim, at any length."""
    api, base_url = fake
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoingTokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = bot_env(api, base_url, sandbox, tmp_path / "bot.db")
        env.update(
            ZIMUN_CLIENT_ID="id",
            ZIMUN_CLIENT_SECRET=ECHO_SECRET,
            ZIMUN_TOKEN_URL=f"http://127.0.0.1:{server.server_address[1]}/oauth/token",
        )
        result = run_check(env, tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1
    zimun = next(line for line in result.stdout.splitlines() if "Zimun" in line)
    assert zimun.startswith("FAIL Zimun: credentials refused: Zimun token request refused")
    assert "[secret]" in zimun and len(zimun) <= 400
    basic = base64.b64encode(f"id:{ECHO_SECRET}".encode()).decode()
    forms = {ECHO_SECRET, quote(ECHO_SECRET), quote_plus(ECHO_SECRET), basic, basic[4:-4]}
    output = result.stdout + result.stderr
    assert not [form for form in forms if form in output], output
