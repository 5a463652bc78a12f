"""The same real bot with simulated time as tests/reminders (see its conftest)."""

from tests.reminders.conftest import (  # noqa: F401  (fixtures)
    bot_options,
    chat,
    offsets,
    ops,
    settings_overrides,
)
