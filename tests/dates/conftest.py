"""The real bot with reminders (scanned by hand), as tests/reminders runs it; each test then
moves the sandbox's clock (the bot's clock too) to its instant."""

from __future__ import annotations

from tests.reminders.conftest import (  # noqa: F401  (fixtures)
    bot_options,
    chat,
    offsets,
    ops,
    settings_overrides,
)
