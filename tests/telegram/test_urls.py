"""TELEGRAM_BASE_URL in every form operators write gives the same Bot API and file URLs."""

from __future__ import annotations

import pytest

from bot.telegram.urls import bot_api_urls


@pytest.mark.parametrize(
    "given",
    [
        "http://10.0.0.5:8081",
        "http://10.0.0.5:8081/",
        "http://10.0.0.5:8081/bot",
        "http://10.0.0.5:8081/bot/",
        "http://10.0.0.5:8081/bot{token}",
        " http://10.0.0.5:8081/bot ",
    ],
)
def test_self_hosted_forms_agree(given: str) -> None:
    urls = bot_api_urls(given)
    assert urls.api == "http://10.0.0.5:8081/bot{token}"
    assert urls.files == "http://10.0.0.5:8081/file/bot{token}"


def test_the_default_is_telegram() -> None:
    urls = bot_api_urls("https://api.telegram.org/bot")
    assert urls.api.format(token="1:x") == "https://api.telegram.org/bot1:x"
    assert urls.files.format(token="1:x") == "https://api.telegram.org/file/bot1:x"


def test_a_path_prefix_is_kept() -> None:
    urls = bot_api_urls("https://proxy.example/telegram/bot")
    assert urls.api == "https://proxy.example/telegram/bot{token}"
    assert urls.files == "https://proxy.example/telegram/file/bot{token}"
