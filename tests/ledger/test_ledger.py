"""The ledger on its own (SQLite, no API, no Telegram): each entry writes the row, plans the
reminders, queues the customer's notice and returns the change, in one transaction; a repeated
entry changes nothing; a comparison that would mistake the bot's own change for the
business's is ignored; notices not sent yet follow the net change. And the cadence's promises
and cost formula."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot.core.cadence import CADENCE
from bot.core.changes import ChangeKind
from bot.core.records import BookingRow
from bot.followup.ledger import Booked, Cancelled, Ledger, Moved, NewBooking, Seen
from bot.store.storage import MIGRATIONS, SCHEMA_VERSION, Storage

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # two days ahead
HOUR = timedelta(hours=1)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(str(tmp_path / "bot.db"))
    yield store
    store.close()


@pytest.fixture
def ledger(storage: Storage) -> Ledger:
    return Ledger(storage)


def new_booking(start: datetime = START) -> NewBooking:
    return NewBooking(
        user_id=7,
        chat_id=7,
        appointment_id="a_1",
        service_id="svc_checkup",
        service_name="Quick check-up",
        location_id="loc_madrid",
        location_name="Madrid – Chamberí",
        location_address="Calle 1",
        timezone="Europe/Madrid",
        start=start,
        end=start + timedelta(minutes=15),
        status="confirmed",
    )


async def booked(ledger: Ledger) -> BookingRow:
    [change] = await ledger.commit(
        [Booked(new_booking(), contact_name="Ana")], now=NOW, language="it"
    )
    assert change.kind is ChangeKind.BOOKED and change.by_customer
    row = await ledger.storage.get_booking(change.booking_id or 0)
    assert row is not None
    return row


def seen(row: BookingRow, ledger: Ledger, at: datetime = NOW, **answer: object) -> Seen:
    values = {"status": "confirmed", "start": row.start, **answer}
    return Seen(
        row.id,
        str(values["status"]),
        at,
        ledger.epoch(row.id),
        start=values["start"],  # type: ignore[arg-type]
    )


async def test_booked_writes_the_row_plans_reminders_and_schedules_a_check(ledger: Ledger) -> None:
    row = await booked(ledger)
    assert (row.language, row.checked_at) == ("it", NOW)
    assert row.next_check_at == NOW + CADENCE.far_every
    reminders = await ledger.storage.reminders_for_booking(row.id)
    assert [(r.due_at, r.language) for r in reminders] == [
        (START - timedelta(hours=24), "it"),
        (START - timedelta(hours=2), "it"),
    ]
    replay = await ledger.commit([Booked(new_booking())], now=NOW, language="it")
    assert replay == []  # a replayed confirm: recorded and told the first time
    assert len(await ledger.storage.bookings_for_user(7)) == 1


async def test_a_move_at_the_business_is_recorded_announced_and_told_once(ledger: Ledger) -> None:
    row = await booked(ledger)
    heard = []
    ledger.listeners.append(heard.append)
    later = START + timedelta(days=1)
    [change] = await ledger.commit([seen(row, ledger, start=later)], now=NOW + HOUR)
    assert (change.kind, change.by_customer, change.previous_start) == (
        ChangeKind.MOVED,
        False,
        START,
    )
    assert heard == [change]
    fresh = await ledger.storage.get_booking(row.id)
    assert fresh is not None and fresh.start == later
    assert fresh.end == later + timedelta(minutes=15)  # the duration is kept
    assert [r.due_at for r in await ledger.storage.reminders_for_booking(row.id)] == [
        later - timedelta(hours=24),
        later - timedelta(hours=2),
    ]
    [notice] = await ledger.storage.notices_for_booking(row.id)
    assert (notice.kind, notice.start, notice.previous_start, notice.language) == (
        "moved",
        later,
        START,
        "it",
    )
    # Seen again (another scan, My bookings, a reminder's look): nothing new.
    assert await ledger.commit([seen(fresh, ledger, at=NOW + 2 * HOUR)], now=NOW + 2 * HOUR) == []
    assert len(await ledger.storage.notices_for_booking(row.id)) == 1
    assert len(heard) == 1


async def test_a_cancellation_at_the_business_drops_the_reminders(ledger: Ledger) -> None:
    row = await booked(ledger)
    [change] = await ledger.commit([Seen.gone(row.id, NOW, ledger.epoch(row.id))], now=NOW)
    assert (change.kind, change.by_customer) == (ChangeKind.CANCELLED, False)
    assert await ledger.storage.reminders_for_booking(row.id) == []
    [notice] = await ledger.storage.notices_for_booking(row.id)
    assert (notice.kind, notice.start) == ("cancelled", START)
    assert await ledger.commit([Seen.gone(row.id, NOW, ledger.epoch(row.id))], now=NOW) == []


async def test_a_notice_not_sent_yet_follows_the_net_change(ledger: Ledger) -> None:
    row = await booked(ledger)
    friday = START + timedelta(days=2)
    await ledger.commit([seen(row, ledger, start=friday)], now=NOW)
    moved = await ledger.storage.get_booking(row.id)
    assert moved is not None
    # Moved back before the customer was told: nothing to tell.
    assert len(await ledger.commit([seen(moved, ledger, start=START)], now=NOW)) == 1
    assert await ledger.storage.pending_notice(row.id) is None

    # Moved, then cancelled before the customer was told: one notice, of the cancellation of
    # the time they know.
    back = await ledger.storage.get_booking(row.id)
    assert back is not None
    await ledger.commit([seen(back, ledger, start=friday)], now=NOW)
    await ledger.commit([Seen.gone(row.id, NOW, ledger.epoch(row.id))], now=NOW)
    pending = await ledger.storage.pending_notice(row.id)
    assert pending is not None
    assert (pending.kind, pending.start, pending.previous_start) == ("cancelled", START, START)
    statuses = [n.status for n in await ledger.storage.notices_for_booking(row.id)]
    assert statuses == ["skipped", "skipped", "pending"]


async def test_the_customers_own_changes_are_not_announced_and_overtake_a_pending_notice(
    ledger: Ledger,
) -> None:
    row = await booked(ledger)
    await ledger.commit([seen(row, ledger, start=START + HOUR)], now=NOW)  # the business moves it
    [change] = await ledger.commit([Moved(row.id, START + 2 * HOUR, None)], now=NOW, language="de")
    assert (change.kind, change.by_customer) == (ChangeKind.MOVED, True)
    assert [n.status for n in await ledger.storage.notices_for_booking(row.id)] == ["skipped"]
    fresh = await ledger.storage.get_booking(row.id)
    assert fresh is not None and fresh.language == "de"
    assert fresh.end == START + 2 * HOUR + timedelta(minutes=15)
    [cancel] = await ledger.commit([Cancelled(row.id)], now=NOW)
    assert cancel.by_customer and await ledger.storage.reminders_for_booking(row.id) == []
    assert await ledger.commit([Cancelled(row.id)], now=NOW) == []  # already cancelled
    assert [n.status for n in await ledger.storage.notices_for_booking(row.id)] == ["skipped"]


async def test_a_comparison_racing_the_bots_own_change_is_ignored(ledger: Ledger) -> None:
    """Zimun already has the customer's new time; the row does not yet."""
    row = await booked(ledger)
    new_time = START + HOUR
    ledger.hold(row.id)  # the conversation is about to ask Zimun
    assert await ledger.commit([seen(row, ledger, start=new_time)], now=NOW) == []
    asked_while_held = seen(row, ledger, start=new_time)
    ledger.release(row.id)
    assert await ledger.commit([asked_while_held], now=NOW) == []  # asked before the release
    await ledger.commit([Moved(row.id, new_time, None)], now=NOW + HOUR, language="it")
    # An answer older than the bot's own write (the old time) is stale.
    old_answer = seen(row, ledger, at=NOW + timedelta(minutes=30), start=START)
    assert await ledger.commit([old_answer], now=NOW + HOUR) == []
    assert await ledger.storage.notices_for_booking(row.id) == []
    fresh = await ledger.storage.get_booking(row.id)
    assert fresh is not None and fresh.start == new_time


async def test_a_forgotten_booking_is_left_alone(ledger: Ledger) -> None:
    row = await booked(ledger)
    await ledger.storage.forget_user(row.user_id)
    assert await ledger.commit([Seen.gone(row.id, NOW, 0), Cancelled(row.id)], now=NOW) == []


def test_the_cadence_keeps_its_promises_at_a_stated_cost() -> None:
    assert CADENCE.promise(near=True) <= timedelta(minutes=5)
    assert CADENCE.promise(near=False) <= HOUR
    # Near appointments every 4 minutes, far ones every 55, none once started.
    assert CADENCE.next_check(NOW, NOW + 3 * HOUR) == NOW + CADENCE.near_every
    assert CADENCE.next_check(NOW, NOW + 72 * HOUR) == NOW + CADENCE.far_every
    assert CADENCE.next_check(NOW, NOW) is None
    # A far one coming within a day is checked as it does, not up to 55 minutes later.
    assert CADENCE.next_check(NOW, NOW + 24 * HOUR + timedelta(minutes=20)) == NOW + timedelta(
        minutes=20
    )
    assert CADENCE.next_check(NOW, NOW + 24 * HOUR + timedelta(minutes=1)) == (
        NOW + CADENCE.near_every
    )
    assert CADENCE.calls_per_hour(near=100, far=0) == 1500
    assert round(CADENCE.calls_per_hour(near=0, far=100)) == 109


async def test_a_database_from_before_the_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    """Schema 2 (issue 6): its bookings get no language and no check time; they are checked
    first, and their notices speak the language of their reminders."""
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for migration in MIGRATIONS[:2]:
        migration(db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    conn.execute(
        "INSERT INTO bookings (id, user_id, chat_id, appointment_id, service_name, location_name,"
        " timezone, start, status, created_at, updated_at) VALUES "
        "(1, 7, 7, 'a_old', 'Cut', 'Main', 'Europe/Rome', ?, 'confirmed', 'x', 'x')",
        (START.isoformat(),),
    )
    conn.execute(
        "INSERT INTO reminders (booking_id, user_id, chat_id, offset_minutes, due_at, language,"
        " created_at) VALUES (1, 7, 7, 120, ?, 'it', 'x')",
        ((START - timedelta(hours=2)).isoformat(timespec="seconds"),),
    )
    conn.close()

    storage = Storage(path)
    try:
        assert storage.schema_version == SCHEMA_VERSION
        [old] = storage.bookings_to_check(NOW, 10)
        assert (old.language, old.checked_at, old.next_check_at) == (None, None, None)
        ledger = Ledger(storage)
        await ledger.commit([seen(old, ledger, start=START + HOUR)], now=NOW)
        [notice] = storage.notices_for_booking(old.id)
        assert notice.language == "it"
        assert storage.bookings_to_check(NOW, 10) == []  # checked: next time round
    finally:
        storage.close()
