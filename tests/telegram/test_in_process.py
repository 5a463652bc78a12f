"""The same bot over the fake's in-process transport (what benchmarks use): python-telegram-bot's
whole request path without the loopback socket, and without flood control."""

from __future__ import annotations

from pathlib import Path

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.telegram.harness import Chat, RunningBot, bot_settings


async def test_a_booking_over_the_in_process_transport(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    fake = FakeBotAPI()
    options = {
        "request": fake.request(),
        "get_updates_request": fake.request(),
        "rate_limiter": None,
    }
    settings = bot_settings(fake, "http://bot-api.invalid", sandbox, tmp_path / "bot.db")
    bot = RunningBot(fake, settings, sandbox, options)
    await bot.start()
    try:
        chat = Chat(bot, 3003, "it")
        await chat.book()
        assert len(sandbox.store.appointment_list()) == 1
        assert len(fake.documents(chat.chat_id)) == 1
        assert bot.processor.busy_chats == 0  # no lane left behind
    finally:
        await bot.stop()
        fake.close()
