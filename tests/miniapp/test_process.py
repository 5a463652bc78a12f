"""`python -m bot` with MINI_APP_URL in polling mode: its own web listener serves the page on
WEBHOOK_LISTEN:WEBHOOK_PORT, and a customer books through it in Chromium, with initData
signed for the test's bot token, against the test's Zimun; the confirmation reaches the chat."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.miniapp.conftest import LIGHT, STAND_IN, init_data
from tests.miniapp.page import Page, book
from tests.process import Launcher, bot_env, free_port, wait_listening

SCRIPT = "http://127.0.0.1:9/telegram-web-app.js"  # answered by the test's browser routing


async def test_the_bot_process_serves_the_page(
    launcher: Launcher,
    fake_api: tuple[FakeBotAPI, str],
    sandbox: SandboxServer,
    browser: Any,
) -> None:
    fake, _ = fake_api
    port = free_port()
    bot = launcher.start(
        MINI_APP_URL="https://booking.example.test/book/",
        MINI_APP_SCRIPT_URL=SCRIPT,
        WEBHOOK_PORT=str(port),
    )
    base = f"http://127.0.0.1:{port}"
    with httpx.Client() as http:
        wait_listening(http, f"{base}/book/")
    async with httpx.AsyncClient() as client:
        index = await client.get(f"{base}/book/")
        assert index.status_code == 200
        assert "script-src 'self' http://127.0.0.1:9" in index.headers["content-security-policy"]
        assert (await client.post(f"{base}/book/api/open")).status_code == 401
    assert fake.calls_of("setChatMenuButton")

    data = init_data(fake.token, 3131, "de", sandbox.clock.now())
    fragment = (
        f"tgWebAppData={quote(data, safe='')}&tgWebAppVersion=7.0"
        f"&tgWebAppThemeParams={quote(json.dumps(LIGHT), safe='')}"
    )
    page = await Page.open(
        browser, f"{base}/book/#{fragment}", script=(SCRIPT, STAND_IN.read_bytes())
    )
    await book(page, "Jonas Weber", "jonas@example.com")
    fake.wait_for_sync(lambda: len(fake.documents(3131)) == 1)
    assert page.errors == []
    await page.close()
    assert bot.stop() == 0, bot.log


def test_the_webhook_server_serves_the_page_too(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    """In webhook mode the page and its endpoints are on the webhook's own server."""
    fake, base_url = fake_api
    port = free_port()
    env = bot_env(
        fake,
        base_url,
        sandbox,
        tmp_path / "bot.db",
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram/hook",
        WEBHOOK_SECRET="s3cret-Token_1-0123456789abcdefghijk",
        WEBHOOK_PORT=str(port),
        MINI_APP_URL="https://booking.example.test/book/",
    )
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        fake.wait_for_sync(lambda: fake.webhook or bot.poll() is not None, 30)
        assert bot.poll() is None, log_path.read_text()
        base = f"http://127.0.0.1:{port}/book"
        auth = "tma " + init_data(fake.token, 3232, "it", sandbox.clock.now())
        with httpx.Client(timeout=10) as http:
            wait_listening(http, f"{base}/")
            assert http.get(f"{base}/").status_code == 200
            opened = http.post(f"{base}/api/open", headers={"Authorization": auth}, json={})
            assert opened.status_code == 200, opened.text
            assert opened.json()["language"] == "it"
            assert http.post(f"{base}/api/open", json={}).status_code == 401
    finally:
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(30) == 0, log_path.read_text()
