"""One business's complete world in the store, written through every kind of write the bot
makes (through the async contract, on either database), and a snapshot of every row a
business owns in a SQLite file: what the isolation tests compare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bot.core.lifecycle import Fields, Write
from bot.core.records import FunnelEvent, NewBooking
from bot.store.contract import Store
from bot.store.storage import NOTICES, REMINDERS, Storage
from tests.clock import MONDAY

CUSTOMER = 7  # the same Telegram user (and private chat) in every business
START = MONDAY + timedelta(days=3, hours=4)
DAY = date(2026, 11, 27)


def open_store(tmp_path: Path, name: str = "bot.db", business: str = "") -> Storage:
    return Storage(str(tmp_path / name), now=lambda: MONDAY, business=business)


def booking(appointment_id: str, start: datetime = START) -> NewBooking:
    return NewBooking(
        user_id=CUSTOMER,
        chat_id=CUSTOMER,
        appointment_id=appointment_id,
        service_id="s_cut",
        service_name="Cut",
        location_id="loc_main",
        location_name="Main",
        location_address="Street 1",
        timezone="Europe/Madrid",
        start=start,
        end=start + timedelta(minutes=30),
        status="confirmed",
    )


@dataclass(frozen=True)
class Ids:
    """The row ids a business's world was given (what a forged callback would carry)."""

    booking: int
    applied: int
    reminder: int
    notice: int
    waiting: int
    told: int


async def fill(store: Store, language: str = "de") -> Ids:
    """Every table gets rows of `store`'s business for CUSTOMER, as the bot writes them."""
    await store.set_language(CUSTOMER, language)
    await store.update_prefs(CUSTOMER, email="cleo@example.org", name="Cleo")
    first = await store.add_booking(**vars(booking("a_1")), language=language)
    applied = await store.apply(
        Write(
            user_id=CUSTOMER,
            chat_id=CUSTOMER,
            new=booking("a_2", START + timedelta(days=1)),
            booked_at=MONDAY,
            fields=Fields(language=language),
            reminders=((120, START + timedelta(days=1, hours=-2)),),
            reminder_language=language,
        )
    )
    await store.set_reminders(
        first,
        CUSTOMER,
        CUSTOMER,
        [(1440, MONDAY), (60, START - timedelta(hours=1))],
        language=language,
    )
    row = await store.get_booking(first)
    assert row is not None
    notice = await store.add_notice(
        row, "moved", start=START, previous_start=START - timedelta(hours=1), language=language
    )
    waiting, told = [await _wait_for(store, DAY + timedelta(days=n), language) for n in (0, 1)]
    await store.offer_waitlist([told], MONDAY)
    await store.record_funnel(
        [
            FunnelEvent(at=MONDAY, attempt="x1", event="started"),
            FunnelEvent(MONDAY, "x1", "confirmed", location_name="Main", service_name="Cut"),
        ]
    )
    await store.save_conversation(CUSTOMER, CUSTOMER, '{"step": "email"}', pending=True)
    # the same again as most updates write it (no events this time: the world stays the same)
    await store.save_with_funnel(CUSTOMER, CUSTOMER, '{"step": "email"}', pending=True, funnel=[])
    reminders = await store.reminders_for_booking(first)
    [reminder] = [r for r in reminders if r.offset_minutes == 1440]
    return Ids(first, applied, reminder.id, notice, waiting, told)


async def _wait_for(store: Store, day: date, language: str) -> int:
    """CUSTOMER joins the waiting list for `day`, as the bot writes it."""
    return await store.join_waitlist(
        user_id=CUSTOMER,
        chat_id=CUSTOMER,
        service_id="s_cut",
        service_name="Cut",
        location_id="loc_main",
        location_name="Main",
        timezone="Europe/Madrid",
        day=day,
        ends_at=datetime.combine(day, time(23), tzinfo=START.tzinfo),
        language=language,
        now=MONDAY,
        next_check_at=MONDAY,
    )


# Every table that holds a business's data (all but `meta`); test_schema checks the list.
TABLES = ("users", "bookings", "conversations", "reminders", "notices", "waitlist", "funnel")


def snapshot(store: Storage, business: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row `business` owns in the store's file, read past the store's own scoping."""
    conn = store.db.conn
    return {
        table: sorted(
            conn.execute(f"SELECT * FROM {table} WHERE business = ?", (business,)).fetchall(),
            key=repr,
        )
        for table in TABLES
    }


async def claims(store: Storage, ids: Ids) -> None:
    """The outboxes' writes by id (what a forged or stale id would reach)."""
    await store.claim(REMINDERS, ids.reminder)
    await store.unclaim(REMINDERS, ids.reminder)
    await store.claim(NOTICES, ids.notice)
    await store.claim_done(NOTICES, ids.notice)
    await store.claim_waitlist(ids.told)
    await store.skip(REMINDERS, [ids.reminder])
    await store.skip(NOTICES, [ids.notice])
