"""A narrowed BOT_LANGUAGES everywhere (issue 18, item 8): with one language, /language is not
in Telegram's command menu nor in the help, and typed anyway it leads to the menu (no list of
one. Real Application against the fake Bot API and the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.testing import SandboxServer
from tests.business.conftest import MakeChat
from tests.fakes.bot_api import FakeBotAPI
from tests.telegram.harness import RunningBot, bot_settings

LANGUAGE_LINE = "/language – change the language"


@pytest.fixture
def fake() -> Iterator[tuple[FakeBotAPI, str]]:
    api = FakeBotAPI()
    with api.serve() as base_url:
        yield api, base_url


async def test_one_language_leaves_language_out_of_the_command_menu(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    settings = bot_settings(api, base_url, sandbox, tmp_path / "bot.db").model_copy(
        update={"BOT_LANGUAGES": "es", "BOT_DEFAULT_LANGUAGE": "es"}
    )
    bot = RunningBot(api, settings, sandbox)
    await bot.start()
    try:
        for menu in (api.private_commands["es"], api.private_commands[""]):
            names = [c["command"] for c in menu]
            assert "language" not in names and "book" in names
    finally:
        await bot.stop()


async def test_one_language_leaves_language_out_of_help(make_chat: MakeChat) -> None:
    chat = make_chat(BOT_LANGUAGES="es", lang="es")
    await chat.command("help")
    assert not chat.shows(LANGUAGE_LINE)
    assert chat.shows("/help – this help")
    await chat.command("language")
    assert chat.shows("What would you like to do?")  # the menu, not a list of one

    several = make_chat(BOT_LANGUAGES="es,en", user_id=2002)
    await several.command("help")
    assert several.shows(LANGUAGE_LINE)
