"""After booking: reschedule and cancel from "My bookings", through Telegram."""

from __future__ import annotations

from sandbox.testing import SandboxServer
from tests.telegram.harness import DAY_RE, TIME_RE, Chat, RunningBot


async def test_reschedule(bot: RunningBot, chat: Chat, sandbox: SandboxServer) -> None:
    await chat.book()
    [booked] = sandbox.store.appointment_list()
    before = booked.start

    await chat.command("mybookings")
    await chat.tap_index(0)  # the booking
    await chat.tap_index(0)  # Reschedule
    await chat.tap_where(lambda label: bool(DAY_RE.match(label)), nth=1)  # another day
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.tap_index(0)  # Yes, move it

    [moved] = sandbox.store.appointment_list()
    assert moved.id == booked.id and moved.active
    assert moved.start != before
    assert not sandbox.store.active_holds()
    assert all(c.status == 200 for c in bot.fake.calls)


async def test_cancel(bot: RunningBot, chat: Chat, sandbox: SandboxServer) -> None:
    await chat.book()
    await chat.command("mybookings")
    await chat.tap_index(0)  # the booking
    await chat.tap_index(1)  # Cancel booking
    await chat.tap_index(0)  # Yes, cancel it

    [cancelled] = sandbox.store.appointment_list()
    assert cancelled.status == "cancelled"
    assert all(c.status == 200 for c in bot.fake.calls)
