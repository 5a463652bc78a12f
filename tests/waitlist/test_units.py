"""The waiting list's pure parts and its storage: the cadence and its cost formula, the day's
bounds across daylight-saving nights, payload codes, the line's order, and an older database
upgraded in place."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlite_utils

from bot.core.cadence import WAIT_CADENCE, day_bounds
from bot.core.payload import Action, decode, waitlist_data
from bot.store.storage import MIGRATIONS, SCHEMA_VERSION, Storage

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_near_days_are_looked_at_every_four_minutes_far_ones_every_half_hour() -> None:
    assert WAIT_CADENCE.next_look(NOW, NOW + 3 * DAY) == NOW + timedelta(minutes=4)
    assert WAIT_CADENCE.next_look(NOW, NOW + 30 * DAY) == NOW + timedelta(minutes=30)
    # A far day coming within 7 days is looked at then, not up to 30 minutes later.
    assert WAIT_CADENCE.next_look(NOW, NOW + 7 * DAY + timedelta(minutes=10)) == (
        NOW + timedelta(minutes=10)
    )
    assert WAIT_CADENCE.promise(near=True) <= timedelta(minutes=5)
    assert WAIT_CADENCE.calls_per_hour(near=1, far=0) == 15
    assert WAIT_CADENCE.calls_per_hour(near=0, far=1) == 2
    assert WAIT_CADENCE.calls_per_hour(near=10, far=20) == 190


def test_a_day_is_bounded_in_its_branchs_zone_across_daylight_saving_nights() -> None:
    start, end = day_bounds(date(2026, 10, 25), "Europe/Madrid")  # 25 hours long
    assert (start, end - start) == (
        datetime(2026, 10, 24, 22, 0, tzinfo=UTC),
        25 * timedelta(hours=1),
    )
    start, end = day_bounds(date(2026, 3, 29), "Europe/Madrid")  # 23 hours long
    assert end - start == 23 * timedelta(hours=1)
    start, end = day_bounds(date(2026, 11, 24), "America/Mexico_City")
    assert start == datetime(2026, 11, 24, 6, 0, tzinfo=UTC) and end - start == DAY


def test_payload_codes_are_unique_and_the_entry_payload_decodes() -> None:
    codes = [action.value for action in Action]
    assert len(codes) == len(set(codes))
    payload = decode(waitlist_data(Action.WAITLIST_OPEN, 2**40))
    assert payload is not None and payload.booking_scoped and payload.arg == 2**40


def _join(store: Storage, user: int, day: date, now: datetime, service: str = "svc") -> int:
    return store.join_waitlist(
        user_id=user,
        chat_id=user,
        service_id=service,
        service_name="S",
        location_id="loc",
        location_name="L",
        timezone="Europe/Madrid",
        day=day,
        ends_at=day_bounds(day, "Europe/Madrid")[1],
        language="en",
        now=now,
        next_check_at=now + timedelta(minutes=30),
    )


def test_the_line_keeps_its_order_and_a_pair_is_looked_at_together(tmp_path: Path) -> None:
    store = Storage(str(tmp_path / "bot.db"))
    saturday, far = date(2026, 11, 28), date(2026, 12, 15)
    first = _join(store, 1, saturday, NOW)
    _join(store, 2, saturday, NOW + timedelta(minutes=1))
    _join(store, 3, far, NOW + timedelta(minutes=2))
    # One pair, due once, whatever the number of customers and days.
    assert store.waitlist_pairs_due(NOW + timedelta(minutes=31), 10) == [("svc", "loc")]
    assert [e.user_id for e in store.waiting_for_pair("svc", "loc", NOW)] == [1, 2, 3]
    # Told, then re-armed by the customer: the same place in the line.
    store.offer_waitlist([first], NOW)
    assert store.claim_waitlist(first) and not store.claim_waitlist(first)
    assert _join(store, 1, saturday, NOW + timedelta(hours=1)) == first
    assert [e.user_id for e in store.waiting_for_pair("svc", "loc", NOW)] == [1, 2, 3]
    # The day passes: its entries end, the far one stays.
    assert store.end_waitlist(day_bounds(saturday, "Europe/Madrid")[1]) == 2
    assert [e.day for e in store.waiting_for_pair("svc", "loc", NOW)] == [far]
    store.forget_user(3)
    assert store.waiting_for_pair("svc", "loc", NOW) == []
    store.close()


def test_the_watch_budget_is_shared_per_customer(tmp_path: Path) -> None:
    """One customer waiting at three services since earlier, another at a fourth: with two
    looks to spend, each customer's most overdue pair goes first (issue 18, item 12)."""
    store = Storage(str(tmp_path / "bot.db"))
    saturday = date(2026, 11, 28)
    for service in ("svc_a", "svc_b", "svc_c"):
        _join(store, 1, saturday, NOW, service=service)
    _join(store, 2, saturday, NOW + timedelta(minutes=5), service="svc_d")
    _join(store, 2, saturday, NOW + timedelta(minutes=5), service="svc_a")  # shared with 1
    later = NOW + timedelta(hours=1)
    assert store.waitlist_pairs_due(later, 2) == [("svc_a", "loc"), ("svc_b", "loc")]
    # svc_a was the first turn of both: the second look goes to customer 2's next, not 1's.
    store.schedule_waitlist("svc_a", "loc", later + timedelta(hours=1), checked=[], at=later)
    assert store.waitlist_pairs_due(later, 2) == [("svc_b", "loc"), ("svc_d", "loc")]
    assert store.waitlist_pairs_due(later, 10) == [
        ("svc_b", "loc"),
        ("svc_d", "loc"),
        ("svc_c", "loc"),
    ]
    store.close()


def test_a_database_from_before_the_waiting_list_is_upgraded_in_place(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for migration in MIGRATIONS[:3]:
        migration(db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    conn.close()
    store = Storage(path)
    assert store.schema_version == SCHEMA_VERSION
    _join(store, 1, date(2026, 11, 28), NOW)
    assert len(store.waitlist_for_user(1, NOW)) == 1
    store.close()
