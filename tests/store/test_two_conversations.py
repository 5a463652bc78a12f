"""Two businesses' conversations on one database file (one connection), driven the way a
customer drives them, against the sandbox over HTTP: the same Telegram user has two separate
worlds, a booking button of one business does nothing in the other, and /forget in one
business forgets that business's rows only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.engine import NOT_YOURS, Conversation
from bot.core.payload import Action, booking_data
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import customer, make_client
from tests.booking.driver import Chat
from tests.booking.steps import book_one, open_first_booking
from tests.store.world import snapshot

USER = 1001


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[ZimunClient]:
    async with make_client(sandbox) as client:
        yield client


async def test_one_customer_two_businesses_two_worlds(
    tmp_path: Path, api: ZimunClient, sandbox: SandboxServer
) -> None:
    opener = Storage(str(tmp_path / "bot.db"), now=sandbox.clock.now, business="studio-a")
    a = Conversation(api, opener, now=sandbox.clock.now)
    b = Conversation(api, opener.for_business("studio-b"), now=sandbox.clock.now)
    in_a = Chat(a, customer(user_id=USER, lang="es"))
    in_b = Chat(b, customer(user_id=USER, lang="en"))

    await book_one(in_a)
    [booking] = opener.bookings_for_user(USER)
    await in_b.command("mybookings")
    assert in_b.shows("You have no upcoming appointments."), in_b.describe()
    for action in (Action.OPEN_BOOKING, Action.RESCHEDULE, Action.CANCEL_BOOKING):
        await in_b.tap_data(booking_data(action, booking.id))  # a's button, in b's chat
        assert in_b.reply.toast == NOT_YOURS
    assert all(x.status == "confirmed" for x in sandbox.store.appointment_list())
    await open_first_booking(in_a)  # still a's, and still there

    await book_one(in_b)
    a_rows, b_rows = snapshot(opener, "studio-a"), snapshot(opener, "studio-b")
    assert len(a_rows["bookings"]) == len(b_rows["bookings"]) == 1
    await in_b.command("forget")
    await in_b.tap_action(Action.YES)
    gone = snapshot(opener, "studio-b")
    assert gone.pop("funnel") and not any(gone.values())
    assert snapshot(opener, "studio-a") == a_rows
    assert [r.appointment_id for r in opener.bookings_for_user(USER)] == [booking.appointment_id]
    opener.close()
