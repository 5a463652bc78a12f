"""A synchronous Storage handed to the bot (a tool's, a test's: `as_store`) is served through
SQLite's adapter, and every adapter over one file waits on the same lock: a batch one task
holds across an await keeps another task's write, through another adapter or another
business's, out of its transaction, so a rollback of the one never takes the other's write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.store.sqlite_async import SqliteStore, as_store
from bot.store.storage import Storage
from tests.store.world import CUSTOMER


async def test_adapters_over_one_file_share_the_batch_lock(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "bot.db"))
    try:
        first = as_store(storage)
        other = as_store(storage.for_business("studio-b"))
        assert isinstance(first, SqliteStore) and as_store(first) is first
        inside = asyncio.Event()

        async def rolled_back() -> None:
            with pytest.raises(RuntimeError):
                async with first.batch():
                    await first.set_language(CUSTOMER, "de")
                    inside.set()
                    await asyncio.sleep(0.05)  # the other task tries to write meanwhile
                    raise RuntimeError("undone")

        async def written() -> None:
            await inside.wait()
            await other.set_language(CUSTOMER, "es")

        await asyncio.gather(rolled_back(), written())
        assert storage.get_language(CUSTOMER) is None  # the batch was undone, alone
        assert storage.for_business("studio-b").get_language(CUSTOMER) == "es"
    finally:
        storage.close()
