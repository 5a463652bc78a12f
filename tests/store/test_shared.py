"""A thousand businesses, one database handle: `for_business` shares the opener's connection
(SQLite) or pool (PostgreSQL), clock and transactions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.store.postgres import PostgresStore
from bot.store.storage import StorageError
from tests.backends import Backend
from tests.store.world import CUSTOMER, open_store


def _handles(path: Path) -> int:
    """Open file descriptors of this process on the database or its WAL files."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(path))
    return count


def test_scoped_storages_share_one_connection(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    store = open_store(tmp_path)
    store.set_language(CUSTOMER, "en")  # the WAL files exist from here on
    before = _handles(path)
    assert before >= 1
    scoped = [store.for_business(f"studio-{n}") for n in range(500)]
    for n, business in enumerate(scoped):
        business.set_language(CUSTOMER, ("de", "es", "it")[n % 3])
    assert _handles(path) == before
    assert [s.get_language(CUSTOMER) for s in scoped[:3]] == ["de", "es", "it"]
    assert store.db.execute("SELECT count(*) FROM users").fetchone()[0] == 501
    assert all(s.writes == store.writes for s in scoped[:3])  # one count for the file
    store.close()
    with pytest.raises(StorageError):  # the opener's close closed them all
        scoped[0].get_language(CUSTOMER)


async def test_scoped_stores_share_one_pool(backend: Backend) -> None:
    store = await backend.open()
    scoped = [store.for_business(f"studio-{n}") for n in range(500)]
    for n, business in enumerate(scoped):
        await business.set_language(CUSTOMER, ("de", "es", "it")[n % 3])
    assert [await s.get_language(CUSTOMER) for s in scoped[:3]] == ["de", "es", "it"]
    assert backend.rows("SELECT count(*) FROM users") == [(500,)]
    assert all(s.writes == store.writes for s in scoped[:3])  # one count for the database
    if isinstance(store, PostgresStore):  # no connection of their own: the opener's pool
        assert store._shared.pool.get_stats()["pool_size"] <= store._shared.pool.max_size
        assert all(s._shared is store._shared for s in scoped)  # type: ignore[attr-defined]
    await scoped[0].close()  # not the opener: nothing closes
    assert await scoped[1].get_language(CUSTOMER) == "es"
    await store.close()
    with pytest.raises(StorageError):  # the opener's close closed them all
        await scoped[0].get_language(CUSTOMER)


async def test_a_batch_spans_the_businesses_of_one_database(backend: Backend) -> None:
    a = await backend.open(business="studio-a")
    b = a.for_business("studio-b")
    writes = a.writes
    async with a.batch():
        await a.set_language(CUSTOMER, "de")
        await b.set_language(CUSTOMER, "it")
    assert a.writes == writes + 1
    with pytest.raises(RuntimeError):
        async with b.batch():
            await a.set_language(CUSTOMER, "es")
            await b.set_language(CUSTOMER, "es")
            raise RuntimeError("boom")
    assert (await a.get_language(CUSTOMER), await b.get_language(CUSTOMER)) == ("de", "it")
    await b.close()  # not the opener: nothing closes
    assert await a.get_language(CUSTOMER) == "de"
