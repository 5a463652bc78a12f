"""Fault suite fixtures: the fake Bot API over loopback, the sandbox and a launcher for
`python -m bot` subprocesses that stops every one of them at the end (all in the root conftest).

`make test` runs the short cases; the ones marked `slow` (several seconds of waiting each:
client timeouts, busy timeouts, long storms) run with `make faults`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.bot_api import FakeBotAPI


@pytest.fixture
def fake(fake_api: tuple[FakeBotAPI, str]) -> FakeBotAPI:
    return fake_api[0]


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
