"""initData refused unless Telegram signed it for this bot, lately: over HTTP against the
bot's web listener (401, a JSON message in the customer's language where known), and the
checks one by one (bot.miniapp.initdata)."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

import bot.miniapp
from bot.i18n import localizer
from bot.miniapp import words
from bot.miniapp.initdata import MAX_AGE, Refused, sign, verify
from tests.clock import MONDAY
from tests.miniapp.conftest import PAGE_PATH, PageBot, init_data

TOKEN = "123456:TEST-token"


def message(msg: words.Msg, language: str) -> str:
    return localizer(language).render(msg, "plain")


async def post(bot: PageBot, path: str, auth: str | None, body: object = None) -> httpx.Response:
    headers = {"Authorization": auth} if auth is not None else {}
    async with httpx.AsyncClient(base_url=bot.base) as client:
        return await client.post(f"{PAGE_PATH}/api/{path}", headers=headers, json=body or {})


async def test_missing_forged_and_expired_init_data_are_refused(page_bot: PageBot) -> None:
    now = page_bot.sandbox.clock.now()
    forged = init_data("999:not-this-bot", 8181, "es", now)
    expired = page_bot.signed(8181, "de", now - MAX_AGE - timedelta(minutes=1))
    cases = [
        (None, "en", words.REFUSED),
        ("tma", "en", words.REFUSED),
        ("Bearer " + page_bot.signed(8181, "es"), "en", words.REFUSED),
        ("tma " + forged, "es", words.REFUSED),
        ("tma " + expired, "de", words.EXPIRED),
    ]
    for auth, language, msg in cases:
        for path in ("open", "tap", "text", "command"):
            answer = await post(page_bot, path, auth)
            assert answer.status_code == 401, (auth, path)
            assert answer.json()["message"] == message(msg, language)
            assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert page_bot.storage is not None
    assert page_bot.storage.load_conversation(8181) is None  # nothing was done for anyone


async def test_tampered_user_is_refused(page_bot: PageBot) -> None:
    """Changing the signed user (another id) breaks the signature."""
    pairs = parse_qsl(page_bot.signed(8181, "it"))
    tampered = [(k, v.replace('"id":8181', '"id":8182') if k == "user" else v) for k, v in pairs]
    answer = await post(page_bot, "open", "tma " + urlencode(tampered))
    assert answer.status_code == 401
    assert answer.json()["message"] == message(words.REFUSED, "it")


async def test_inputs_are_checked_like_the_chats_payloads(page_bot: PageBot) -> None:
    auth = "tma " + page_bot.signed(8282, "es")
    opened = await post(page_bot, "open", auth)
    assert opened.status_code == 200
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert opened.headers["referrer-policy"] == "no-referrer"
    invalid = message(words.INVALID, "es")
    for path, body in [
        ("tap", {"data": "abcd.zz.99"}),
        ("tap", {"data": "x" * 65}),
        ("tap", {"data": 12}),
        ("tap", {"data": opened.json()["screens"][0]["rows"][0][0]["data"], "extra": 1}),
        ("text", {"text": "a" * 5000}),
        ("text", {"text": ["a"]}),
        ("command", {"name": "forget"}),
        ("open", {"data": "x"}),
    ]:
        answer = await post(page_bot, path, auth, body)
        assert answer.status_code == 400, (path, body)
        assert answer.json()["message"] == invalid


def test_verify_takes_the_customer_from_the_signed_user_only() -> None:
    user = {"id": 77, "first_name": "Ana", "language_code": "de"}
    pairs = [("auth_date", str(int(MONDAY.timestamp()))), ("user", json.dumps(user))]
    data = urlencode([*pairs, ("hash", sign(pairs, TOKEN))])
    page_user = verify(data, TOKEN, MONDAY + timedelta(hours=23))
    assert (page_user.customer.user_id, page_user.customer.chat_id) == (77, 77)
    assert page_user.customer.language_code == "de"
    with pytest.raises(Refused, match="expired"):
        verify(data, TOKEN, MONDAY + MAX_AGE + timedelta(seconds=1))
    with pytest.raises(Refused, match="expired"):
        verify(data, TOKEN, MONDAY - timedelta(hours=1))  # from the future
    with pytest.raises(Refused, match="forged"):
        verify(data, TOKEN + "x", MONDAY)
    with pytest.raises(Refused, match="malformed"):
        verify(data + "&user=%7B%7D", TOKEN, MONDAY)  # a key twice
    with pytest.raises(Refused, match="missing"):
        verify("", TOKEN, MONDAY)


def test_the_page_is_small() -> None:
    """The page's own files and words, gzip-compressed, stay far under 100 KB (README)."""
    static = Path(bot.miniapp.__file__).parent / "static"
    files = [(static / name).read_bytes() for name in ("index.html", "app.js", "app.css")]
    files.append(json.dumps(words.page_words()).encode())
    compressed = sum(len(gzip.compress(content, 9)) for content in files)
    print(f"page weight: {sum(map(len, files))} bytes, {compressed} bytes gzip-compressed")
    assert compressed < 100_000


async def test_each_customer_has_the_chats_budget(page_bot: PageBot) -> None:
    """A customer's page requests beyond the chat's budget (a burst of 30, then one a second)
    are answered 429 in their language; another customer is served meanwhile."""
    auth = "tma " + page_bot.signed(8383, "it")
    answers = [await post(page_bot, "open", auth) for _ in range(60)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, "60 requests at once were all admitted"
    assert refused[0].json()["message"] == message(words.TOO_FAST, "it")
    other = await post(page_bot, "open", "tma " + page_bot.signed(8484, "it"))
    assert other.status_code == 200
