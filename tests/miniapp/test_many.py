"""The booking page of every business in one process (BUSINESSES_FILE with MINI_APP_URL):
business <id>'s page at MINI_APP_URL + "<id>/", its initData checked with its own bot's token,
its own catalog and words, its own conversation, its messages sent by its own bot; an unknown
id is 404, a business that is not serving 503, and a business removed by SIGHUP takes its
page with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from bot.core.payload import Action
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.customers import ProcessCustomer
from tests.fakes.bot_api import FakeBots
from tests.fleet.conftest import OTHER_BRANCH, OTHER_SERVICE
from tests.miniapp.conftest import LIGHT, STAND_IN, init_data
from tests.miniapp.page import Page, book
from tests.process import Launcher, free_port, wait_listening

SCRIPT = "http://127.0.0.1:9/telegram-web-app.js"  # answered by the test's browser routing
PAGES = "https://booking.example.test/book/"
BRANCH_OF_ALPHA = "Madrid – Chamberí"
ANA, BEN, DORA = 5101, 5102, 5103


def shown(response: httpx.Response) -> str:
    """Every line and button label of a page API answer."""
    assert response.status_code == 200, response.text
    screens = response.json()["screens"]
    lines = [line for screen in screens for line in screen["lines"]]
    labels = [b["label"] for screen in screens for row in screen["rows"] for b in row]
    return " ".join(lines + labels)


def alpha_words(folder: Path) -> str:
    """A MESSAGES_DIR rewording the menu's button, for alpha only."""
    folder.mkdir()
    (folder / "en.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "📅 Book an appointment"\nmsgstr "Book with Alpha"\n'
    )
    return str(folder)


async def test_each_business_has_its_own_page(
    many_launcher: Launcher,
    bots: tuple[FakeBots, str],
    other_sandbox: SandboxServer,
    browser: Any,
    tmp_path: Path,
) -> None:
    fakes, _ = bots
    alpha, beta, locked = fakes.add("alpha"), fakes.add("beta"), fakes.add("locked")
    tables = {
        "alpha": many_launcher.business(
            alpha, BOT_LANGUAGES="en", MESSAGES_DIR=alpha_words(tmp_path / "words-alpha")
        ),
        "beta": many_launcher.business(beta, other_sandbox, BOT_LANGUAGES="es"),
        "locked-out": many_launcher.business(locked, ZIMUN_CLIENT_SECRET="not-the-secret-at-all"),
    }
    many_launcher.write_businesses(tables)
    # Polling mode: the pages' own listener on WEBHOOK_PORT, /metrics and /healthz on theirs.
    port, metrics_port = free_port(), free_port()
    bot = many_launcher.start_many(
        [alpha, beta],
        MINI_APP_URL=PAGES,
        MINI_APP_SCRIPT_URL=SCRIPT,
        WEBHOOK_PORT=str(port),
        METRICS_PORT=str(metrics_port),
    )
    bot.wait_logged("[locked-out] failed to start")
    base = f"http://127.0.0.1:{port}/book"
    now = many_launcher.sandbox.clock.now()
    as_alpha = {"Authorization": "tma " + init_data(alpha.token, ANA, "en", now)}
    as_beta = {"Authorization": "tma " + init_data(beta.token, ANA, "es", now)}

    with httpx.Client(timeout=10) as waiting:
        wait_listening(waiting, f"{base}/alpha/")
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        index = await http.get("/alpha/")
        assert index.status_code == 200
        assert "script-src 'self'" in index.headers["content-security-policy"]
        moved = await http.get("/alpha")
        assert (moved.status_code, moved.headers["location"]) == (308, "/book/alpha/")
        assert (await http.get("/beta/app.js")).status_code == 200
        assert (await http.get("/gamma/")).status_code == 404
        assert (await http.get("/gamma")).status_code == 404
        assert (await http.post("/gamma/api/open", headers=as_alpha, json={})).status_code == 404
        assert (await http.get("/locked-out/")).status_code == 503  # failed: not serving
        assert (await http.get(f"http://127.0.0.1:{port}/metrics")).status_code == 404
        metrics = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert 'business="alpha"' in metrics.text

        # One bot's signature opens no other business's page.
        assert (await http.post("/beta/api/open", headers=as_alpha, json={})).status_code == 401
        assert (await http.post("/alpha/api/open", headers=as_beta, json={})).status_code == 401

        # Each page speaks its business's words and shows its catalog.
        alpha_menu = shown(await http.post("/alpha/api/open", headers=as_alpha, json={}))
        beta_menu = shown(await http.post("/beta/api/open", headers=as_beta, json={}))
        assert "Book with Alpha" in alpha_menu
        assert "Book with Alpha" not in beta_menu
        assert localizer("es").gettext("📅 Book an appointment") in beta_menu
        book_now = {"name": "book"}
        alpha_book = shown(await http.post("/alpha/api/command", headers=as_alpha, json=book_now))
        beta_book = shown(await http.post("/beta/api/command", headers=as_beta, json=book_now))
        assert BRANCH_OF_ALPHA in alpha_book and OTHER_BRANCH not in alpha_book
        assert OTHER_SERVICE not in alpha_book
        assert OTHER_BRANCH in beta_book or OTHER_SERVICE in beta_book
        assert BRANCH_OF_ALPHA not in beta_book

    # Each bot's menu button and "📅 Calendar" buttons open its own page.
    for fake, business_id in ((alpha, "alpha"), (beta, "beta")):
        [menu] = fake.calls_of("setChatMenuButton")
        assert f"{PAGES}{business_id}/" in str(menu.params)
    ben = ProcessCustomer(alpha, BEN, name="Ben")
    ben.start()
    ben.tap_action(Action.BOOK)
    assert f"{PAGES}alpha/" in json.dumps(ben.keyboard.reply_markup)

    # A booking through alpha's page arrives in alpha's chat, from alpha's bot.
    data = init_data(alpha.token, DORA, "en", now, first_name="Dora")
    fragment = (
        f"tgWebAppData={quote(data, safe='')}&tgWebAppVersion=7.0"
        f"&tgWebAppThemeParams={quote(json.dumps(LIGHT), safe='')}"
    )
    page = await Page.open(
        browser, f"{base}/alpha/#{fragment}", script=(SCRIPT, STAND_IN.read_bytes())
    )
    await book(page, "Dora Díaz", "dora@example.com")
    alpha.wait_for_sync(lambda: len(alpha.documents(DORA)) == 1)
    assert page.errors == [], page.errors
    await page.close()
    assert not beta.messages(DORA) and not locked.messages(DORA)
    assert len(many_launcher.sandbox.store.appointment_list()) == 1
    assert not other_sandbox.store.appointment_list()

    # beta removed by SIGHUP: its page goes with it; alpha's stays.
    del tables["beta"]
    many_launcher.write_businesses(tables)
    mark = len(bot.log)
    many_launcher.hang_up(bot)
    bot.wait_logged("businesses re-read: 0 added, 1 removed", mark)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.get("/beta/")).status_code == 404
        assert (await http.post("/beta/api/open", headers=as_beta, json={})).status_code == 404
        assert (await http.post("/alpha/api/open", headers=as_alpha, json={})).status_code == 200

    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log
    for fake in (alpha, beta, locked):
        assert fake.token not in bot.log
    # A page's lines name its business, as its chat's do.
    assert "[beta] page request refused: initData forged" in bot.log, bot.log


def test_webhook_mode_serves_the_pages_beside_the_webhooks(
    many_launcher: Launcher, bots: tuple[FakeBots, str], other_sandbox: SandboxServer
) -> None:
    fakes, _ = bots
    alpha = fakes.add("alpha", deliver_webhooks=True)
    beta = fakes.add("beta", deliver_webhooks=True)
    many_launcher.write_businesses(
        {
            "alpha": many_launcher.business(alpha),
            "beta": many_launcher.business(beta, other_sandbox, BOT_LANGUAGES="es"),
        }
    )
    port = free_port()
    bot = many_launcher.start_many(
        [alpha, beta], webhook=True, MINI_APP_URL=PAGES, **many_launcher.webhook_env(port)
    )
    base = f"http://127.0.0.1:{port}/book"
    now = many_launcher.sandbox.clock.now()
    as_beta = {"Authorization": "tma " + init_data(beta.token, ANA, "es", now)}
    with httpx.Client(timeout=10) as http:
        wait_listening(http, f"http://127.0.0.1:{port}/healthz")
        assert http.get(f"{base}/alpha/").status_code == 200
        beta_book = shown(
            http.post(f"{base}/beta/api/command", headers=as_beta, json={"name": "book"})
        )
        assert OTHER_BRANCH in beta_book or OTHER_SERVICE in beta_book
        assert http.post(f"{base}/alpha/api/open", headers=as_beta, json={}).status_code == 401
    ana = ProcessCustomer(alpha, ANA)  # the webhooks on the same listener go on as before
    ana.book()
    assert len(many_launcher.sandbox.store.appointment_list()) == 1
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log
