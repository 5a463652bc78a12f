"""The store: schema created and versioned, data kept across reopen, corruption and foreign or
newer databases refused; on SQLite and on PostgreSQL through the one contract (`backend`,
tests/store/conftest.py)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store.contract import Store
from bot.store.storage import SCHEMA_VERSION, Storage, StorageError
from tests.backends import Backend


async def _add(store: Store, user_id: int = 1, appointment_id: str = "a_1") -> int:
    start = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
    return await store.add_booking(
        user_id=user_id,
        chat_id=user_id,
        appointment_id=appointment_id,
        service_id="s_1",
        service_name="Cut",
        location_id="loc_1",
        location_name="Main",
        location_address="Street 1",
        timezone="Europe/Madrid",
        start=start,
        end=start + timedelta(minutes=30),
        status="confirmed",
    )


async def test_schema_created_and_data_survives_reopen(backend: Backend) -> None:
    store = await backend.open()
    assert await store.ping() == SCHEMA_VERSION
    await store.set_language(7, "de")
    booking_id = await _add(store, 7)
    await store.save_conversation(7, 7, '{"step":"name"}', pending=True)
    await store.close()

    again = await backend.open()
    assert await again.get_language(7) == "de"
    row = await again.get_booking(booking_id)
    assert row is not None and row.user_id == 7 and row.start.tzinfo is not None
    assert [c.chat_id for c in await again.pending_conversations()] == [7]
    assert again.writes == 0  # opening an up-to-date database writes nothing


def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "bot.db"))
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


async def test_replayed_confirm_updates_instead_of_duplicating(backend: Backend) -> None:
    store = await backend.open()
    first = await _add(store)
    second = await _add(store)
    assert first == second
    assert len(await store.bookings_for_user(1)) == 1
    await store.update_booking(first, status="cancelled")
    assert not (await store.bookings_for_user(1))[0].active


async def test_batch_is_one_write(backend: Backend) -> None:
    store = await backend.open()
    before = store.writes
    async with store.batch():
        await store.set_language(1, "es")
        await store.save_conversation(1, 1, "{}", pending=False)
        await _add(store)
    assert store.writes == before + 1
    with pytest.raises(RuntimeError):
        async with store.batch():
            await store.set_language(2, "it")
            raise RuntimeError("boom")
    assert await store.get_language(2) is None  # rolled back


def test_corrupted_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StorageError) as caught:
        Storage(str(path))
    assert "bot.db" in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes().startswith(b"this is not a database")  # untouched


def test_foreign_or_newer_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE stuff (x)")
    with pytest.raises(StorageError, match="no schema version"):
        Storage(str(foreign))
    newer = tmp_path / "newer.db"
    Storage(str(newer)).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match="newer"):
        Storage(str(newer))


async def test_foreign_or_newer_postgres_databases_are_refused(pg_url: str) -> None:
    import psycopg

    from bot.store.postgres import open_postgres

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE stuff (x int)")
    with pytest.raises(StorageError, match="no schema version"):
        await open_postgres(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE stuff")
    store = await open_postgres(pg_url)
    await store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'x')")
    with pytest.raises(StorageError, match="newer") as caught:
        await open_postgres(pg_url)
    assert "\n" not in str(caught.value)


async def test_forget_user_removes_every_row_of_that_customer(backend: Backend) -> None:
    store = await backend.open()
    for user in (1, 2):
        await store.set_language(user, "es")
        await _add(store, user, f"a_{user}")
        await store.save_conversation(user, user, "{}", pending=False)
    await store.forget_user(1)
    assert await store.get_language(1) is None and not await store.bookings_for_user(1)
    assert await store.load_conversation(1) is None
    assert await store.get_language(2) == "es" and await store.load_conversation(2) is not None
