"""The real bot (reminders on, scanned by hand) at the instant each test pins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.reminders.harness import NO_JOBS, OpsBot
from tests.telegram.conftest import fake_api  # noqa: F401  (a fixture)
from tests.telegram.harness import Chat, bot_settings


@pytest.fixture
async def ops(
    fake_api: tuple[FakeBotAPI, str],  # noqa: F811
    sandbox: SandboxServer,
    tmp_path: Path,
) -> AsyncIterator[OpsBot]:
    fake, base_url = fake_api
    running = OpsBot(fake, bot_settings(fake, base_url, sandbox, tmp_path / "bot.db"), sandbox)
    running.build_options = dict(NO_JOBS)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def chat(ops: OpsBot) -> Chat:
    return Chat(ops, chat_id=1001)
