"""Fixtures of the cluster's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.store.postgres import PostgresStore, open_postgres
from tests.clock import MONDAY


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    """Two processes' stores on one PostgreSQL (each its own pool and lock session)."""
    a = await open_postgres(pg_url, now=lambda: MONDAY)
    b = await open_postgres(pg_url, now=lambda: MONDAY)
    yield a, b
    await a.close()
    await b.close()
