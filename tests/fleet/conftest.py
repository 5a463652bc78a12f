"""Many businesses in one `python -m bot` process (BUSINESSES_FILE): one fake Bot API serving
many bots (`bots`), a second sandbox with another catalog (`other_sandbox`), and a launcher
whose environment's own bot serves no business (every business names its token)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxServer, serve_sandbox
from tests.clock import MONDAY
from tests.fakes.bot_api import FakeBots
from tests.process import ROOT, Launcher

# The other business: one branch, two services, other names.
OTHER_ORGANIZATION = "Estudio Otro"
OTHER_BRANCH = "Sevilla – Triana"
OTHER_SERVICE = "Masaje relajante"


def other_seed() -> dict[str, object]:
    seed = json.loads((ROOT / "sandbox" / "seed.json").read_text())
    other = copy.deepcopy(seed)
    other["organization"] = {"id": "org_other", "name": OTHER_ORGANIZATION}
    branch = other["locations"][0]
    branch.update(id="loc_triana", name=OTHER_BRANCH)
    other["locations"] = [branch]
    services = other["services"][:2]
    services[0].update(name=OTHER_SERVICE)
    for service in services:
        service["location_ids"] = []
    other["services"] = services
    return other


@pytest.fixture
def other_sandbox() -> Iterator[SandboxServer]:
    with serve_sandbox(SandboxConfig(now=MONDAY, freeze_clock=True, seed=other_seed())) as server:
        yield server


@pytest.fixture
def bots_options() -> dict[str, object]:
    """FakeBots' defaults for every bot (webhook tests: deliver_webhooks=True)."""
    return {}


@pytest.fixture
def bots(bots_options: dict[str, object]) -> Iterator[tuple[FakeBots, str]]:
    fakes = FakeBots(**bots_options)
    with fakes.serve() as base_url:
        yield fakes, base_url


@pytest.fixture
def launcher(
    bots: tuple[FakeBots, str], sandbox: SandboxServer, tmp_path: Path
) -> Iterator[Launcher]:
    fakes, base_url = bots
    launched = Launcher(fakes.add("environment"), base_url, sandbox, tmp_path)
    try:
        yield launched
    finally:
        launched.stop_all()
