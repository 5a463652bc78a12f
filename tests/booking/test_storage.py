"""Storage: schema created and versioned, data kept across reopen, corruption refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store.storage import SCHEMA_VERSION, Storage, StorageError


def _add(store: Storage, user_id: int = 1, appointment_id: str = "a_1") -> int:
    start = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
    return store.add_booking(
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


def test_schema_created_and_data_survives_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "bot.db")
    store = Storage(path)
    assert store.schema_version == SCHEMA_VERSION
    assert {"meta", "users", "bookings", "conversations"} <= set(store.db.table_names())
    store.set_language(7, "de")
    booking_id = _add(store, 7)
    store.save_conversation(7, 7, '{"step":"name"}', pending=True)
    store.close()

    again = Storage(path)
    assert again.get_language(7) == "de"
    row = again.get_booking(booking_id)
    assert row is not None and row.user_id == 7 and row.start.tzinfo is not None
    assert [c.chat_id for c in again.pending_conversations()] == [7]
    assert again.writes == 0  # opening an up-to-date file writes nothing
    assert again._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_replayed_confirm_updates_instead_of_duplicating(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "bot.db"))
    first = _add(store)
    second = _add(store)
    assert first == second
    assert len(store.bookings_for_user(1)) == 1
    store.update_booking(first, status="cancelled")
    assert not store.bookings_for_user(1)[0].active
    store.close()


def test_batch_is_one_write(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "bot.db"))
    before = store.writes
    with store.batch():
        store.set_language(1, "es")
        store.save_conversation(1, 1, "{}", pending=False)
        _add(store)
    assert store.writes == before + 1
    with pytest.raises(RuntimeError), store.batch():
        store.set_language(2, "it")
        raise RuntimeError("boom")
    assert store.get_language(2) is None  # rolled back
    store.close()


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


def test_forget_user_removes_every_row_of_that_customer(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "bot.db"))
    for user in (1, 2):
        store.set_language(user, "es")
        _add(store, user, f"a_{user}")
        store.save_conversation(user, user, "{}", pending=False)
    store.forget_user(1)
    assert store.get_language(1) is None and not store.bookings_for_user(1)
    assert store.load_conversation(1) is None
    assert store.get_language(2) == "es" and store.load_conversation(2) is not None
    store.close()
