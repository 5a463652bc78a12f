"""The real bot with simulated time: the sandbox clock (the bot's `now` too) starts on a Monday
morning and tests move it; nothing waits for real time to pass."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.followup.ledger import DEFAULT_OFFSETS
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.fakes.bot_api import FakeBotAPI
from tests.reminders.harness import NO_JOBS, OpsBot
from tests.telegram.harness import Chat, bot_settings


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override (or parametrize) to change settings, e.g. ADMIN_CHAT_ID."""
    return {}


@pytest.fixture
def offsets() -> tuple[timedelta, ...]:
    return DEFAULT_OFFSETS


@pytest.fixture
def bot_options() -> dict[str, Any]:
    return dict(NO_JOBS)


@pytest.fixture
async def ops(
    fake_api: tuple[FakeBotAPI, str],
    sandbox: SandboxServer,
    tmp_path: Path,
    settings_overrides: dict[str, Any],
    offsets: tuple[timedelta, ...],
    bot_options: dict[str, Any],
) -> AsyncIterator[OpsBot]:
    fake, base_url = fake_api
    sandbox.clock.set(MONDAY)
    settings = bot_settings(fake, base_url, sandbox, tmp_path / "bot.db").model_copy(
        update=settings_overrides
    )
    running = OpsBot(fake, settings, sandbox, bot_options, offsets=offsets)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def chat(ops: OpsBot) -> Chat:
    return Chat(ops, chat_id=1001)
