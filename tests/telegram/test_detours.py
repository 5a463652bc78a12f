"""Customers wander off the straight path and come back: whatever they started is still there,
its time still held, and nobody gets stuck. Each case runs the real Application against the
sandbox and checks what the customer sees, what Zimun holds and what SQLite keeps."""

from __future__ import annotations

import pytest

from bot.chat.detours import DROPPED, WELCOME_BACK
from bot.chat.engine import EDIT_IGNORED
from bot.chat.menu import NOTHING_IN_PROGRESS
from bot.core.payload import Action
from bot.core.state import Step
from bot.i18n import localizer
from bot.telegram.render import GROUP_ANSWER, OPEN_PRIVATE_CHAT
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import ChatMessage
from tests.telegram.harness import Chat, RunningBot

LANGUAGES = ["es", "de"]


async def to_summary(chat: Chat, email: str = "ana@example.com") -> ChatMessage:
    """A time held, a name and an email given: the summary, returned as shown."""
    await chat.open_booking()
    await chat.pick_slot()
    await chat.send("Ana García")
    await chat.send(email)
    assert chat.actions(Action.CONFIRM), chat.keyboard.text
    return chat.keyboard


def now_shown(chat: Chat, message: ChatMessage) -> ChatMessage:
    """`message` as the customer sees it now (the bot edits the message a button was on)."""
    return next(m for m in chat.fake.messages(chat.chat_id) if m.message_id == message.message_id)


async def confirm_on(chat: Chat, message: ChatMessage) -> None:
    await chat.tap_action(Action.CONFIRM, message=message)


def booked_once(sandbox: SandboxServer, hold_id: str) -> None:
    [appointment] = sandbox.store.appointment_list()
    assert appointment.hold_id == hold_id and appointment.active
    assert not sandbox.store.active_holds()


DETOURS = {
    "language, then a language": [("command", "language"), ("pick", Action.PICK)],
    "language, then Back": [("command", "language"), ("tap", Action.BACK)],
    "privacy, then Back": [("command", "privacy"), ("tap", Action.BACK)],
    "forget, then No": [("command", "forget"), ("tap", Action.BACK)],
    "the menu, then Continue": [("command", "start"), ("tap", Action.RESUME)],
    "My bookings, then Back": [("command", "mybookings"), ("tap", Action.BACK)],
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("detour", list(DETOURS))
async def test_a_detour_keeps_the_booking_and_its_hold(
    detour: str, language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    summary = await to_summary(chat)
    [hold] = sandbox.store.active_holds()
    for kind, what in DETOURS[detour]:
        if kind == "command":
            await chat.command(str(what))
        elif kind == "pick":
            await chat.tap_action(Action.PICK, ["en", "es", "it", "de"].index(language))
        else:
            await chat.tap_action(what)  # type: ignore[arg-type]
    assert sandbox.store.active_holds() == [hold]
    assert chat.actions(Action.CONFIRM), chat.keyboard.text  # the summary again
    state = bot.state(chat.chat_id)
    assert state.nav.step == Step.SUMMARY and state.draft.name == "Ana García"
    await confirm_on(chat, summary)  # the Confirm still on the old summary works
    booked_once(sandbox, hold.hold_id)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_old_my_bookings_entry_is_a_detour_too(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.book()
    listing = await chat.command("mybookings")
    assert listing is not None and chat.actions(Action.OPEN_BOOKING, listing)
    summary = await to_summary(chat)
    held = [h for h in sandbox.store.active_holds()]
    await chat.tap_action(Action.OPEN_BOOKING, message=listing)  # the old list, scrolled back
    detail = now_shown(chat, listing)  # the tapped message now shows the booking
    assert chat.actions(Action.RESCHEDULE, detail)
    await chat.tap_action(Action.BACK, message=detail)  # to the list
    await chat.tap_action(Action.BACK, message=now_shown(chat, listing))  # back to the booking
    assert chat.says(WELCOME_BACK)
    assert sandbox.store.active_holds() == held
    await confirm_on(chat, summary)
    assert len(sandbox.store.appointment_list()) == 2


@pytest.mark.parametrize("language", LANGUAGES)
async def test_typing_the_answer_after_a_detour_goes_on_with_the_booking(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.open_booking()
    await chat.pick_slot()
    await chat.send("Ana García")  # the email step
    await chat.command("privacy")
    await chat.send("ana@example.com")  # answers the email step behind the detour
    assert chat.actions(Action.CONFIRM)
    await chat.tap_action(Action.CONFIRM)
    [appointment] = sandbox.store.appointment_list()
    assert appointment.contact_email == "ana@example.com"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_new_booking_ends_the_one_in_progress_with_a_word(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await to_summary(chat)
    await chat.command("book")
    assert chat.says(DROPPED)
    assert not sandbox.store.active_holds()
    assert bot.state(chat.chat_id).draft.name is None


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_reschedule_in_the_middle_of_a_booking_parks_it(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.book()
    [first] = sandbox.store.appointment_list()
    was = first.start  # the store changes the record in place
    summary = await to_summary(chat)
    held = sandbox.store.active_holds()
    await chat.command("mybookings")
    await chat.tap_action(Action.OPEN_BOOKING)
    await chat.tap_action(Action.RESCHEDULE)
    await chat.pick_day(1)
    await chat.tap_where(lambda label: label[:1].isdigit())  # a time
    await chat.tap_action(Action.YES)
    moved = next(a for a in sandbox.store.appointment_list() if a.id == first.id)
    assert moved.start != was and moved.history == [("rescheduled", was)]
    assert sandbox.store.active_holds() == held  # the parked booking kept its time
    await chat.tap_action(Action.RESUME)  # the menu after "Moved!" offers Continue
    assert chat.actions(Action.CONFIRM)
    await confirm_on(chat, summary)
    assert len(sandbox.store.appointment_list()) == 2


@pytest.mark.parametrize("language", LANGUAGES)
async def test_editing_the_email_message_updates_the_booking(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await to_summary(chat, email="ana@exmaple.com")
    await chat.edit(chat.sent("ana@exmaple.com"), "ana@example.com")
    assert "ana@example.com" in (chat.latest.text if chat.latest else "")
    await chat.tap_action(Action.CONFIRM)
    [appointment] = sandbox.store.appointment_list()
    assert appointment.contact_email == "ana@example.com"
    await chat.edit(chat.sent("Ana García"), "Ana Gómez")  # the booking is done: a word
    assert chat.says(EDIT_IGNORED)
    assert sandbox.store.appointment_list()[0].contact_name == "Ana García"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_international_email_reaches_zimun_in_ascii_and_is_shown_as_typed(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    summary = await to_summary(chat, email="Hugo+Termine@Bücher.de")
    assert "Hugo+Termine@Bücher.de" in (summary.text or "")
    await chat.tap_action(Action.CONFIRM)
    [appointment] = sandbox.store.appointment_list()
    assert appointment.contact_email == "Hugo+Termine@xn--bcher-kva.de"


@pytest.mark.parametrize("language", LANGUAGES)
async def test_cancel_after_a_booking_says_the_booking_is_unchanged(
    language: str, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.book()
    await chat.command("cancel")
    assert chat.says(NOTHING_IN_PROGRESS)
    assert sandbox.store.appointment_list()[0].active


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_long_telegram_name_is_not_offered(
    language: str, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    chat.first_name = "Maximiliana " * 10
    await chat.open_booking()
    await chat.pick_slot()
    assert not chat.actions(Action.USE_NAME)
    assert chat.actions(Action.BACK)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_our_commands_in_a_group_point_to_the_private_chat(
    language: str, bot: RunningBot, sandbox: SandboxServer
) -> None:
    group, user = -100123, 4242
    for text in ("/book@zimun_test_bot", "/start@zimun_test_bot", "/help", "/other@another_bot"):
        bot.fake.user_sends_in_group(group, user, text, language_code=language)
    await bot.settle()
    answers = [m for m in bot.fake.messages(group) if m.from_bot]
    assert len(answers) == 3  # not the other bot's command
    words = localizer(language)
    assert all(m.text == words.render(GROUP_ANSWER, "html") for m in answers)
    [(label, _)] = answers[0].buttons[0]
    assert label == words.render(OPEN_PRIVATE_CHAT, "plain")
    assert answers[0].reply_markup is not None
    url = answers[0].reply_markup["inline_keyboard"][0][0]["url"]
    assert url.startswith("https://t.me/zimun_test_bot")
    assert not sandbox.store.active_holds() and bot.storage is not None
    assert bot.storage.load_conversation(group) is None  # nothing about the group is kept


@pytest.mark.parametrize("language", LANGUAGES)
async def test_an_edited_command_gets_a_word(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """Issue 18, item 9: "/help" edited into "/book" got no answer at all."""
    chat.language = language
    await chat.command("help")
    await chat.edit(chat.sent("/help"), "/book")
    assert chat.says(EDIT_IGNORED)
    assert bot.state(chat.chat_id).nav.step == Step.HELP  # nothing ran
