"""Fixtures for the client's tests: the sandbox on a fixed Monday, and a client whose retry
sleeps are recorded instead of waited, so retry tests assert delays without taking time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.zimun import Service, ZimunClient
from sandbox.config import SandboxConfig
from sandbox.testing import SandboxServer

# Monday 23 November 2026, 08:00 UTC = 09:00 in Madrid, Milan and Berlin.
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TUESDAY = date(2026, 11, 24)
SUNDAY = date(2026, 11, 29)


def config(**changes: Any) -> SandboxConfig:
    """The sandbox config of these tests: clock frozen at MONDAY, plus `changes`."""
    return SandboxConfig(now=MONDAY, freeze_clock=True, **changes)


class FakeClock:
    """The client's monotonic clock, moved by hand (token and catalog lifetimes)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps(list[float]):
    """An injectable sleep that records the delays it was asked for, yields once, and moves
    `clock` (when given) as if the time had passed."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    param = getattr(request, "param", None)
    return param if param is not None else config()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_client(server: SandboxServer, sleeps: Sleeps | None = None, **options: Any) -> ZimunClient:
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "token_url": server.token_url,
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "sleep": sleeps if sleeps is not None else Sleeps(),
    }
    return ZimunClient(**{**settings, **options})


@pytest.fixture
async def zimun(sandbox: SandboxServer, sleeps: Sleeps) -> AsyncIterator[ZimunClient]:
    async with make_client(sandbox, sleeps) as client:
        yield client


async def service(client: ZimunClient, service_id: str) -> Service:
    found = await client.get_service(service_id)
    assert found is not None, service_id
    return found


async def free_starts(
    client: ZimunClient, service_id: str, location_id: str | None, day: date = TUESDAY
) -> list[datetime]:
    availability = await client.get_availability(service_id, location_id=location_id, day=day)
    starts = [slot.start for slot in availability.slots_on(day)]
    assert starts, f"no free slot for {service_id} at {location_id} on {day}"
    return starts
