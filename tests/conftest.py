"""Shared fixtures: a real Zimun sandbox served over HTTP on 127.0.0.1, one per test; the fake Bot
API on loopback (`fake_api`) and a launcher of `python -m bot` processes (`launcher`).

Override `sandbox_config` to change it, either in a sub-conftest:

    @pytest.fixture
    def sandbox_config() -> SandboxConfig:
        return SandboxConfig(freeze_clock=True, dialects=frozenset({"patch"}))

or per test with indirect parametrization:

    @pytest.mark.parametrize("sandbox_config", [SandboxConfig(hold_ttl=60)], indirect=True)
    def test_x(sandbox): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxServer, serve_sandbox
from tests.backends import backend, store  # noqa: F401  (fixtures: on SQLite and on PostgreSQL)
from tests.clock import MONDAY
from tests.fakes.bot_api import FakeBotAPI
from tests.postgres import pg_url, postgres_server  # noqa: F401  (fixtures: a real PostgreSQL)
from tests.process import Launcher


@pytest.fixture
def sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    """Default: the demo seed, the clock frozen at an ordinary Monday morning (advance it)."""
    param = getattr(request, "param", None)
    return param if param is not None else SandboxConfig(now=MONDAY, freeze_clock=True)


@pytest.fixture
def sandbox(sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    with serve_sandbox(sandbox_config) as server:
        yield server


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeBotAPI, str]]:
    """The fake Bot API served on loopback, and its base URL."""
    fake = FakeBotAPI()
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture
def launcher(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> Iterator[Launcher]:
    """Starts `python -m bot` processes against `fake_api` and `sandbox`; stops what is left."""
    fake, base_url = fake_api
    launched = Launcher(fake, base_url, sandbox, tmp_path)
    try:
        yield launched
    finally:
        launched.stop_all()
