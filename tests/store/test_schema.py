"""Schema 6: every table of a business's data is keyed and indexed by the business first, and
every statement binds it (bot.store.scope); a database of schema 5 is upgraded in place, its
rows becoming those of the one business from the environment ('')."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.store.scope import UnscopedQuery, check_scoped
from bot.store.sqlite_async import SqliteStore
from bot.store.storage import (
    COORDINATION_TABLES,
    MIGRATIONS,
    SCHEMA_VERSION,
    Storage,
    StorageError,
)
from tests.clock import MONDAY
from tests.store.world import CUSTOMER, TABLES, fill, open_store, snapshot
from tests.store.world import booking as new_booking


def test_every_table_and_index_leads_with_the_business(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert set(store.db.table_names()) - {"meta"} == {*TABLES, *COORDINATION_TABLES}
    for table in (*TABLES, *COORDINATION_TABLES):
        assert "business" in store.db[table].columns_dict, table
        for index in store.db.execute(f"PRAGMA index_list({table})").fetchall():
            name = index[1]
            first = store.db.execute(f"PRAGMA index_info({name})").fetchone()
            assert first[2] == "business", f"{table}.{name} does not start with business"
    store.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM bookings WHERE id = ?",  # no business at all
        "SELECT * FROM bookings WHERE business = ? AND id = ?",  # business not ?1
        "UPDATE waitlist SET status = ? WHERE business = ?1 AND id = ?",  # bare ? before ?1
        "SELECT * FROM bookings WHERE business = ?2",
    ],
)
def test_a_statement_that_does_not_bind_the_business_is_refused(sql: str, tmp_path: Path) -> None:
    with pytest.raises(UnscopedQuery):
        check_scoped(sql)
    store = open_store(tmp_path)
    with pytest.raises(UnscopedQuery):
        store._read(sql, (1,))
    store.close()


def test_scoped_statements_pass() -> None:
    check_scoped("SELECT * FROM bookings WHERE business = ?1 AND id = ?")
    check_scoped("UPDATE waitlist SET status = ?2 WHERE business = ?1 AND id = ?3")
    check_scoped("INSERT INTO users (business, user_id) VALUES (?1, ?)")


def _schema_5(path: Path) -> None:
    """A database as the bot before businesses wrote it (schema 5), one row in every table."""
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for migration in MIGRATIONS[:5]:
        migration(db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    start = (MONDAY + timedelta(days=3)).isoformat()
    due = MONDAY.isoformat(timespec="seconds")
    conn.executescript(
        f"""
        INSERT INTO users VALUES ({CUSTOMER}, 'es', '{{"name": "Cleo"}}', 'x', 'x');
        INSERT INTO bookings (id, user_id, chat_id, appointment_id, service_id, service_name,
            location_id, location_name, location_address, timezone, start, status, created_at,
            updated_at, language, booked_at)
            VALUES (41, {CUSTOMER}, {CUSTOMER}, 'a_old', 's_cut', 'Cut', 'loc_main', 'Main',
            'Street 1', 'Europe/Madrid', '{start}', 'confirmed', 'x', 'x', 'es', '{due}');
        INSERT INTO reminders (booking_id, user_id, chat_id, offset_minutes, due_at, language,
            created_at) VALUES (41, {CUSTOMER}, {CUSTOMER}, 120, '{due}', 'es', 'x');
        INSERT INTO notices (booking_id, user_id, chat_id, kind, start, previous_start,
            created_at) VALUES (41, {CUSTOMER}, {CUSTOMER}, 'moved', '{due}', '{due}', 'x');
        INSERT INTO waitlist (user_id, chat_id, service_id, location_id, timezone, day, ends_at,
            joined_at, next_check_at) VALUES ({CUSTOMER}, {CUSTOMER}, 's_cut', 'loc_main',
            'Europe/Madrid', '2026-11-27', '2026-11-27T23:00:00+00:00', '{due}', '{due}');
        INSERT INTO funnel (at, attempt, event) VALUES ('{due}', 'x1', 'confirmed');
        INSERT INTO conversations VALUES ({CUSTOMER}, {CUSTOMER}, '{{}}', 1, '{due}');
        """
    )
    conn.close()


async def test_a_database_of_schema_5_is_served_as_before(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_5(path)
    store = Storage(str(path), now=lambda: MONDAY)
    assert store.schema_version == SCHEMA_VERSION
    rows = snapshot(store, "")
    assert {table: len(rows[table]) for table in TABLES} == dict.fromkeys(TABLES, 1)
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []

    assert store.get_language(CUSTOMER) == "es" and store.get_prefs(CUSTOMER) == {"name": "Cleo"}
    [booking] = store.bookings_for_user(CUSTOMER)
    assert booking.id == 41 and booking.appointment_id == "a_old"
    assert [r.booking_id for r in store.due_reminders(MONDAY)] == [41]
    assert [n.booking_id for n in store.pending_notices()] == [41]
    assert len(store.waitlist_for_user(CUSTOMER, MONDAY)) == 1
    assert len(store.funnel_since(MONDAY - timedelta(days=1))) == 1
    assert [c.chat_id for c in store.pending_conversations()] == [CUSTOMER]
    assert not any(snapshot(store.for_business("studio-a"), "studio-a").values())
    assert store.for_business("studio-a").get_booking(41) is None

    # Served as before: a replayed confirm of the old appointment is the same booking, and a
    # booking's deletion still takes its reminders and notices with it.
    assert store.add_booking(**vars(new_booking("a_old"))) == 41
    store.prune(appointments_before=MONDAY + timedelta(days=30), idle_before=MONDAY)
    rows = snapshot(store, "")
    assert not rows["bookings"] and not rows["reminders"] and not rows["notices"]
    store.close()

    reopened = Storage(str(path), now=lambda: MONDAY)
    assert reopened.writes == 0 and reopened.get_language(CUSTOMER) == "es"
    await fill(SqliteStore(reopened))  # and new rows go in as before
    reopened.close()


def test_a_failed_upgrade_changes_nothing(tmp_path: Path) -> None:
    """A schema-5 file whose reminder lost its booking (written with foreign keys off, by
    hand) is refused in one line, and stays a schema-5 file with every row it had."""
    path = tmp_path / "old.db"
    _schema_5(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE reminders SET booking_id = 999")
    with pytest.raises(StorageError, match="without their booking") as caught:
        Storage(str(path), now=lambda: MONDAY)
    assert "\n" not in str(caught.value)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "5",
        )
        assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (1,)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(reminders)")]
        assert "business" not in columns
