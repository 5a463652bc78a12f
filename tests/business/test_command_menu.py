"""The command menu Telegram shows is registered in the offered languages only (BOT_LANGUAGES),
the menus an earlier run left for the others are removed, and the menu without a language is in
the default one; through the real Application against the fake Bot API on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.screens import Msg
from bot.i18n import localizer
from bot.store.storage import Storage
from bot.telegram.commands import COMMANDS
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.telegram.harness import RunningBot, bot_settings


@pytest.fixture
def fake() -> Iterator[tuple[FakeBotAPI, str]]:
    api = FakeBotAPI()
    with api.serve() as base_url:
        yield api, base_url


async def test_the_menu_is_in_the_offered_languages_only(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    earlier = [{"command": "book", "description": "Termin buchen"}]
    api.commands["de"] = earlier  # an earlier run's menu for every chat
    api.private_commands["de"] = earlier  # and for private chats
    settings = bot_settings(api, base_url, sandbox, tmp_path / "bot.db").model_copy(
        update={"BOT_LANGUAGES": "es,en", "BOT_DEFAULT_LANGUAGE": "es"}
    )
    bot = RunningBot(api, settings, sandbox)
    await bot.start()
    try:
        assert set(api.private_commands) == {"", "es", "en"}
        assert not api.commands  # groups get no menu: bookings are private
        spanish = [c["description"] for c in api.private_commands["es"]]
        assert [c["description"] for c in api.private_commands[""]] == spanish
        assert spanish[0] == localizer("es").render(COMMANDS[0][1])
    finally:
        await bot.stop()


async def test_the_staff_chat_follows_the_offered_languages_too(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The staff chat's menu is set in the offered languages only, and a language its staff
    chose before BOT_LANGUAGES was narrowed gives way to the default (the customers' rule)."""
    api, base_url = fake
    staff = -100200300
    settings = bot_settings(api, base_url, sandbox, tmp_path / "bot.db").model_copy(
        update={"BOT_LANGUAGES": "es,en", "BOT_DEFAULT_LANGUAGE": "es", "ADMIN_CHAT_ID": staff}
    )
    earlier = Storage(settings.BOT_DB_PATH)
    earlier.set_language(staff, "de")  # chosen when German was still offered
    earlier.close()
    bot = RunningBot(api, settings, sandbox)
    await bot.start()
    try:
        assert {lang for chat, lang in api.chat_commands if chat == staff} == {"", "es", "en"}
        stats = api.chat_commands[(staff, "")][0]["description"]
        assert stats == localizer("es").render(Msg("Booking statistics"))
    finally:
        await bot.stop()
