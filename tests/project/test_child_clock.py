"""The clock of a process a test starts is the test's alone: whatever libfaketime variables the
machine running the suite has set (a suite run under libfaketime), the child starts at the
instant the test pinned."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.testing import SandboxServer
from tests.clock import MONDAY, pinned_env
from tests.fakes.bot_api import FakeBotAPI
from tests.process import bot_env

# What a caller under libfaketime may carry: each moves or unpins a child that inherits it.
INHERITED = [
    {"FAKETIME_FMT": "%s"},  # our "@..." instant read as seconds: January 1970
    {"FAKETIME_START_AFTER_SECONDS": "3600"},  # the real clock for the first hour
    {"FAKETIME": "@2029-05-01 12:00:00", "FAKETIME_STOP_AFTER_SECONDS": "0"},
]
# Run inside the child: what it prints is the clock libfaketime pinned for it (the subject of
# these tests), never the machine's; the tests themselves compare it with the pinned instant.
NOW = "import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())"


def child_now(env: dict[str, str]) -> datetime:
    """The wall clock a child process started with `env` reads."""
    out = subprocess.run(
        [sys.executable, "-c", NOW], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return datetime.fromisoformat(out.stdout.strip()).astimezone(UTC)


def assert_starts_at(env: dict[str, str], at: datetime) -> None:
    # The child's clock ticks from `at`: a generous minute for a loaded machine.
    assert at <= child_now(env) < at + timedelta(minutes=1)


@pytest.mark.parametrize("inherited", INHERITED, ids=lambda env: next(iter(env.values())))
def test_a_pinned_child_ignores_the_callers_faketime_variables(
    inherited: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in inherited.items():
        monkeypatch.setenv(name, value)
    assert_starts_at(pinned_env(os.environ, MONDAY), MONDAY)


@pytest.mark.parametrize("inherited", INHERITED, ids=lambda env: next(iter(env.values())))
def test_a_bot_process_starts_where_the_sandbox_clock_stands(
    inherited: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    for name, value in inherited.items():
        monkeypatch.setenv(name, value)
    env = bot_env(FakeBotAPI(), "http://127.0.0.1:9", sandbox, tmp_path / "bot.db")
    assert_starts_at(env, sandbox.clock.now())
