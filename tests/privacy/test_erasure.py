"""/forget erases, not just deletes: once it is done, while the bot runs, no file the bot owns
(the database, its write-ahead log and the log's index) holds a byte of the customer's name,
email or booking reference; and those files are private to the bot's user."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

from bot.store.storage import SCHEMA_VERSION, SCRUBBED, Storage
from sandbox.testing import SandboxServer
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat

NAME = "Zoraida Quintanilla"
EMAIL = "zoraida.quintanilla@example.org"
DRAFT_NAME = "Zenobia Quirós"  # typed in a second booking left half-way
DRAFT_EMAIL = "zenobia.q@example.net"


def bot_files(ops: OpsBot) -> list[Path]:
    db = Path(ops.settings.BOT_DB_PATH)
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def holding(ops: OpsBot, needles: list[str]) -> dict[str, list[str]]:
    """needle -> the bot files whose raw bytes contain it (UTF-8, as SQLite stores text)."""
    found: dict[str, list[str]] = {}
    for path in bot_files(ops):
        data = path.read_bytes()
        for needle in needles:
            if needle.encode() in data:
                found.setdefault(needle, []).append(path.name)
    return found


async def test_forget_leaves_no_byte_of_the_customer_in_any_file(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    other = Chat(ops, chat_id=2002, first_name="Bea")
    await other.book(name="Bea Ortiz", email="bea.ortiz@example.org", day=2)
    await chat.book(name=NAME, email=EMAIL, day=2)
    await chat.open_booking()
    await chat.pick_slot(day=3)
    await chat.give_details(DRAFT_NAME, DRAFT_EMAIL)  # a draft in the conversation state
    reference = next(a.id for a in sandbox.store.appointment_list() if a.contact_email == EMAIL)
    needles = [NAME, EMAIL, DRAFT_NAME, DRAFT_EMAIL, reference]
    assert set(holding(ops, needles)) == set(needles)  # the test would see them

    await chat.command("forget")
    await chat.tap_index(0)  # Yes, delete everything

    assert holding(ops, needles) == {}
    # Upstream SQLite's default is off (some builds, this machine's among them, turn it on):
    # the bot sets it itself, so deleted rows are zeroed in the database file on every build.
    assert ops.db.db.execute("PRAGMA secure_delete").fetchone()[0] == 1
    # The other customer's data is intact and readable.
    [row] = ops.db.bookings_for_user(other.chat_id)
    assert row.appointment_id in {a.id for a in sandbox.store.appointment_list()}


async def test_the_database_and_its_wal_are_private_to_the_bot(ops: OpsBot, chat: Chat) -> None:
    await chat.book(day=2)
    files = bot_files(ops)
    assert {p.name.removeprefix("bot.db") for p in files} >= {"", "-wal", "-shm"}
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def files_holding(db: Path, needle: str) -> list[str]:
    """The database files whose raw bytes contain `needle`."""
    paths = (db, Path(f"{db}-wal"), Path(f"{db}-shm"))
    return [p.name for p in paths if p.exists() and needle.encode() in p.read_bytes()]


def test_an_older_database_is_rewritten_once_to_erase_what_it_deleted(tmp_path: Path) -> None:
    """Versions before `secure_delete` left the bytes of deleted rows in free pages: a name
    deleted back then survived every upgrade. The first open by this version erases them."""
    db = tmp_path / "bot.db"
    Storage(str(db)).close()
    old = sqlite3.connect(db)  # what an older version did: delete without secure_delete
    old.execute("PRAGMA secure_delete = OFF")
    old.execute("DELETE FROM meta WHERE key = ?", (SCRUBBED,))  # it knew no such key
    for chat_id in range(200):  # enough rows for whole pages to be freed
        old.execute(
            "INSERT INTO conversations (chat_id, user_id, state, pending, updated_at) "
            "VALUES (?, ?, ?, 0, '2026-01-01')",
            (chat_id, chat_id, f"{NAME} {EMAIL} " * 20),
        )
    old.commit()
    old.execute("DELETE FROM conversations")
    old.commit()
    old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    old.close()
    assert files_holding(db, NAME) == ["bot.db"]  # the test would see it

    storage = Storage(str(db))
    try:
        assert files_holding(db, NAME) == []
        assert storage.ping() == SCHEMA_VERSION
    finally:
        storage.close()
    size = db.stat().st_size
    Storage(str(db)).close()  # once: the next open does not rewrite it again
    assert db.stat().st_size == size


def test_a_forget_during_another_readers_transaction_is_erased_after_the_next_write(
    tmp_path: Path,
) -> None:
    """A reader in another connection kept the WAL from being emptied after a /forget: the
    name stayed in it until the next /forget. Now the next write of any kind tries again."""
    db = tmp_path / "bot.db"
    storage = Storage(str(db))
    try:
        storage.save_conversation(7, 7, f"{NAME} {EMAIL}", pending=False)
        storage.forget_user(7)  # emptied: nobody reads
        storage.save_conversation(8, 8, f"{NAME} {EMAIL}", pending=False)
        reader = sqlite3.connect(db)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM conversations").fetchone()  # a snapshot held
        storage.db.execute("PRAGMA busy_timeout = 50")  # do not wait 5 s for the reader
        storage.forget_user(8)
        assert "bot.db-wal" in files_holding(db, NAME)  # the reader kept it there
        reader.rollback()
        reader.close()
        storage.set_language(9, "es")  # any later write
        assert files_holding(db, NAME) == []
    finally:
        storage.close()
