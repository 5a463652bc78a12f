"""Customer journeys shared by the tests: reach a step the way a customer would."""

from __future__ import annotations

from bot.core.payload import Action
from tests import customers as moves
from tests.booking.driver import Chat
from tests.customers import play

MADRID = "Madrid – Chamberí"
CONSULTATION = "Consultation"  # capacity 1: a slot held by someone else is gone


async def to_calendar(chat: Chat, branch: str = MADRID, service: str = CONSULTATION) -> None:
    await chat.command("book")
    await chat.tap(branch)
    await chat.tap_msg("{service} ({duration})", service=service)
    assert chat.shows("Which day in {month} suits you? Days marked · can't be booked."), (
        chat.describe()
    )


async def to_times(chat: Chat, **kw: str) -> None:
    await to_calendar(chat, **kw)
    await pick_day(chat)
    assert chat.shows("Available times on {date}:"), chat.describe()


async def pick_day(chat: Chat, nth: int = 0) -> None:
    """The nth free day, wherever it is: this month or, as a customer would, a later one."""
    await play(chat, moves.pick_day(chat, nth))


async def to_name(chat: Chat, nth: int = 0, **kw: str) -> None:
    await to_times(chat, **kw)
    await chat.tap_action(Action.TIME, nth)
    assert chat.shows("What name should the appointment be under? Please type it."), chat.describe()


async def to_summary(chat: Chat, email: str = "ana@example.com", **kw: str) -> None:
    await to_name(chat, **kw)
    await chat.tap("Use “{name}”")
    await chat.say(email)
    assert chat.shows("Please check the details:"), chat.describe()


async def book_one(chat: Chat, **kw: str) -> None:
    await to_summary(chat, **kw)
    await chat.tap("✅ Confirm")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}."), chat.describe()


async def open_first_booking(chat: Chat) -> None:
    await chat.command("mybookings")
    assert chat.shows("Tap an appointment to reschedule or cancel it."), chat.describe()
    await chat.tap("{when} · {service}")
    assert chat.shows("<b>Reference:</b> {reference}")


async def ask_change(chat: Chat, kind: str) -> None:
    """From a booked appointment to the question before Zimun is asked: "reschedule" (the
    second day, its fourth time) or "cancel"."""
    await open_first_booking(chat)
    if kind == "reschedule":
        await chat.tap("🔁 Reschedule")
        await chat.tap_action(Action.DAY, 1)
        await chat.tap_action(Action.TIME, 3)
    else:
        await chat.tap("🗑 Cancel appointment")
