"""The operator's words in the conversation: the business's name and texts on /start and /help
(escaped, with a fallback language), the contact line where a person should call, the languages
offered, and message overrides that change exactly the messages they name."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from bot.core.screens import Msg
from bot.i18n.catalog import LOCALES_DIR
from bot.i18n.localizer import localizer
from bot.i18n.markup import placeholders
from sandbox.testing import SandboxServer
from tests.business.conftest import MakeChat

CONFIG = """
business_name = "Clínica <Sonrisa> & Co"

[welcome]
es = "¡Hola! Pide tu cita <b>aquí</b> {ya}."
en = "Hi! Book with us."

[help]
en = "We are open Monday to Saturday."

[contact]
es = "Llámanos: +34 600 000 000"
en = "Call us: +34 600 000 000"
"""


def write_config(tmp_path: Path, text: str = CONFIG) -> str:
    path = tmp_path / "bot.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


async def test_start_shows_the_business_and_its_welcome_verbatim(
    make_chat: MakeChat, tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    chat = make_chat(lang="es", BOT_CONFIG=config, BOT_LANGUAGES="es,en,it")
    await chat.command("start")
    body = chat.rendered[0]
    assert body.startswith(
        "<b>Clínica &lt;Sonrisa&gt; &amp; Co</b>\n"
        "¡Hola! Pide tu cita &lt;b&gt;aquí&lt;/b&gt; {ya}.\n"  # the operator's text, as typed
    )
    assert not chat.shows(
        "👋 Welcome! I can book an appointment for you, and later reschedule or cancel it."
    )
    english = make_chat(lang="en", user_id=2002, BOT_CONFIG=config, BOT_LANGUAGES="es,en,it")
    await english.command("start")
    assert "Hi! Book with us." in english.rendered[0]
    italian = make_chat(lang="it", user_id=3003, BOT_CONFIG=config, BOT_LANGUAGES="es,en,it")
    await italian.command("start")
    assert italian.reply.language == "it"
    assert "¡Hola! Pide tu cita" in italian.rendered[0]  # no Italian text: the default's
    assert not chat.untranslated() and not english.untranslated() and not italian.untranslated()


async def test_a_business_name_alone_keeps_the_shipped_welcome(make_chat: MakeChat) -> None:
    chat = make_chat(lang="de", BUSINESS_NAME="Praxis am Park")
    await chat.command("start")
    assert chat.rendered[0].startswith(
        "👋 Willkommen bei Praxis am Park!\nIch kann einen Termin für Sie buchen und ihn später "
        "verschieben oder absagen."
    )
    await chat.command("start", "loc_madrid__svc_consultation")  # a deep link welcomes too
    assert chat.shows("👋 Welcome to {business}!")
    assert chat.shows("Which day in {month} suits you? Days marked · can't be booked.")
    assert not chat.untranslated()


async def test_help_has_the_business_texts_and_the_contact_line(
    make_chat: MakeChat, tmp_path: Path
) -> None:
    chat = make_chat(BOT_CONFIG=write_config(tmp_path))
    await chat.command("help")
    lines = chat.rendered[0].splitlines()
    assert lines[:3] == [
        "<b>Clínica &lt;Sonrisa&gt; &amp; Co</b>",
        "Hi! Book with us.",
        "We are open Monday to Saturday.",
    ]
    assert lines[-1] == "<b>Contact:</b> Call us: +34 600 000 000"
    assert chat.shows("/book – book an appointment")
    await chat.command("book")
    await chat.command("help")  # mid-booking: above the current step
    assert chat.shows("Where would you like your appointment?")
    assert "<b>Contact:</b> Call us: +34 600 000 000" in chat.rendered[0]


async def test_a_setup_error_says_whom_to_call(make_chat: MakeChat, sandbox: SandboxServer) -> None:
    chat = make_chat(CONTACT="+34 600 000 000")
    sandbox.faults.token_fail_next(5, 401)
    await chat.command("book")
    assert chat.shows(
        "Sorry, the booking system turned down my request. The business needs to check its "
        "setup; please try again later."
    )
    assert chat.rendered[0].endswith("<b>Contact:</b> +34 600 000 000")


# ---- languages ----------------------------------------------------------------------------


async def test_only_the_offered_languages(make_chat: MakeChat) -> None:
    chat = make_chat(lang="de", BOT_LANGUAGES="es,en")
    await chat.command("start")
    assert chat.reply.language == "es"  # German is not offered: the default (the first)
    await chat.command("language")
    assert [b.label.code for b in chat.buttons[:-1]] == ["es", "en"]  # type: ignore[union-attr]
    await chat.tap_data(chat.buttons[1].data)  # English
    assert chat.reply.language == "en"

    # A customer who chose German while it was offered gets the default once it is not.
    earlier = make_chat(lang="es", user_id=2002)
    await earlier.command("language")
    await earlier.tap_data(earlier.buttons[3].data)  # Deutsch
    assert earlier.reply.language == "de"
    later = make_chat(lang=None, user_id=2002, BOT_LANGUAGES="it,en")
    await later.command("start")
    assert later.reply.language == "it"


async def test_one_language_has_no_language_button(make_chat: MakeChat) -> None:
    chat = make_chat(lang="en", BOT_LANGUAGES="it")
    await chat.command("start")
    assert chat.reply.language == "it"
    assert not chat.has_button("🌐 Language") and chat.has_button("❓ Help")


# ---- message overrides --------------------------------------------------------------------


def shipped_msgids() -> list[str]:
    with (LOCALES_DIR / "bot.pot").open("rb") as fh:
        return [str(m.id) for m in read_po(fh) if m.id]


def render_all(lang: str) -> dict[str, str]:
    loc = localizer(lang)
    return {
        msgid: loc.render(Msg(msgid, **{n: "X" for n in placeholders(msgid)}), "html")
        for msgid in shipped_msgids()
    }


async def test_overrides_change_exactly_the_messages_they_name(
    make_chat: MakeChat, tmp_path: Path
) -> None:
    before = {lang: render_all(lang) for lang in ("es", "en")}
    folder = tmp_path / "messages"
    folder.mkdir()
    (folder / "es.po").write_text(
        'msgid "What would you like to do?"\nmsgstr "¿En qué te ayudamos hoy?"\n\n'
        'msgid "From now on I\'ll write in {language}."\n'
        'msgstr "Listo, ahora hablamos en {language}."\n',
        encoding="utf-8",
    )
    chat = make_chat(lang="es", MESSAGES_DIR=str(folder))
    await chat.command("start")
    assert "¿En qué te ayudamos hoy?" in chat.rendered[0]
    after = {lang: render_all(lang) for lang in ("es", "en")}
    assert after["en"] == before["en"]
    changed = {m for m in before["es"] if before["es"][m] != after["es"][m]}
    assert changed == {"What would you like to do?", "From now on I'll write in {language}."}
    assert after["es"]["From now on I'll write in {language}."] == "Listo, ahora hablamos en X."
