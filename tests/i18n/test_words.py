"""The words a native reviewer read (issue 18, item 19): dates inside sentences, Italian
"all'una", the German earliest-time button, the waiting list's limit, the email examples, the
zone of the kept time, /forget in /help and the business as the subject of its changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.chat.views import HELP_LINES
from bot.chat.waitlist import TOO_MANY
from bot.core.screens import DateTimeValue, DateValue, Msg, Plural, TimeValue, ZoneValue
from bot.core.validation import clean_email
from bot.i18n import localizer

REMINDER = "⏰ <b>Reminder:</b> your {service} appointment is on {when}."
# Wednesday 9 December 2026, 12:00 in Madrid; the tests' clock is in November 2026.
DEC_9_NOON = datetime(2026, 12, 9, 11, 0, tzinfo=UTC)
JAN_8_0130 = datetime(2027, 1, 8, 0, 30, tzinfo=UTC)
THIS_YEAR = 2026
HOLD = "I'm keeping this time for you until {time} ({zone})."


def reminder(lang: str, moment: datetime) -> str:
    when = DateTimeValue(moment, "Europe/Madrid", "full", THIS_YEAR)
    return localizer(lang, strict=True).render(Msg(REMINDER, service="X", when=when)).lstrip("⏰ ")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Reminder: your X appointment is on Wednesday, 9 December at 12:00."),
        ("es", "Recordatorio: tu cita de X es el miércoles 9 de diciembre a las 12:00."),
        ("it", "Promemoria: il tuo appuntamento per X è mercoledì 9 dicembre alle 12:00."),
        ("de", "Erinnerung: Ihr Termin für X ist am Mittwoch, 9. Dezember um 12:00\u00a0Uhr."),
    ],
)
def test_a_date_of_this_year_in_a_sentence_has_no_year(lang: str, expected: str) -> None:
    """Spanish also drops CLDR's comma after the weekday inside a sentence."""
    assert reminder(lang, DEC_9_NOON) == expected


def test_a_date_of_another_year_keeps_it() -> None:
    assert reminder("es", JAN_8_0130) == (
        "Recordatorio: tu cita de X es el viernes 8 de enero de 2027 a la 1:30."
    )


def test_a_spanish_date_standing_alone_keeps_cldrs_comma() -> None:
    es = localizer("es", strict=True)
    alone = DateTimeValue(DEC_9_NOON, "Europe/Madrid", "full", THIS_YEAR)
    assert es.render(alone) == "Miércoles, 9 de diciembre a las 12:00"
    assert es.render(DateValue(date(2026, 12, 9), "full")) == "Miércoles, 9 de diciembre de 2026"
    holiday = Msg("Holiday on {date}", date=DateValue(date(2026, 12, 25), "long", THIS_YEAR))
    assert es.render(holiday) == "Festivo el 25 de diciembre"


@pytest.mark.parametrize(
    ("hour", "expected"),
    [(1, "Mercoledì 9 dicembre all'01:30"), (2, "Mercoledì 9 dicembre alle 02:30")],
)
def test_italian_says_alluna(hour: int, expected: str) -> None:
    moment = datetime(2026, 12, 9, hour - 1, 30, tzinfo=UTC)  # Madrid is UTC+1 in December
    it = localizer("it", strict=True)
    assert it.render(DateTimeValue(moment, "Europe/Madrid", "full", THIS_YEAR)) == expected


@pytest.mark.parametrize(
    ("lang", "hour", "expected"),
    [
        ("en", 15, "I'm keeping this time for you until 15:02 (Madrid time)."),
        ("es", 1, "Te guardo esta hora hasta la 1:02 (hora de Madrid)."),
        ("es", 15, "Te guardo esta hora hasta las 15:02 (hora de Madrid)."),
        ("it", 1, "Ti tengo questo orario fino all'01:02 (ora di Madrid)."),
        ("it", 15, "Ti tengo questo orario fino alle 15:02 (ora di Madrid)."),
        ("de", 15, "Ich halte Ihnen diese Uhrzeit bis 15:02\u00a0Uhr (Ortszeit Madrid) frei."),
    ],
)
def test_the_kept_time_names_the_branchs_zone(lang: str, hour: int, expected: str) -> None:
    """The customer may be in another zone than the branch: say whose clock it is."""
    until = datetime(2026, 12, 9, hour - 1, 2, tzinfo=UTC)
    line = Plural(
        HOLD,
        HOLD,
        count=hour,
        time=TimeValue(until, "Europe/Madrid", zone=False),
        zone=ZoneValue("Europe/Madrid"),
    )
    assert localizer(lang, strict=True).render(line) == expected


def test_the_german_earliest_button_names_the_next_appointment() -> None:
    label = Msg(
        "⚡ Earliest: {date}, {time}",
        date=DateValue(date(2026, 12, 9), "MMMEd"),
        time=TimeValue(DEC_9_NOON, "Europe/Madrid"),
    )
    assert localizer("de", strict=True).render(label) == "⚡ Nächster Termin: Mi., 9. Dez., 12:00"


@pytest.mark.parametrize(
    ("lang", "days"),
    [
        ("en", "already on the waiting list for 10 days"),
        ("es", "en la lista de espera de 10 días"),
        ("it", "nella lista d'attesa di 10 giorni"),
        ("de", "an 10 Tagen auf der Warteliste"),
    ],
)
def test_the_waiting_list_limit_counts_days_not_a_duration(lang: str, days: str) -> None:
    assert days in localizer(lang, strict=True).render(TOO_MANY)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "That doesn't look like an email address. Please type one like name@example.com."),
        ("es", "Eso no parece un correo. Escribe uno como nombre@ejemplo.com."),
    ],
)
def test_the_email_example_is_a_valid_address(lang: str, expected: str) -> None:
    """The example is what to type, not an example of the invalid thing."""
    address, problem = clean_email("ana..b@example.com")
    assert address is None and problem is not None
    assert localizer(lang, strict=True).render(problem) == expected


@pytest.mark.parametrize("lang", ["en", "es", "it", "de"])
def test_help_mentions_forget(lang: str) -> None:
    lines = [localizer(lang, strict=True).render(line) for line in HELP_LINES]
    assert any(line.startswith("/forget – ") for line in lines), lines


@pytest.mark.parametrize(
    ("lang", "subject"),
    [
        ("en", "Cancelled: the business has cancelled"),
        ("es", "Cita cancelada: el negocio ha cancelado"),
        ("it", "Appuntamento disdetto: l'attività ha disdetto"),
        ("de", "Termin abgesagt: Der Anbieter hat"),
    ],
)
def test_the_business_not_a_bare_place_cancels(lang: str, subject: str) -> None:
    notice = Msg(
        "🗑 <b>Cancelled:</b> the business has cancelled your {service} appointment at "
        "{location} on {when}.",
        service="X",
        location="Polanco",
        when=DateTimeValue(DEC_9_NOON, "Europe/Madrid", "full", THIS_YEAR),
    )
    shown = localizer(lang, strict=True).render(notice)
    assert shown.startswith("🗑 " + subject)
    assert "Polanco" in shown
