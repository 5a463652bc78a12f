"""Two businesses on one database (a SQLite file, a PostgreSQL database): nothing one
business's store reads or writes reaches the other's rows, whatever ids it is handed (the ids
of a forged callback are the other's)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.lifecycle import Fields, Write
from bot.ops.stats import stats_of
from bot.store.contract import Store
from bot.store.sqlite_async import SqliteStore
from bot.store.storage import StorageError
from tests.backends import Backend
from tests.clock import MONDAY
from tests.store.world import CUSTOMER, DAY, START, Ids, claims, fill, open_store

# Every public method of the contract; the test below must call each one through `Seen`.
PUBLIC = {
    name
    for name, value in vars(Store).items()
    if not name.startswith("_") and callable(value) and not isinstance(value, property)
}


class Seen:
    """A store that remembers which of its methods were called."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if callable(value):
            self.called.add(name)
        return value


async def views(store: Any, ids: Ids) -> dict[str, Any]:
    """Every read a business's bot makes, with CUSTOMER and the given ids: all truthy for the
    business that wrote them, all empty for any other."""
    later = MONDAY + timedelta(days=30)
    return {
        "get_language": await store.get_language(CUSTOMER),
        "get_prefs": await store.get_prefs(CUSTOMER),
        "get_booking": await store.get_booking(ids.booking),
        "stored_booking": await store.stored_booking(ids.booking),
        "stored_by_appointment": await store.stored_booking(appointment_id="a_1"),
        "booking_by_appointment": await store.booking_by_appointment("a_1"),
        "bookings_for_user": await store.bookings_for_user(CUSTOMER),
        "bookings_to_check": await store.bookings_to_check(MONDAY, 100),
        "upcoming_bookings": await store.upcoming_bookings(MONDAY),
        "upcoming_count": await store.upcoming_count(CUSTOMER, MONDAY),
        "booked_since": await store.booked_since(CUSTOMER, MONDAY - timedelta(days=1)),
        "due_reminders": await store.due_reminders(later),
        "reminders_for_booking": await store.reminders_for_booking(ids.booking),
        "pending_notice": await store.pending_notice(ids.booking),
        "pending_notices": await store.pending_notices(),
        "notices_for_booking": await store.notices_for_booking(ids.booking),
        "waitlist_entry": await store.waitlist_entry(ids.waiting),
        "waitlist_entry_for": await store.waitlist_entry_for(CUSTOMER, "s_cut", "loc_main", DAY),
        "waitlist_for_user": await store.waitlist_for_user(CUSTOMER, MONDAY),
        "waitlist_pairs_due": await store.waitlist_pairs_due(MONDAY, 10),
        "waiting_for_pair": await store.waiting_for_pair("s_cut", "loc_main", MONDAY),
        "open_offers": await store.open_offers(
            "s_cut", "loc_main", DAY + timedelta(days=1), MONDAY - timedelta(hours=1)
        ),
        "due_waitlist": await store.due_waitlist(),
        "funnel_since": await store.funnel_since(MONDAY - timedelta(days=1)),
        "load_conversation": await store.load_conversation(CUSTOMER),
        "conversation_and_language": [
            found for found in await store.conversation_and_language(CUSTOMER, CUSTOMER) if found
        ],
        "pending_conversations": await store.pending_conversations(),
        "conversation_count": await store.conversation_count(),
    }


# The reads by a row's id (a callback's payload): they find nothing of another business even
# when that business has rows of its own for the same customer.
BY_ID = (
    "get_booking",
    "stored_booking",
    "reminders_for_booking",
    "pending_notice",
    "notices_for_booking",
    "waitlist_entry",
)


def by_id(seen: dict[str, Any]) -> list[Any]:
    return [seen[name] for name in BY_ID]


async def forge(store: Any, ids: Ids, other: Store) -> None:
    """Every write a business's bot makes, aimed at the other business's customer and ids."""
    far = MONDAY + timedelta(days=365)
    await store.update_booking(ids.booking, status="cancelled", start=far)
    await store.apply(
        Write(
            user_id=CUSTOMER,
            chat_id=CUSTOMER,
            booking_id=ids.applied,
            fields=Fields(status="cancelled"),
            drop_reminders=True,
            skip_notices=True,
        )
    )
    await store.drop_pending_reminders(ids.booking)
    await store.skip_pending_notices(ids.booking)
    await claims(store, ids)
    await store.offer_waitlist([ids.waiting], MONDAY)
    await store.waitlist_day_full("s_cut", "loc_main", DAY + timedelta(days=1))
    await store.schedule_waitlist("s_cut", "loc_main", far, checked=[DAY], at=MONDAY)
    await store.waitlist_booked(CUSTOMER, "s_cut", "loc_main", DAY)
    await store.leave_waitlist(ids.waiting)
    await store.end_waitlist(far)
    await store.prune(appointments_before=far, idle_before=far)
    await store.forget_user(CUSTOMER, CUSTOMER)
    # Rows hung on the other business's booking are refused by the (business, id) foreign key.
    with pytest.raises(StorageError):
        await store.set_reminders(ids.booking, CUSTOMER, CUSTOMER, [(60, MONDAY)], language="it")
    booking = await other.get_booking(ids.booking)
    assert booking is not None
    with pytest.raises(StorageError):
        await store.add_notice(
            booking, "cancelled", start=START, previous_start=START, language="it"
        )


@pytest.mark.parametrize("first", ["", "studio-a"], ids=["env-business", "file-business"])
async def test_one_business_never_reaches_anothers_rows(backend: Backend, first: str) -> None:
    a = await backend.open(business=first)
    ids_a = await fill(a, "de")
    before = backend.snapshot(first)
    assert all(before.values()), "the world fills every table"
    assert all((await views(a, ids_a)).values()), "the reads below would find something"

    b = Seen(a.for_business("studio-b"))
    assert b.business == "studio-b"
    assert not any((await views(b, ids_a)).values())
    await forge(b, ids_a, a)
    assert backend.snapshot(first) == before
    assert not any(backend.snapshot("studio-b").values())

    ids_b = await fill(b, "it")  # the same customer, the same appointment ids: a world of its own
    assert ids_b.booking != ids_a.booking  # ids are global: a payload names one booking
    assert backend.snapshot(first) == before
    assert all((await views(b, ids_b)).values()) and not any(by_id(await views(b, ids_a)))
    assert await b.get_language(CUSTOMER) == "it" and await a.get_language(CUSTOMER) == "de"
    assert not any(by_id(await views(a, ids_b)))
    assert await b.ping() == await a.ping()
    async with b.batch():
        await b.set_language(CUSTOMER, "es")
    back = b.for_business(first)
    assert await back.get_language(CUSTOMER) == "de"
    after_b = backend.snapshot("studio-b")
    await forge(a, ids_b, b._store)  # and the other way round
    assert backend.snapshot("studio-b") == after_b

    # What several processes agree on is the business's too: an update id, a bot's offset.
    assert await a.first_delivery(7) and await b.first_delivery(7)
    assert not await b.first_delivery(7)
    assert await a.delivered(7) and not await b.delivered(8)
    await a.set_poll_offset("bot", 5)
    assert await b.poll_offset("bot") == 0
    await b.set_poll_offset("bot", 9)
    assert await a.poll_offset("bot") == 5 and await b.poll_offset("bot") == 9
    assert await b.forget_deliveries(MONDAY + timedelta(days=2)) == 1
    assert not await a.first_delivery(7)
    kept = await b.keep_updates([(70, '{"update_id": 70}')])  # PostgreSQL keeps, SQLite not
    assert kept == (backend.name == "pg")
    assert await a.kept_updates() == []
    assert await b.kept_updates() == (['{"update_id": 70}'] if kept else [])

    await b.close()  # not the opener: the database stays open
    assert await a.get_language(CUSTOMER) is None  # forge(a, ...) forgot a's own customer
    missing = PUBLIC - b.called
    assert not missing, f"Store methods the isolation test does not exercise: {missing}"


async def test_forget_deletes_that_business_rows_only(backend: Backend) -> None:
    a = await backend.open(business="studio-a")
    b = a.for_business("studio-b")
    await fill(a)
    await fill(b)
    kept = backend.snapshot("studio-b")
    await a.forget_user(CUSTOMER, CUSTOMER)
    gone = backend.snapshot("studio-a")
    assert gone.pop("funnel"), "the anonymous funnel stays"
    assert not any(gone.values())
    assert backend.snapshot("studio-b") == kept


async def test_stats_count_the_business_own_funnel(tmp_path: Path) -> None:
    """/stats reads SQLite's file itself (bot.ops.stats), scoped to the business."""
    a = SqliteStore(open_store(tmp_path, business="studio-a"))
    b = a.for_business("studio-b")
    await fill(a)
    await fill(b)
    await fill(b.for_business("studio-c"))
    await b.prune(appointments_before=MONDAY + timedelta(days=1), idle_before=MONDAY)  # b's funnel
    assert stats_of(a.storage, MONDAY + timedelta(hours=1)).confirmed == 1
    assert stats_of(b.storage, MONDAY + timedelta(hours=1)).confirmed == 0
    await a.close()
