"""A fair share per customer (issue 18, item 12), against the sandbox over HTTP: one Telegram
account may hold at most MAX_UPCOMING_PER_CUSTOMER upcoming appointments and make at most
MAX_BOOKINGS_PER_DAY bookings in 24 hours. Refused where a booking starts and again at confirm,
in the customer's words with the contact line; nothing is kept or booked at Zimun."""

from __future__ import annotations

from datetime import timedelta

from bot.core.events import Customer
from bot.core.rules import BookingRules, Cap
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.driver import Chat
from tests.booking.steps import book_one, to_summary
from tests.business.conftest import MakeChat
from tests.business.test_rules_in_chat import CONTACT, CONTACT_LINE, MENU, book_on_day

UPCOMING = (
    "Sorry, you already have {count} upcoming appointment, the most I can book for one person. "
    "To book another, cancel it under My appointments first."
)
PER_DAY = (
    "Sorry, you've booked {count} appointment in the last 24 hours, the most I can book for "
    "one person in a day. Please try again tomorrow."
)


def test_the_caps_in_order() -> None:
    rules = BookingRules(max_upcoming=3, max_per_day=5)
    assert rules.cap_reached(upcoming=2, booked_today=4) is None
    assert rules.cap_reached(upcoming=3, booked_today=0) is Cap.UPCOMING
    assert rules.cap_reached(upcoming=3, booked_today=5) is Cap.UPCOMING  # cancelling helps
    assert rules.cap_reached(upcoming=0, booked_today=5) is Cap.PER_DAY
    assert BookingRules().cap_reached(upcoming=99, booked_today=99) is None  # no cap: none


async def test_the_upcoming_cap_refuses_a_new_booking_with_the_contact_line(
    make_chat: MakeChat, sandbox: SandboxServer
) -> None:
    chat = make_chat(MAX_UPCOMING_PER_CUSTOMER="2", CONTACT=CONTACT)
    await book_on_day(chat, 1)
    await book_on_day(chat, 2)
    await chat.command("book")
    assert chat.shows(UPCOMING) and chat.shows(CONTACT_LINE) and chat.shows(MENU)
    assert "2 upcoming appointments" in chat.rendered[0] and CONTACT in chat.rendered[0]
    assert not sandbox.store.active_holds()
    assert len(sandbox.store.appointment_list("confirmed")) == 2
    assert not chat.untranslated()

    # Cancelling one makes room again.
    await chat.command("mybookings")
    await chat.tap("{when} · {service}")
    await chat.tap("🗑 Cancel appointment")
    await chat.tap("Yes, cancel it")
    await chat.command("book")
    assert not chat.shows(UPCOMING)
    assert chat.shows("Where would you like your appointment?"), chat.describe()


async def test_the_cap_is_checked_again_at_confirm(
    make_chat: MakeChat, sandbox: SandboxServer, storage: Storage
) -> None:
    """Two chats of one account (the private chat and a group): the second booking reaches the
    cap while the first chat is on its summary; its confirm is refused and its time given back."""
    private = make_chat(MAX_UPCOMING_PER_CUSTOMER="1", lang="es")
    await to_summary(private)
    group = Chat(
        private.engine,
        Customer(user_id=1001, chat_id=-4242, language_code="en", first_name="Ana"),
    )
    await book_one(group)
    await private.tap("✅ Confirm")
    assert private.shows(UPCOMING) and private.shows("Please contact the business directly.")
    assert "Lo siento, ya tienes 1 cita próxima" in private.rendered[0], private.rendered
    assert not sandbox.store.active_holds()
    assert len(sandbox.store.appointment_list("confirmed")) == 1
    assert len(storage.bookings_for_user(1001)) == 1
    assert not private.untranslated()


async def test_the_daily_cap_counts_cancelled_bookings_and_ends_after_24_hours(
    make_chat: MakeChat, sandbox: SandboxServer
) -> None:
    """Booking and cancelling again and again is capped too; a day later it may go on."""
    chat = make_chat(MAX_UPCOMING_PER_CUSTOMER="0", MAX_BOOKINGS_PER_DAY="2", lang="de")
    first = sandbox.clock.now()
    for _ in range(2):
        await book_on_day(chat, 2)
        await chat.command("mybookings")
        await chat.tap("{when} · {service}")
        await chat.tap("🗑 Cancel appointment")
        await chat.tap("Yes, cancel it")
    await chat.command("book")
    assert chat.shows(PER_DAY) and chat.shows("Please contact the business directly.")
    assert "2 Termine" in chat.rendered[0], chat.rendered
    assert not sandbox.store.active_holds()
    assert not chat.untranslated()

    sandbox.clock.set(first + timedelta(hours=24, minutes=1))
    await chat.command("book")
    assert not chat.shows(PER_DAY)
    assert chat.shows("Where would you like your appointment?"), chat.describe()
