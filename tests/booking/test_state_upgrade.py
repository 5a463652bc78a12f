"""A bot upgraded mid-conversation keeps every customer where they stood.

tests/booking/fixtures/flat_states.json holds states saved by the flat ChatState (version 1,
main before the grouping), captured from the engine at the same pinned instant. Each test
replays the same customer's steps against a fresh sandbox, puts the old row in place of the
new one (the run's random ids, that is its holds, screen codes, idempotency keys and attempt,
swapped for this run's, nothing else touched), proves it loads as exactly the state the grouped
code saved, and goes on through the engine to a booking.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.chat.engine import Conversation, in_flight
from bot.core.payload import Action
from bot.core.state import ChatState, Step
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.backends import Backend
from tests.booking.conftest import customer
from tests.booking.driver import Chat
from tests.booking.steps import (
    ask_change,
    book_one,
    open_first_booking,
    pick_day,
    to_calendar,
    to_summary,
)
from tests.booking.test_delivery import BOOKED, RESCHEDULED, restart, says, tap_undelivered
from tests.booking.test_waitlist_offer import OFFER, tap_day
from tests.waitlist.steps import SATURDAY, fill_day

FLAT = json.loads((Path(__file__).parent / "fixtures" / "flat_states.json").read_text())["states"]

# Where a state keeps values a run draws at random: (group, field) paths, parked ones included.
RANDOM = (
    ("nav", "nonce"),
    ("nav", "resume_nonce"),
    ("draft", "attempt"),
    ("draft", "hold", "hold_id"),
    ("unsettled", "pending", "hold_id"),
    ("unsettled", "pending", "key"),
    ("unsettled", "changing", "key"),
    ("parked", "resume_nonce"),
    ("parked", "draft", "attempt"),
    ("parked", "draft", "hold", "hold_id"),
)


def _at(state: ChatState, path: tuple[str, ...]) -> object:
    value: object = state
    for name in path:
        value = getattr(value, name, None)
    return value


def _swap(value: object, ids: dict[str, str]) -> object:
    """The same JSON with the old run's ids replaced (inside a parked state's string too)."""
    if isinstance(value, dict):
        return {
            k: _flat_text(_swap(json.loads(v), ids)) if k == "parked" else _swap(v, ids)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_swap(v, ids) for v in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _flat_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # as pydantic wrote it


def upgrade(name: str, storage: Storage, chat_id: int = 1001) -> ChatState:
    """Put the old row of `name` in place of the chat's saved state, and prove it loads as
    exactly that state (the meaning unchanged); returns the state."""
    row = storage.load_conversation(chat_id)
    assert row is not None
    live = ChatState.loads(row.state)
    old = ChatState.loads(FLAT[name])
    ids = {
        str(_at(old, path)): str(_at(live, path))
        for path in RANDOM
        if _at(old, path) is not None and _at(live, path) is not None
    }
    flat = json.loads(FLAT[name])
    assert "v" not in flat and "nav" not in flat  # the old form, every field at the top
    swapped = _flat_text(_swap(flat, ids))
    upgraded = ChatState.loads(swapped)
    assert upgraded == live, name
    storage.save_conversation(chat_id, chat_id, swapped, pending=in_flight(upgraded))
    assert storage.load_conversation(chat_id).state == swapped  # type: ignore[union-attr]
    return upgraded


def test_every_fixture_is_flat_and_takes_the_grouped_form() -> None:
    for name, raw in FLAT.items():
        state = ChatState.loads(raw)
        assert ChatState.loads(state.dumps()) == state, name
        assert json.loads(state.dumps())["v"] == 2


def test_a_version_written_out_is_read_as_that_version() -> None:
    assert ChatState.loads('{"v":1,"step":"name","hold":null}').nav.step == Step.NAME
    assert ChatState.loads('{"v": 2, "nav": {"step": "name"}}').nav.step == Step.NAME
    assert ChatState.loads('{"v":2}') == ChatState()


def test_an_unreadable_old_state_is_refused_as_unreadable() -> None:
    """The engine starts such a chat over (it catches ValueError), as it did before."""
    for raw in ('{"parked":"[1]"}', '{"parked":"{not json"}', '{"step":"nowhere"}'):
        with pytest.raises(ValueError):
            ChatState.loads(raw)


async def test_the_menu(chat: Chat, storage: Storage) -> None:
    await book_one(chat)
    await chat.command("start")
    upgrade("menu", storage)
    await book_one(chat)
    assert len(storage.bookings_for_user(1001)) == 2


async def test_a_draft_holding_a_time(chat: Chat, storage: Storage) -> None:
    await to_summary(chat)
    state = upgrade("summary_holding", storage)
    assert state.nav.step == Step.SUMMARY and state.draft.hold is not None
    await chat.tap("✅ Confirm")
    assert chat.shows(BOOKED)
    [row] = storage.bookings_for_user(1001)
    assert row.start == state.draft.hold.start


async def test_a_draft_behind_a_detour(chat: Chat, storage: Storage) -> None:
    await to_summary(chat)
    await chat.command("mybookings")
    state = upgrade("summary_behind_a_detour", storage)
    assert (state.nav.step, state.nav.resume) == (Step.BOOKINGS, Step.SUMMARY)
    await chat.tap_action(Action.BACK)
    assert chat.shows("Please check the details:")
    await chat.tap("✅ Confirm")
    assert chat.shows(BOOKED)
    assert len(storage.bookings_for_user(1001)) == 1


async def test_a_waiting_list_offer(chat: Chat, storage: Storage, sandbox: SandboxServer) -> None:
    fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    state = upgrade("waitlist_offer", storage)
    assert (state.nav.step, state.waitlist.day) == (Step.WAITLIST_OFFER, SATURDAY)
    await chat.tap_action(Action.WAITLIST_JOIN)
    [entry] = storage.waitlist_for_user(1001, sandbox.clock.now())
    assert entry.day == SATURDAY
    await pick_day(chat)
    await chat.tap_action(Action.TIME)
    await chat.tap("Use “{name}”")
    await chat.say("ana@example.com")
    await chat.tap("✅ Confirm")
    assert chat.shows(BOOKED)
    assert len(storage.bookings_for_user(1001)) == 1


async def test_a_reschedule_that_parked_a_draft(chat: Chat, storage: Storage) -> None:
    await book_one(chat)
    await to_summary(chat)
    await open_first_booking(chat)
    await chat.tap("🔁 Reschedule")
    await chat.tap_action(Action.DAY, 1)
    await chat.tap_action(Action.TIME, 3)
    state = upgrade("reschedule_parking_a_booking", storage)
    assert state.parked is not None and state.parked.draft.hold is not None
    await chat.tap("Yes, reschedule")
    assert chat.shows(RESCHEDULED)
    [moved] = storage.bookings_for_user(1001)
    assert moved.start == state.managing.new_start
    await chat.command("start")
    await chat.tap_action(Action.RESUME)  # the menu's Continue: the parked draft came back
    assert chat.shows("Please check the details:")
    await chat.tap("✅ Confirm")
    assert chat.shows(BOOKED)
    assert len(storage.bookings_for_user(1001)) == 2


async def test_a_confirm_in_flight(
    chat: Chat, storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    await tap_undelivered(chat, "✅ Confirm")  # the process dies before the reply went out
    upgrade("confirm_in_flight", storage)
    _, reply = await restart(db_path, sandbox)  # the upgraded bot finishes it
    assert says(reply, BOOKED)
    [row] = storage.bookings_for_user(1001)
    [appointment] = sandbox.store.appointment_list()  # the same key: booked once
    assert row.appointment_id == appointment.id


async def test_a_reschedule_in_flight(
    chat: Chat, storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    await book_one(chat)
    await ask_change(chat, "reschedule")
    await tap_undelivered(chat, "Yes, reschedule")
    state = upgrade("change_in_flight", storage)
    assert state.unsettled.changing is not None
    heard, reply = await restart(db_path, sandbox)
    assert says(reply, RESCHEDULED)
    assert [(c.by_customer, c.booking_id) for c in heard] == [(True, 1)]
    [row] = storage.bookings_for_user(1001)
    assert row.start == state.unsettled.changing.new_start


async def test_an_old_row_as_each_database_hands_it_back(
    backend: Backend, api: ZimunClient, sandbox: SandboxServer
) -> None:
    """conversations.state as SQLite or PostgreSQL stored it before the upgrade, verbatim: the
    customer comes back through the menu's Continue, joins the waiting list and books."""
    fill_day(sandbox, SATURDAY)
    store = await backend.open()
    await store.save_conversation(1001, 1001, FLAT["waitlist_offer"], pending=False)
    chat = Chat(Conversation(api, store, now=sandbox.clock.now), customer())
    await chat.command("start")
    await chat.tap_action(Action.RESUME)
    assert chat.shows(OFFER)
    await chat.tap_action(Action.WAITLIST_JOIN)
    [entry] = await store.waitlist_for_user(1001, sandbox.clock.now())
    assert entry.day == SATURDAY
    await pick_day(chat)
    await chat.tap_action(Action.TIME)
    await chat.tap("Use “{name}”")
    await chat.say("ana@example.com")
    await chat.tap("✅ Confirm")
    assert chat.shows(BOOKED)
    assert len(await store.bookings_for_user(1001)) == 1
