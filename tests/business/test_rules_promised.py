"""What the bot promises about changes follows the operator's rules (issue 18, item 2): help
names only the changes allowed, welcome and help say until when CHANGE_CUTOFF allows them, and
moving a booking into the cutoff says, before it is confirmed, that it will then be locked.
Against the sandbox over HTTP."""

from __future__ import annotations

from bot.core.payload import Action
from tests.booking.driver import Chat
from tests.business.conftest import MakeChat
from tests.business.test_rules_in_chat import book_on_day, open_booking

CUTOFF_NOTE = "Changes are possible until {cutoff} before the appointment."
LOCKED = (
    "The new time starts in less than {cutoff}: after this change, it can no longer be "
    "changed here."
)
ALL_COMMAND = "/mybookings – see, reschedule or cancel your appointments"


async def test_help_names_only_the_change_allowed(make_chat: MakeChat) -> None:
    reschedule_only = make_chat(ALLOW_CANCEL="false")
    await reschedule_only.command("help")
    assert reschedule_only.shows("/mybookings – see or reschedule your appointments")
    assert not reschedule_only.shows(ALL_COMMAND)

    cancel_only = make_chat(ALLOW_RESCHEDULE="false", user_id=2002)
    await cancel_only.command("help")
    assert cancel_only.shows("/mybookings – see or cancel your appointments")
    assert not cancel_only.shows(ALL_COMMAND)
    assert not reschedule_only.untranslated() and not cancel_only.untranslated()


async def test_welcome_and_help_say_until_when_changes_are_possible(make_chat: MakeChat) -> None:
    chat = make_chat(CHANGE_CUTOFF="24h")
    await chat.command("start")
    assert chat.shows(CUTOFF_NOTE) and "24\u00a0h" in chat.rendered[0]
    await chat.command("help")
    assert chat.shows(CUTOFF_NOTE)
    named = make_chat(CHANGE_CUTOFF="24h", BUSINESS_NAME="Clínica Sonrisa", user_id=2002)
    await named.command("start")
    assert named.shows(CUTOFF_NOTE)
    assert not chat.untranslated()


async def test_no_cutoff_note_without_a_cutoff_or_without_changes(make_chat: MakeChat) -> None:
    plain = make_chat()
    await plain.command("start")
    assert not plain.shows(CUTOFF_NOTE)
    await plain.command("help")
    assert not plain.shows(CUTOFF_NOTE)
    none = make_chat(
        CHANGE_CUTOFF="24h", ALLOW_RESCHEDULE="false", ALLOW_CANCEL="false", user_id=2002
    )
    await none.command("help")
    assert not none.shows(CUTOFF_NOTE)


async def move_to_today(chat: Chat) -> None:
    await open_booking(chat)
    await chat.tap("🔁 Reschedule")
    await chat.tap_action(Action.DAY, 0)
    await chat.tap_action(Action.TIME)
    assert chat.shows("Reschedule your {service} appointment from {old} to {new}?")


async def test_a_move_into_the_cutoff_says_it_will_be_locked(make_chat: MakeChat) -> None:
    chat = make_chat(CHANGE_CUTOFF="24h")
    await book_on_day(chat, 2)  # Wednesday: outside the cutoff
    await move_to_today(chat)  # today, a few hours ahead: inside it
    assert chat.shows(LOCKED) and "24\u00a0h" in chat.rendered[0]
    assert not chat.untranslated()


async def test_a_move_without_a_cutoff_says_nothing_of_a_lock(make_chat: MakeChat) -> None:
    chat = make_chat()
    await book_on_day(chat, 2)
    await move_to_today(chat)
    assert not chat.shows(LOCKED)
