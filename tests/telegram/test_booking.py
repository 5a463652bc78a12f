"""A complete booking through Telegram in each language: localized words and dates, escaped
user text, the .ics file, one appointment at the business, every button press answered."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from bot.core.screens import Msg
from bot.i18n import localizer
from bot.telegram.commands import COMMANDS
from sandbox.testing import SandboxServer
from tests.telegram.harness import Chat, RunningBot

NAME = "Ana <b>García</b> & Co"
EMAIL = "ana.garcia@example.com"


@pytest.mark.parametrize("language", ["en", "es", "it", "de"])
async def test_a_complete_booking(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.book(name=NAME, email=EMAIL)

    [appointment] = sandbox.store.appointment_list()
    assert appointment.active
    assert (appointment.contact_name, appointment.contact_email) == (NAME, EMAIL)

    confirmation = next(
        m for m in bot.fake.messages(chat.chat_id) if appointment.id in (m.text or "")
    )
    assert confirmation.parse_mode == "HTML"
    day = appointment.start.astimezone(_branch_tz(sandbox, appointment.location_id)).date()
    for pattern in ("EEEE", "MMMM"):  # weekday and month, in the customer's language
        assert format_date(day, pattern, locale=language).lower() in confirmation.text.lower()
    # The menu that follows the confirmation speaks the customer's language too.
    book_label = localizer(language).render(Msg("📅 Book an appointment"), "plain")
    assert book_label in confirmation.labels

    [document] = bot.fake.documents(chat.chat_id)
    assert document.filename.endswith(".ics")
    assert document.content.startswith(b"BEGIN:VCALENDAR")
    assert appointment.id.encode() in document.content

    # The customer's name is shown escaped, never as markup.
    shown = "\n".join(bot.fake.texts(chat.chat_id))
    assert "Ana &lt;b&gt;García&lt;/b&gt; &amp; Co" in shown
    assert "<b>García</b>" not in shown

    # Every tap was answered exactly once (a second answer would fail: "query is too old"),
    # and Telegram never refused a call.
    taps = sum(1 for u in bot.fake.updates if "callback_query" in u)
    assert taps >= 5
    assert len(bot.fake.callback_answers) == taps
    assert all(c.status == 200 for c in bot.fake.calls)


async def test_the_command_menu_is_registered_in_every_language(bot: RunningBot) -> None:
    assert set(bot.fake.private_commands) == {"", "en", "es", "it", "de"}
    names = [name for name, _ in COMMANDS]
    english = [c["description"] for c in bot.fake.private_commands["en"]]
    for language in ("", "en", "es", "it", "de"):
        assert [c["command"] for c in bot.fake.private_commands[language]] == names
    for language in ("es", "it", "de"):
        translated = [c["description"] for c in bot.fake.private_commands[language]]
        assert translated != english, f"{language} command descriptions are not translated"
        assert all(translated)


def _branch_tz(sandbox: SandboxServer, location_id: str) -> ZoneInfo:
    return ZoneInfo(sandbox.store.location(location_id).timezone)
