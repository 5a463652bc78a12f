"""Fixtures for end-to-end tests: a fake Bot API on loopback and the real bot polling it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.telegram.harness import Chat, RunningBot, bot_settings


@pytest.fixture
def bot_options(request: pytest.FixtureRequest) -> dict[str, object]:
    """Extra keyword arguments to build_application: override, or parametrize indirectly."""
    return dict(getattr(request, "param", None) or {})


@pytest.fixture
async def bot(
    fake_api: tuple[FakeBotAPI, str],
    sandbox: SandboxServer,
    tmp_path: Path,
    bot_options: dict[str, object],
) -> AsyncIterator[RunningBot]:
    fake, base_url = fake_api
    running = RunningBot(
        fake, bot_settings(fake, base_url, sandbox, tmp_path / "bot.db"), sandbox, bot_options
    )
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def chat(bot: RunningBot) -> Chat:
    return Chat(bot, chat_id=1001)
