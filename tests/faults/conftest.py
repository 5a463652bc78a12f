"""Fault suite fixtures: the fake Bot API over loopback, the sandbox (root conftest), and a
launcher for `python -m bot` subprocesses that stops every one of them at the end.

`make test` runs the short cases; the ones marked `slow` (several seconds of waiting each:
client timeouts, busy timeouts, long storms) run with `make faults`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import Launcher


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeBotAPI, str]]:
    fake = FakeBotAPI()
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture
def fake(fake_api: tuple[FakeBotAPI, str]) -> FakeBotAPI:
    return fake_api[0]


@pytest.fixture
def launcher(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> Iterator[Launcher]:
    fake, base_url = fake_api
    launched = Launcher(fake, base_url, sandbox, tmp_path)
    try:
        yield launched
    finally:
        launched.stop_all()


FULL = "FAULTS_FULL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Cases marked slow run only with FAULTS_FULL=1 (`make faults`): `make test` stays short."""
    if os.environ.get(FULL) == "1":
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"slow fault case: run `make faults` (or {FULL}=1)")
    for item in items:
        if "slow" in item.keywords and here in Path(str(item.fspath)).parents:
            item.add_marker(skip)
