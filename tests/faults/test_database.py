"""A bot database that cannot be used at start-up: garbage, a damaged page, a truncated file, a
file another process holds locked. The bot says so in one line naming BOT_DB_PATH, exits with a
failure code, and leaves the file exactly as it was (nothing recreated, nothing "repaired")."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.payload import Action
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import Customer, Launcher, digest, read_rows

CHAT = 701
EXIT_FAILURE = 1


def make_database(path: Path) -> None:
    """A bot database with one customer's booking in it, as a running bot leaves it."""
    storage = Storage(str(path))
    start = datetime.now(UTC) + timedelta(days=3)
    storage.add_booking(
        user_id=CHAT,
        chat_id=CHAT,
        appointment_id="apt_kept",
        service_id="svc_checkup",
        service_name="Quick check-up",
        location_id="loc_madrid",
        location_name="Madrid – Chamberí",
        location_address="Calle de Ejemplo 1",
        timezone="Europe/Madrid",
        start=start,
        end=start + timedelta(minutes=15),
        status="confirmed",
    )
    storage.close()
    # A clean close checkpoints the WAL: the whole database is in the main file.
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def garbage(path: Path) -> None:
    path.write_bytes(b"these are not the bytes of an SQLite database\n" * 200)


def damaged_page(path: Path) -> None:
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) >= 3 * page
    data[page : 2 * page] = bytes(range(256)) * (page // 256)  # page 2: the first table's root
    path.write_bytes(bytes(data))


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


def assert_refused(launcher: Launcher, before: str) -> str:
    result = launcher.run_until_exit()
    assert result.returncode == EXIT_FAILURE, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert f"cannot open BOT_DB_PATH='{launcher.db}'" in errors[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert digest(launcher.db) == before  # untouched, byte for byte
    return errors[0]


@pytest.mark.parametrize("damage", [garbage, damaged_page, truncated])
def test_a_corrupted_database_is_refused_and_left_as_it_was(
    launcher: Launcher, fake: FakeBotAPI, damage
) -> None:
    if damage is not garbage:
        make_database(launcher.db)
    damage(launcher.db)
    before = digest(launcher.db)
    error = assert_refused(launcher, before)
    assert any(word in error for word in ("not a database", "malformed", "integrity"))
    assert not fake.calls_of("getUpdates")  # it never started taking updates it could not keep


@pytest.mark.slow
def test_a_locked_database_is_refused_then_used_once_free(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    """Another process holds the file exclusively (the sqlite3 shell or a backup tool in the
    rollback-journal mode, mid-transaction): after its busy timeout the bot gives up with a
    clear line; once the lock is gone it starts and the data is all there."""
    first = launcher.start()
    customer = Customer(fake, CHAT, "es")
    customer.book()
    assert first.stop() == 0
    [appointment] = sandbox.store.appointment_list()
    locker = sqlite3.connect(launcher.db, isolation_level=None)
    try:
        mode = locker.execute("PRAGMA journal_mode = DELETE").fetchone()  # readers wait
        assert mode == ("delete",)
        # Read the file before locking: closing any descriptor of it in this process would drop
        # the process's POSIX locks, SQLite's included.
        before = digest(launcher.db)
        locker.execute("BEGIN EXCLUSIVE")
        error = assert_refused(launcher, before)
        assert "locked" in error
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    bot = launcher.start()
    customer.command("mybookings", until=lambda: customer.shows(Action.OPEN_BOOKING))
    assert bot.stop() == 0
    [row] = read_rows(launcher.db, "SELECT appointment_id, status FROM bookings")
    assert row == {"appointment_id": appointment.id, "status": "confirmed"}
