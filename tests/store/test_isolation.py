"""Two businesses on one file: nothing one business's storage reads or writes reaches the
other's rows, whatever ids it is handed (the ids of a forged callback are the other's)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.lifecycle import Fields, Write
from bot.ops.stats import stats_of
from bot.store.storage import Storage, StorageError
from tests.clock import MONDAY
from tests.store.world import CUSTOMER, DAY, START, Ids, claims, fill, open_store, snapshot

# Every public method of Storage; the test below must call each one through `Seen`.
PUBLIC = {
    name for name in dir(Storage) if not name.startswith("_") and callable(getattr(Storage, name))
}


class Seen:
    """A storage that remembers which of its methods were called."""

    def __init__(self, store: Storage) -> None:
        self._store = store
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if callable(value):
            self.called.add(name)
        return value


def views(store: Any, ids: Ids) -> dict[str, Any]:
    """Every read a business's bot makes, with CUSTOMER and the given ids: all truthy for the
    business that wrote them, all empty for any other."""
    later = MONDAY + timedelta(days=30)
    return {
        "get_language": store.get_language(CUSTOMER),
        "get_prefs": store.get_prefs(CUSTOMER),
        "get_booking": store.get_booking(ids.booking),
        "stored_booking": store.stored_booking(ids.booking),
        "stored_by_appointment": store.stored_booking(appointment_id="a_1"),
        "booking_by_appointment": store.booking_by_appointment("a_1"),
        "bookings_for_user": store.bookings_for_user(CUSTOMER),
        "bookings_to_check": store.bookings_to_check(MONDAY, 100),
        "upcoming_bookings": store.upcoming_bookings(MONDAY),
        "upcoming_count": store.upcoming_count(CUSTOMER, MONDAY),
        "booked_since": store.booked_since(CUSTOMER, MONDAY - timedelta(days=1)),
        "due_reminders": store.due_reminders(later),
        "reminders_for_booking": store.reminders_for_booking(ids.booking),
        "pending_notice": store.pending_notice(ids.booking),
        "pending_notices": store.pending_notices(),
        "notices_for_booking": store.notices_for_booking(ids.booking),
        "waitlist_entry": store.waitlist_entry(ids.waiting),
        "waitlist_entry_for": store.waitlist_entry_for(CUSTOMER, "s_cut", "loc_main", DAY),
        "waitlist_for_user": store.waitlist_for_user(CUSTOMER, MONDAY),
        "waitlist_pairs_due": store.waitlist_pairs_due(MONDAY, 10),
        "waiting_for_pair": store.waiting_for_pair("s_cut", "loc_main", MONDAY),
        "open_offers": store.open_offers(
            "s_cut", "loc_main", DAY + timedelta(days=1), MONDAY - timedelta(hours=1)
        ),
        "due_waitlist": store.due_waitlist(),
        "funnel_since": store.funnel_since(MONDAY - timedelta(days=1)),
        "load_conversation": store.load_conversation(CUSTOMER),
        "pending_conversations": store.pending_conversations(),
        "conversation_count": store.conversation_count(),
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


def forge(store: Any, ids: Ids, other: Storage) -> None:
    """Every write a business's bot makes, aimed at the other business's customer and ids."""
    far = MONDAY + timedelta(days=365)
    store.update_booking(ids.booking, status="cancelled", start=far)
    store.apply(
        Write(
            user_id=CUSTOMER,
            chat_id=CUSTOMER,
            booking_id=ids.applied,
            fields=Fields(status="cancelled"),
            drop_reminders=True,
            skip_notices=True,
        )
    )
    store.drop_pending_reminders(ids.booking)
    store.skip_pending_notices(ids.booking)
    claims(store, ids)
    store.offer_waitlist([ids.waiting], MONDAY)
    store.waitlist_day_full("s_cut", "loc_main", DAY + timedelta(days=1))
    store.schedule_waitlist("s_cut", "loc_main", far, checked=[DAY], at=MONDAY)
    store.waitlist_booked(CUSTOMER, "s_cut", "loc_main", DAY)
    store.leave_waitlist(ids.waiting)
    store.end_waitlist(far)
    store.prune(appointments_before=far, idle_before=far)
    store.forget_user(CUSTOMER, CUSTOMER)
    # Rows hung on the other business's booking are refused by the (business, id) foreign key.
    with pytest.raises(StorageError):
        store.set_reminders(ids.booking, CUSTOMER, CUSTOMER, [(60, MONDAY)], language="it")
    booking = other.get_booking(ids.booking)
    assert booking is not None
    with pytest.raises(StorageError):
        store.add_notice(booking, "cancelled", start=START, previous_start=START, language="it")


@pytest.mark.parametrize("first", ["", "studio-a"], ids=["env-business", "file-business"])
def test_one_business_never_reaches_anothers_rows(tmp_path: Path, first: str) -> None:
    a = open_store(tmp_path, business=first)
    ids_a = fill(a, "de")
    before = snapshot(a, first)
    assert all(before.values()), "the world fills every table"
    assert all(views(a, ids_a).values()), "the reads below would find something"

    b = Seen(a.for_business("studio-b"))
    assert b.business == "studio-b"
    assert not any(views(b, ids_a).values())
    forge(b, ids_a, a)
    assert snapshot(a, first) == before
    assert not any(snapshot(b._store, "studio-b").values())

    ids_b = fill(b, "it")  # the same customer, the same appointment ids: a world of its own
    assert ids_b.booking != ids_a.booking  # ids are global: a payload names one booking
    assert snapshot(a, first) == before
    assert all(views(b, ids_b).values()) and not any(by_id(views(b, ids_a)))
    assert b.get_language(CUSTOMER) == "it" and a.get_language(CUSTOMER) == "de"
    assert not any(by_id(views(a, ids_b)))
    assert b.ping() == a.ping()
    with b.batch():
        b.set_language(CUSTOMER, "es")
    back = b.for_business(first)
    assert back.get_language(CUSTOMER) == "de"
    after_b = snapshot(b._store, "studio-b")
    forge(a, ids_b, b._store)  # and the other way round
    assert snapshot(b._store, "studio-b") == after_b

    b.close()  # not the opener: the file stays open
    assert a.get_language(CUSTOMER) is None  # forge(a, ...) forgot a's own customer
    missing = PUBLIC - b.called
    assert not missing, f"Storage methods the isolation test does not exercise: {missing}"
    a.close()


def test_forget_deletes_that_business_rows_only(tmp_path: Path) -> None:
    a = open_store(tmp_path, business="studio-a")
    b = a.for_business("studio-b")
    fill(a)
    fill(b)
    kept = snapshot(b, "studio-b")
    a.forget_user(CUSTOMER, CUSTOMER)
    gone = snapshot(a, "studio-a")
    assert gone.pop("funnel"), "the anonymous funnel stays"
    assert not any(gone.values())
    assert snapshot(b, "studio-b") == kept
    a.close()


def test_stats_count_the_business_own_funnel(tmp_path: Path) -> None:
    a = open_store(tmp_path, business="studio-a")
    b = a.for_business("studio-b")
    fill(a)
    fill(b)
    fill(b.for_business("studio-c"))
    b.prune(appointments_before=MONDAY + timedelta(days=1), idle_before=MONDAY)  # b's funnel
    assert stats_of(a, MONDAY + timedelta(hours=1)).confirmed == 1
    assert stats_of(b, MONDAY + timedelta(hours=1)).confirmed == 0
    a.close()
