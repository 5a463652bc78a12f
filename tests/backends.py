"""The store under test, on each database (fixtures registered in tests/conftest.py):
`backend` opens the same database as often as a test asks (ids sqlite and pg; pg is a real
PostgreSQL started by tests/postgres.py), `store` is the environment's business's store on
it. Every store a backend opened is closed after the test."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.store.contract import Store
from bot.store.postgres import open_postgres
from bot.store.sqlite_async import SqliteStore
from bot.store.storage import Storage
from tests.clock import MONDAY
from tests.store.world import TABLES


@dataclass
class Backend:
    """One database of a test: SQLite's file or PostgreSQL's database."""

    name: str
    target: str  # the file's path, or the database's URL
    opened: list[Store] = field(default_factory=list)

    async def open(self, business: str = "") -> Store:
        if self.name == "sqlite":
            store: Store = SqliteStore(Storage(self.target, now=lambda: MONDAY, business=business))
        else:
            store = await open_postgres(self.target, now=lambda: MONDAY, business=business)
        self.opened.append(store)
        return store

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """A query straight to the database, past every store (what is really there)."""
        if self.name == "sqlite":
            with sqlite3.connect(self.target) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.target) as conn:
            return conn.execute(sql, params).fetchall()

    def snapshot(self, business: str) -> dict[str, list[tuple[Any, ...]]]:
        """Every row `business` owns in the database, read past the stores' scoping."""
        return {
            table: sorted(
                self.rows(f"SELECT * FROM {table} WHERE business = %s", (business,)), key=repr
            )
            for table in TABLES
        }


@pytest.fixture(params=["sqlite", "pg"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        chosen = Backend("sqlite", str(tmp_path / "bot.db"))
    else:
        chosen = Backend("pg", request.getfixturevalue("pg_url"))
    try:
        yield chosen
    finally:
        for store in chosen.opened:
            await store.close()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open()
