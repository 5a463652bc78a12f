"""Shared fixtures: a real Zimun sandbox served over HTTP on 127.0.0.1, one per test.

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

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxServer, serve_sandbox
from tests.clock import MONDAY


@pytest.fixture
def sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    """Default: the demo seed, the clock frozen at an ordinary Monday morning (advance it)."""
    param = getattr(request, "param", None)
    return param if param is not None else SandboxConfig(now=MONDAY, freeze_clock=True)


@pytest.fixture
def sandbox(sandbox_config: SandboxConfig) -> Iterator[SandboxServer]:
    with serve_sandbox(sandbox_config) as server:
        yield server
