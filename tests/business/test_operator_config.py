"""Reading the operator's configuration: BOT_CONFIG (TOML) with the settings winning over it,
and MESSAGES_DIR overrides checked before start: every problem is one line naming the setting,
the file and the key or message."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.operator import load_operator
from bot.config.settings import SettingsError, load_settings
from bot.core.screens import Plural
from bot.i18n import localizer
from bot.i18n.localizer import use_overrides

REQUIRED = {"TELEGRAM_BOT_TOKEN": "1:x", "ZIMUN_CLIENT_ID": "id", "ZIMUN_CLIENT_SECRET": "s"}

CONFIG = """
business_name = "Clínica Sonrisa"

[welcome]
es = "¡Hola! Somos la Clínica Sonrisa."
en = "Hi! This is Clínica Sonrisa."

[help]
es = "Abrimos de lunes a sábado."

[contact]
es = "Llámanos al +34 600 000 000"
en = "Call us on +34 600 000 000"

[locations]
order = ["loc_milan", "loc_madrid"]
only_listed = true

[services]
order = ["svc_consultation"]
hide = ["svc_whitening"]
"""


def load(tmp_path: Path, config: str | None = CONFIG, **values: str):  # type: ignore[no-untyped-def]
    if config is not None:
        path = tmp_path / "bot.toml"
        path.write_text(config, encoding="utf-8")
        values.setdefault("BOT_CONFIG", str(path))
    return load_operator(load_settings(**REQUIRED, **values))


def error_of(tmp_path: Path, config: str | None = CONFIG, **values: str) -> str:
    with pytest.raises(SettingsError) as caught:
        load(tmp_path, config, **values)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_file_gives_texts_and_lists(tmp_path: Path) -> None:
    operator = load(tmp_path, BOT_LANGUAGES="es,en")
    business, offer = operator.business, operator.rules.offer
    assert business.name == "Clínica Sonrisa"
    assert business.text("welcome", "en") == "Hi! This is Clínica Sonrisa."
    assert business.text("help", "en") == "Abrimos de lunes a sábado."  # fallback: es
    assert business.text("contact", "en") == "Call us on +34 600 000 000"
    assert offer.locations.order == ("loc_milan", "loc_madrid") and offer.locations.only_listed
    assert offer.services.order == ("svc_consultation",)
    assert offer.services.hidden == {"svc_whitening"}


def test_settings_win_over_the_file(tmp_path: Path) -> None:
    operator = load(
        tmp_path,
        BUSINESS_NAME="Sonrisa Centro",
        CONTACT="+34 911 111 111",
        HIDE_SERVICES="svc_physio",
    )
    assert operator.business.name == "Sonrisa Centro"
    assert operator.business.text("contact", "es") == "+34 911 111 111"
    assert operator.business.text("contact", "de") == "+34 911 111 111"
    assert operator.rules.offer.services.hidden == {"svc_physio"}


def test_without_a_file_the_settings_alone(tmp_path: Path) -> None:
    operator = load(tmp_path, None, CONTACT="hello@example.com", HIDE_LOCATIONS="loc_berlin")
    assert operator.business.name is None
    assert operator.business.text("welcome", "en") is None
    assert operator.business.text("contact", "it") == "hello@example.com"
    assert operator.rules.offer.locations.hidden == {"loc_berlin"}
    assert operator.overrides == {}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("welcom = 1", "unknown key 'welcom' (known: business_name, contact, help,"),
        ("[welcome]\nfr = 'Salut'", "[welcome]: unknown key 'fr' (known: de, en, es, it)"),
        ("[welcome]\nes = ''", "[welcome] es must be a non-empty string"),
        ("[help]\nen = 3", "[help] en must be a non-empty string"),
        ("welcome = 'hi'", "[welcome] must be a table of texts by language"),
        ("[services]\norder = 'svc_a'", "[services] order must be a list of ids"),
        ("[services]\nonly_listed = true", "[services] only_listed = true needs an order list"),
        ("[locations]\nsort = []", "[locations]: unknown key 'sort' (known: hide, only_listed,"),
        ("business_name = [", "is not valid TOML: "),
        # tomllib recurses per level: a RecursionError traceback, exit 1, before
        ("a = " + "[" * 5000 + "]" * 5000, "is not valid TOML: arrays or tables nested too"),
    ],
)
def test_a_bad_file_is_one_line(tmp_path: Path, config: str, expected: str) -> None:
    message = error_of(tmp_path, config)
    assert message.startswith(f"BOT_CONFIG={tmp_path / 'bot.toml'}")
    assert expected in message


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert error_of(tmp_path, None, BOT_CONFIG=str(missing)) == (
        f"BOT_CONFIG={missing}: no such file"
    )


# ---- MESSAGES_DIR -------------------------------------------------------------------------


def po(*entries: tuple[str, str], fuzzy: str | None = None) -> str:
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    if fuzzy:
        lines += ["#, fuzzy", f'msgid "{fuzzy}"', 'msgstr "ignored"', ""]
    for msgid, msgstr in entries:
        lines += [f'msgid "{msgid}"', f'msgstr "{msgstr}"', ""]
    return "\n".join(lines)


def overrides_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "messages"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return folder


def test_overrides_are_loaded_per_language(tmp_path: Path) -> None:
    folder = overrides_dir(
        tmp_path,
        es_po=po(("Your appointment is cancelled.", "Listo: tu cita queda anulada.")),
        en_po=po(
            ("From now on I'll write in {language}.", "Now speaking {language}."),
            fuzzy="Your appointment is cancelled.",
        ),
    )
    (folder / "README.txt").write_text("not a catalog")
    operator = load(tmp_path, None, MESSAGES_DIR=str(folder))
    assert operator.overrides == {
        "es": {"Your appointment is cancelled.": "Listo: tu cita queda anulada."},
        "en": {"From now on I'll write in {language}.": "Now speaking {language}."},
    }


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            ("From now on I'll write in {language}.", "Idioma: {idioma}."),
            "es.po line 5: placeholders {idioma} differ from the original's {language}; "
            "keep every {name} of the msgid, spelled the same "
            '(message "From now on I\'ll write in {language}.")',
        ),
        (
            ("Your appointment is cancelled.", "Cancelada {"),
            "es.po line 5: the text is malformed",
        ),
        (
            ("<b>Your appointments</b>", "<b>Tus citas"),
            "es.po line 5: its <b>/<i> tags differ from the original's or are not balanced "
            "(message '<b>Your appointments</b>')",
        ),
        (
            ("Your bookin is cancelled.", "Cancelada."),
            "es.po line 5: not one of the bot's messages: copy the msgid exactly from "
            "locales/bot.pot (message 'Your bookin is cancelled.')",
        ),
    ],
)
def test_a_wrong_override_is_one_line_naming_the_message_and_the_file(
    tmp_path: Path, entry: tuple[str, str], expected: str
) -> None:
    folder = overrides_dir(tmp_path, es_po=po(entry))
    message = error_of(tmp_path, None, MESSAGES_DIR=str(folder))
    assert message.startswith(f"MESSAGES_DIR={folder}: {expected}"), message


UPCOMING = (
    "{count} upcoming appointment · page {page} of {pages}",
    "{count} upcoming appointments · page {page} of {pages}",
)


def plural_po(*forms: str, plural: str = UPCOMING[1]) -> str:
    strings = "".join(f'msgstr[{i}] "{form}"\n' for i, form in enumerate(forms))
    return f'msgid ""\nmsgstr ""\n\nmsgid "{UPCOMING[0]}"\nmsgid_plural "{plural}"\n{strings}'


def test_a_plural_message_is_overridden_with_every_form(tmp_path: Path) -> None:
    """Spanish has three forms (one, many, other): an override gives all three."""
    forms = (
        "{count} cita · {page}/{pages}",
        "{count} de citas · {page}/{pages}",
        "{count} citas · {page}/{pages}",
    )
    folder = overrides_dir(tmp_path, es_po=plural_po(*forms))
    operator = load(tmp_path, None, MESSAGES_DIR=str(folder))
    assert operator.overrides == {"es": {UPCOMING[0]: forms}}
    use_overrides(operator.overrides)
    try:
        shown = localizer("es").render(Plural(*UPCOMING, count=7, page=1, pages=2))
    finally:
        use_overrides({})
    assert shown == "7 citas · 1/2"


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        (("{count} cita", "{count} citas"), "a plural message needs msgid_plural and 3 forms"),
        (
            ("{count} cita · {page}", "{count} de citas · {page}", "{count} citas · {page}"),
            "placeholders {count}, {page} differ from the original's {count}, {page}, {pages}",
        ),
    ],
)
def test_a_wrong_plural_override_is_one_line(
    tmp_path: Path, forms: tuple[str, ...], expected: str
) -> None:
    folder = overrides_dir(tmp_path, es_po=plural_po(*forms))
    message = error_of(tmp_path, None, MESSAGES_DIR=str(folder))
    assert message.startswith(f"MESSAGES_DIR={folder}: es.po line 4: {expected}"), message


def test_a_file_for_another_language_or_no_folder_is_one_line(tmp_path: Path) -> None:
    folder = overrides_dir(tmp_path, fr_po=po())
    assert error_of(tmp_path, None, MESSAGES_DIR=str(folder)) == (
        f"MESSAGES_DIR={folder}: fr.po: 'fr' is not one of the bot's languages "
        "(en, es, it, de); name the files like es.po"
    )
    missing = tmp_path / "nothing"
    assert error_of(tmp_path, None, MESSAGES_DIR=str(missing)) == (
        f"MESSAGES_DIR={missing}: {missing} is not a directory"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'msgid "Book an appointment"\nmsgstr "Reservar\n',
            'es.po line 2: syntax error: unterminated string (the closing " is missing)',
        ),
        (
            'msgid "Exit"\nmsgstr "Salir" ahora\n',
            "es.po line 2: syntax error: text after the closing quote",
        ),
        ('msgid "Exit"\nmsgtsr "Salir"\n', "es.po line 2: syntax error: 'msgtsr' is not msgid"),
    ],
)
def test_a_po_syntax_error_names_the_line_and_the_error(
    tmp_path: Path, text: str, expected: str
) -> None:
    """Babel reads an unterminated string by dropping its last character: without a check of
    its own the operator was told the (changed) msgid was not one of the bot's messages."""
    folder = overrides_dir(tmp_path, es_po=text)
    message = error_of(tmp_path, None, MESSAGES_DIR=str(folder))
    assert message.startswith(f"MESSAGES_DIR={folder}: {expected}"), message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            ("Exit", "Salir de este paso y volver al menú principal ahora mismo, gracias"),
            "es.po line 5: the button label is 55.5 characters wide; a button in a row of 2 "
            "shows 16 on a phone, Telegram cuts the rest (message 'Exit')",
        ),
        (
            ("📅 Book an appointment", "📅 " + "Reservar " * 6),
            "es.po line 5: the button label is 53.5 characters wide; a full-width button shows "
            "34 on a phone, Telegram cuts the rest (message '📅 Book an appointment')",
        ),
        (
            ("Use {email}", "Usar la dirección de correo electrónico {email} que me diste"),
            "es.po line 5: the button label's words are 45.5 characters wide; a full-width "
            "button shows 34 on a phone and its values need the rest: keep the words to",
        ),
    ],
)
def test_a_button_label_too_wide_for_a_phone_is_one_line(
    tmp_path: Path, entry: tuple[str, str], expected: str
) -> None:
    """A 60-character "Exit" passed start and `check`; Telegram then cut it on every phone."""
    folder = overrides_dir(tmp_path, es_po=po(entry))
    message = error_of(tmp_path, None, MESSAGES_DIR=str(folder))
    assert message.startswith(f"MESSAGES_DIR={folder}: {expected}"), message


def test_a_button_label_that_fits_is_accepted(tmp_path: Path) -> None:
    folder = overrides_dir(tmp_path, es_po=po(("Exit", "Volver"), ("Use {email}", "Es {email}")))
    assert load(tmp_path, None, MESSAGES_DIR=str(folder)).overrides == {
        "es": {"Exit": "Volver", "Use {email}": "Es {email}"}
    }
