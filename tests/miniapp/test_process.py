"""`python -m bot` with MINI_APP_URL in polling mode: its own web listener serves the page on
WEBHOOK_LISTEN:WEBHOOK_PORT, and a customer books through it in Chromium, with initData
signed for the test's bot token, against the test's Zimun; the confirmation reaches the chat."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.miniapp.conftest import LIGHT, STAND_IN, init_data
from tests.miniapp.page import Page, book
from tests.process import Launcher, free_port, wait_listening

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
