"""The booking page in a real browser: the bot's Application polling the fake Bot API, the
page and its endpoints on the bot's web listener (bot.telegram.webhook.Listener, as in
polling mode) on loopback, the sandbox, and Debian's Chromium driven by Playwright.

Telegram's script is replaced by a faithful stand-in (telegram-web-app.js here) that the test
server serves (MINI_APP_SCRIPT_URL); the tests sign initData with the fake bot's token as
Telegram does and hand it to the page in the URL fragment, as Telegram's client does.

Without Chromium or Playwright the browser tests are skipped, saying why; under CI=true they
fail instead (.ci/run installs Chromium first). The HTTP-level tests run everywhere.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.ext import Application

from bot.chat.engine import Conversation
from bot.miniapp.initdata import sign
from bot.store.storage import Storage
from bot.telegram.app import polling
from bot.telegram.webhook import Listener, bind
from bot.wiring import build_application, page_routes
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI, FakeBots
from tests.fleet.conftest import bots, bots_options, other_sandbox  # noqa: F401  (fixtures)
from tests.process import Launcher
from tests.telegram.harness import RunningBot, bot_settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAND_IN = Path(__file__).with_name("telegram-web-app.js")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "miniapp"
PAGE_PATH = "/app"
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f1f1f1",
}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#aab4bf",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
}


def _missing() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright (the test extra) is not installed"
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    in_browser = [
        item
        for item in items
        if "browser" in getattr(item, "fixturenames", ()) and here in Path(str(item.fspath)).parents
    ]
    reason = _missing() if in_browser else None
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"tests/miniapp need a browser under CI=true: {reason}")
    for item in in_browser:
        item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {reason}"))


def init_data(
    token: str, user_id: int, language: str, auth_date: datetime, first_name: str = "Ana"
) -> str:
    """initData as Telegram signs it for a page opened from the bot `token`."""
    user = {"id": user_id, "first_name": first_name, "language_code": language}
    pairs = [
        ("query_id", f"AAH{user_id}"),
        ("user", json.dumps(user, separators=(",", ":"), ensure_ascii=False)),
        ("auth_date", str(int(auth_date.timestamp()))),
    ]
    return urlencode([*pairs, ("hash", sign(pairs, token))])


@dataclass
class PageBot(RunningBot):
    """The bot with MINI_APP_URL: its Application polling the fake Bot API and its web
    listener serving the page on loopback."""

    conversation: Conversation | None = None
    listener: Listener | None = None
    base: str = ""
    sock: Any = field(default=None)

    async def start(self) -> None:
        storage = Storage(self.settings.BOT_DB_PATH, now=self.sandbox.clock.now)
        client = ZimunClient.from_settings(self.settings)
        self.conversation = Conversation(
            client,
            storage,
            default_language="en",
            now=self.sandbox.clock.now,
            calendar_url=str(self.settings.MINI_APP_URL),
        )

        async def close(_app: Application) -> None:
            await client.aclose()
            storage.close()

        self.storage = storage
        self.app = build_application(
            self.settings, self.conversation, on_shutdown=(close,), **self.build_options
        )
        self._polling = polling(self.app, long_poll=2)
        await self._polling.__aenter__()
        stand_in = STAND_IN.read_bytes()

        async def telegram_script(request: Request) -> Response:
            return Response(stand_in, media_type="text/javascript")

        routes = [
            *page_routes(self.settings, self.conversation, self.app),
            Route("/telegram-web-app.js", telegram_script),
        ]
        self.listener = Listener(routes, self.sock)
        await self.listener.start()

    async def stop(self) -> None:
        if self.listener is not None:
            await self.listener.stop()
            self.listener = None
        await super().stop()

    def url(self, user_id: int, language: str, theme: dict[str, str] = LIGHT, **kw: Any) -> str:
        """The page as Telegram's client opens it: initData and theme in the fragment."""
        data = init_data(self.fake.token, user_id, language, self.sandbox.clock.now(), **kw)
        fragment = (
            f"tgWebAppData={quote(data, safe='')}&tgWebAppVersion=7.0&tgWebAppPlatform=tdesktop"
            f"&tgWebAppThemeParams={quote(json.dumps(theme), safe='')}"
        )
        return f"{self.base}{PAGE_PATH}/#{fragment}"

    def signed(self, user_id: int, language: str, at: datetime | None = None) -> str:
        return init_data(self.fake.token, user_id, language, at or self.sandbox.clock.now())


@pytest.fixture
async def page_bot(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> AsyncIterator[PageBot]:
    fake, base_url = fake_api
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = bot_settings(fake, base_url, sandbox, tmp_path / "bot.db").model_copy(
        update={
            "MINI_APP_URL": "https://booking.example.test/app/",
            "MINI_APP_SCRIPT_URL": f"{base}/telegram-web-app.js",
        }
    )
    running = PageBot(fake, settings, sandbox, {}, sock=sock, base=base)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        sock.close()


@pytest.fixture
def many_launcher(
    bots: tuple[FakeBots, str],  # noqa: F811  (the fixture imported above)
    sandbox: SandboxServer,
    tmp_path: Path,
) -> Iterator[Launcher]:
    """`python -m bot` with BUSINESSES_FILE, its businesses' bots on one fake Bot API
    (tests/fleet's launcher: the environment's own bot serves no business)."""
    fakes, base_url = bots
    launched = Launcher(fakes.add("environment"), base_url, sandbox, tmp_path)
    try:
        yield launched
    finally:
        launched.stop_all()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


EXPIRED_BY = timedelta(hours=25)
