"""Issue 18, item 1 (fast Zimun), at the engine: a confirm, reschedule or cancel Zimun answered
stays written down as in flight until the adapter says its reply was delivered
(`handle(until_delivered=True)`, then `delivered`). Until then nothing of it is written and
nobody (the staff chat) hears of it; a process that dies in between finishes it after the
restart with the same key, and the customer and the listeners hear of it once, as the
customer's. The process-level proof is tests/faults/test_crash_before_reply.py."""

from __future__ import annotations

import pytest

from bot.chat.engine import Conversation
from bot.core.changes import BookingChange, ChangeKind
from bot.core.events import Tap
from bot.core.screens import Reply
from bot.core.state import ChatState
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.conftest import make_client
from tests.booking.driver import Chat, _keys
from tests.booking.steps import ask_change, book_one, to_summary

BOOKED = "✅ <b>Booked!</b> Your reference is {reference}."
RESCHEDULED = "✅ <b>Rescheduled!</b> Your {service} appointment is now on {when}."
CANCELLED = "Your appointment is cancelled."


def in_flight(storage: Storage, chat_id: int = 1001) -> bool:
    row = storage.load_conversation(chat_id)
    assert row is not None
    state = ChatState.loads(row.state)
    return state.unsettled.pending is not None or state.unsettled.changing is not None


def says(reply: Reply, msgid: str) -> bool:
    return any(msgid in set(_keys(line)) for s in reply.screens for line in s.body)


async def tap_undelivered(chat: Chat, label: str) -> Reply:
    """Tap as the Telegram adapter does: the engine waits to be told the reply went out."""
    return await chat.engine.handle(chat.customer, Tap(chat.find(label).data), until_delivered=True)


async def restart(db_path: str, sandbox: SandboxServer) -> tuple[list[BookingChange], Reply]:
    """A new process on the same database: its one resumed reply, and what listeners heard."""
    storage = Storage(db_path)
    async with make_client(sandbox) as api:
        engine = Conversation(api, storage, now=sandbox.clock.now)
        heard: list[BookingChange] = []
        engine.listeners.append(heard.append)
        [(chat_id, reply)] = await engine.resume_pending()
        assert chat_id == 1001
        assert await engine.resume_pending() == []
    storage.close()
    return heard, reply


async def test_a_confirm_is_written_once_its_reply_is_delivered(
    chat: Chat, engine: Conversation, storage: Storage, sandbox: SandboxServer
) -> None:
    heard: list[BookingChange] = []
    engine.listeners.append(heard.append)
    await to_summary(chat)
    reply = await tap_undelivered(chat, "✅ Confirm")
    assert says(reply, BOOKED)
    assert in_flight(storage) and not storage.bookings_for_user(1001) and heard == []

    await engine.delivered(1001)
    assert not in_flight(storage)
    [row] = storage.bookings_for_user(1001)
    assert [(c.kind, c.booking_id) for c in heard] == [(ChangeKind.BOOKED, row.id)]
    await engine.delivered(1001)  # nothing waits any more
    assert len(heard) == 1


async def test_the_next_event_settles_a_reply_never_reported(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    """An adapter that never called `delivered`: the chat's next event writes it first."""
    await to_summary(chat)
    await tap_undelivered(chat, "✅ Confirm")
    await chat.command("mybookings")
    assert not in_flight(storage)
    assert len(storage.bookings_for_user(1001)) == 1
    assert len(sandbox.store.appointment_list()) == 1


async def test_a_confirm_whose_reply_a_crash_lost_is_told_after_the_restart(
    chat: Chat, storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    await tap_undelivered(chat, "✅ Confirm")  # the process dies before the reply went out

    heard, reply = await restart(db_path, sandbox)
    [appointment] = sandbox.store.appointment_list()  # the same key: booked once
    assert says(reply, BOOKED) and reply.screens[-1].attachment is not None
    [row] = storage.bookings_for_user(1001)
    assert row.appointment_id == appointment.id
    assert [c.kind for c in heard] == [ChangeKind.BOOKED]  # told once
    assert not in_flight(storage)


CHANGES = {"reschedule": ("Yes, reschedule", RESCHEDULED), "cancel": ("Yes, cancel it", CANCELLED)}


@pytest.mark.parametrize("kind", list(CHANGES))
async def test_a_change_whose_reply_a_crash_lost_is_the_customers_after_the_restart(
    kind: str, chat: Chat, storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    yes, told = CHANGES[kind]
    await book_one(chat)
    await ask_change(chat, kind)
    [before] = storage.bookings_for_user(1001)
    reply = await tap_undelivered(chat, yes)  # Zimun changed it; the reply never went out
    assert says(reply, told)
    assert in_flight(storage)
    assert storage.bookings_for_user(1001) == [before]  # nothing written yet

    heard, resumed = await restart(db_path, sandbox)
    assert says(resumed, told)
    assert not storage.notices_for_booking(before.id)  # nothing announced as the business's
    assert [(c.by_customer, c.booking_id) for c in heard] == [(True, before.id)]
    assert not in_flight(storage)
