"""The renderer: language normalization, escaping, Babel formats, and safe fallbacks."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.core.screens import (
    DateTimeValue,
    DateValue,
    DurationValue,
    LanguageName,
    MonthValue,
    Msg,
    Plural,
    Screen,
    TimeValue,
    Verbatim,
    WeekdayValue,
    ZoneValue,
)
from bot.i18n import Localizer, TranslationError, localizer, normalize_language
from bot.i18n.catalog import load_translations

NOV_21_1330Z = datetime(2026, 11, 21, 13, 30, tzinfo=UTC)
NBSP = "\u00a0"


# ---- language codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("es", "es"),
        ("es-ES", "es"),
        ("es_419", "es"),
        ("IT-it", "it"),
        ("de-AT", "de"),
        ("en-GB", "en"),
        (" DE ", "de"),
        ("pt-BR", "en"),
        ("", "en"),
        (None, "en"),
        ("esperanto", "en"),
    ],
)
def test_normalize_language(code: str | None, expected: str) -> None:
    assert normalize_language(code) == expected


def test_normalize_language_uses_the_given_default() -> None:
    assert normalize_language("fr-FR", default="de") == "de"
    assert normalize_language(None, default="it") == "it"
    assert normalize_language("es-MX", default="de") == "es"


def test_localizer_normalizes_and_is_shared() -> None:
    assert localizer("es-ES") is localizer("es")
    assert localizer("zh-hans").lang == "en"
    strict = localizer("de", strict=True)
    assert strict is not localizer("de", strict=True)
    assert strict.strict and not localizer("de").strict


# ---- locales and calendars -------------------------------------------------------------------


def test_english_uses_british_conventions() -> None:
    en = localizer("en")
    assert str(en.locale) == "en_GB"
    assert en.render(TimeValue(NOV_21_1330Z, "Europe/Madrid")) == "14:30"
    assert en.render(DateValue(date(2026, 11, 21), "short")) == "21/11/2026"


@pytest.mark.parametrize("lang", ["en", "es", "it", "de"])
def test_week_starts_on_monday_in_every_supported_locale(lang: str) -> None:
    assert localizer(lang).first_week_day == 0


def test_first_week_day_follows_the_locale() -> None:
    """The calendar asks the locale rather than assuming Monday (a US locale starts on Sunday)."""
    assert Localizer("en", {}).first_week_day == 0
    us = Localizer("en", {})
    us.locale = us.locale.parse("en_US")
    assert us.first_week_day == 6


# ---- dates, times, months, weekdays, durations ----------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Saturday, 21 November 2026"),
        ("es", "Sábado, 21 de noviembre de 2026"),
        ("it", "Sabato 21 novembre 2026"),
        ("de", "Samstag, 21. November 2026"),
    ],
)
def test_full_date_opens_capitalised(lang: str, expected: str) -> None:
    assert localizer(lang).render(DateValue(date(2026, 11, 21))) == expected


@pytest.mark.parametrize(
    ("lang", "medium", "short"),
    [
        ("en", "21 Nov 2026", "21/11/2026"),
        ("es", "21 nov 2026", "21/11/26"),
        ("it", "21 nov 2026", "21/11/26"),
        ("de", "21.11.2026", "21.11.26"),
    ],
)
def test_medium_and_short_dates(lang: str, medium: str, short: str) -> None:
    loc = localizer(lang)
    assert loc.render(DateValue(date(2026, 11, 21), "medium")) == medium
    assert loc.render(DateValue(date(2026, 11, 21), "short")) == short


def test_a_date_style_may_be_a_cldr_skeleton() -> None:
    assert localizer("en").render(DateValue(date(2026, 11, 21), "MMMEd")) == "Sat 21 Nov"
    assert localizer("de").render(DateValue(date(2026, 11, 21), "MMMEd")) == "Sa., 21. Nov."


@pytest.mark.parametrize("lang", ["en", "es", "it", "de"])
def test_time_is_shown_in_the_branch_timezone(lang: str) -> None:
    loc = localizer(lang)
    assert loc.render(TimeValue(NOV_21_1330Z, "Europe/Madrid")) == "14:30"  # CET, UTC+1
    summer = datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert loc.render(TimeValue(summer, "Europe/Rome")) == "15:30"  # CEST, UTC+2
    morning = "8:30" if lang == "es" else "08:30"  # Spanish writes H:mm
    assert loc.render(TimeValue(NOV_21_1330Z, "America/New_York")) == morning


def test_the_date_of_a_moment_is_the_branch_date() -> None:
    late = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)  # already Sunday in Madrid
    assert (
        localizer("en").render(DateTimeValue(late, "Europe/Madrid"))
        == "Sunday, 22 November 2026 at 00:30"
    )


def test_naive_times_are_utc_and_unknown_zones_fall_back_to_utc() -> None:
    naive = datetime(2026, 11, 21, 13, 30)
    assert localizer("de").render(TimeValue(naive, "Europe/Berlin")) == "14:30"
    assert localizer("de").render(TimeValue(NOV_21_1330Z, "Mars/Olympus")) == "13:30"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Saturday, 21 November 2026 at 14:30"),
        ("es", "Sábado, 21 de noviembre de 2026 a las 14:30"),
        ("it", "Sabato 21 novembre 2026 alle 14:30"),
        ("de", f"Samstag, 21. November 2026 um 14:30{NBSP}Uhr"),
    ],
)
def test_date_and_time(lang: str, expected: str) -> None:
    assert localizer(lang).render(DateTimeValue(NOV_21_1330Z, "Europe/Madrid")) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "November 2026"),
        ("es", "Noviembre de 2026"),
        ("it", "Novembre 2026"),
        ("de", "November 2026"),
    ],
)
def test_month_title(lang: str, expected: str) -> None:
    assert localizer(lang).render(MonthValue(2026, 11)) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Sept 2026"), ("es", "Sept 2026"), ("it", "Set 2026"), ("de", "Sept. 2026")],
)
def test_short_month_title_for_the_calendar_header(lang: str, expected: str) -> None:
    assert localizer(lang).render(MonthValue(2026, 9, short=True)) == expected


def test_locale_words_keep_their_case_inside_a_sentence() -> None:
    es = Localizer("es", {"Free times in {month}": "Horas libres en {month}"})
    assert es.render(Msg("Free times in {month}", month=MonthValue(2026, 11))) == (
        "Horas libres en noviembre de 2026"
    )
    assert es.render(Msg("<b>{month}</b>", month=MonthValue(2026, 11)), "html") == (
        "<b>Noviembre de 2026</b>"
    )


@pytest.mark.parametrize(
    ("lang", "width", "expected"),
    [
        ("en", "narrow", ["M", "T", "W", "T", "F", "S", "S"]),
        ("en", "short", ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]),
        ("es", "narrow", ["L", "M", "X", "J", "V", "S", "D"]),
        ("es", "wide", ["Lunes", "Martes", "Miércoles", "Jueves", "Viernes", "Sábado", "Domingo"]),
        ("it", "abbreviated", ["Lun", "Mar", "Mer", "Gio", "Ven", "Sab", "Dom"]),
        ("de", "short", ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."]),
        (
            "de",
            "wide",
            ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
        ),
    ],
)
def test_weekday_names(lang: str, width: str, expected: list[str]) -> None:
    loc = localizer(lang)
    assert [loc.render(WeekdayValue(day, width)) for day in range(7)] == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "minutes", "expected"),
    [
        ("en", 30, "30 min"),
        ("en", 60, "1 h"),
        ("en", 90, "1 h 30 min"),
        ("es", 45, "45 min"),
        ("es", 90, "1 h 30 min"),
        ("it", 90, "1 h 30 min"),
        ("de", 30, "30 Min."),
        ("de", 120, "2 Std."),
        ("de", 90, "1 Std. 30 Min."),
    ],
)
def test_durations(lang: str, minutes: int, expected: str) -> None:
    """A number never parts from its unit at a line break (a no-break space between them)."""
    shown = localizer(lang).render(DurationValue(minutes))
    assert shown.replace(NBSP, " ") == expected
    assert all(NBSP in number_and_unit for number_and_unit in shown.split(" ")), shown


@pytest.mark.parametrize(
    ("code", "expected"),
    [("en", "English"), ("es", "Español"), ("it", "Italiano"), ("de", "Deutsch")],
)
def test_language_names_are_in_their_own_language(code: str, expected: str) -> None:
    for lang in ("en", "es", "it", "de"):
        assert localizer(lang).render(LanguageName(code)) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "From now on I'll write in English."),
        ("es", "A partir de ahora te escribo en español."),
        ("it", "D'ora in poi ti scrivo in italiano."),
        ("de", "Ab jetzt schreibe ich Ihnen auf Deutsch."),
    ],
)
def test_language_names_keep_their_case_in_running_text(lang: str, expected: str) -> None:
    """Spanish and Italian write language names in lowercase inside a sentence; only a label
    that opens with one (the language menu) capitalises it."""
    note = Msg("From now on I'll write in {language}.", language=LanguageName(lang))
    assert localizer(lang).render(note) == expected


# ---- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "tz", "expected"),
    [
        ("en", "Europe/Madrid", "Times are in Madrid time."),
        ("es", "America/Mexico_City", "Las horas se muestran en hora de Ciudad de México."),
        ("it", "Europe/Berlin", "Orari: ora di Berlino."),
        ("de", "America/Mexico_City", "Alle Uhrzeiten in Ortszeit Mexiko-Stadt."),
        ("es", "Atlantic/Canary", "Las horas se muestran en hora de Canarias."),
        ("de", "+01:00", "Alle Uhrzeiten in GMT+01:00."),
        ("en", "-05:30", "Times are in GMT-05:30."),
        ("it", "UTC", "Orari: GMT."),
        ("es", "Etc/GMT-1", "Las horas se muestran en GMT+01:00."),
    ],
)
def test_a_zone_is_named_by_its_city_in_the_customers_language(
    lang: str, tz: str, expected: str
) -> None:
    """CLDR's name of the zone's city, never the raw IANA id; a zone without a city (a fixed
    offset a server gave, UTC, Etc/) as CLDR's localised offset."""
    line = Msg("Times are in {zone}.", zone=ZoneValue(tz))
    assert localizer(lang, strict=True).render(line) == expected


# ---- numbers and plurals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "12,500"), ("es", "12.500"), ("it", "12.500"), ("de", "12.500")]
)
def test_numbers_are_grouped_as_the_locale_writes_them(lang: str, expected: str) -> None:
    assert localizer(lang).render(Msg("{n}", n=12500)) == expected


DAYS = ("I delete them {count} day after.", "I delete them {count} days after.")


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "Los borro 0 días después."),
        (1, "Los borro 1 día después."),
        (2, "Los borro 2 días después."),
        (1_000_000, "Los borro 1.000.000 de días después."),
    ],
)
def test_plural_forms_follow_the_languages_rules(count: int, expected: str) -> None:
    """Babel's CLDR rules for Spanish: one (1), many (a million, "de días"), other."""
    es = Localizer(
        "es",
        {
            DAYS[0]: (
                "Los borro {count} día después.",
                "Los borro {count} de días después.",
                "Los borro {count} días después.",
            )
        },
        strict=True,
    )
    assert es.render(Plural(*DAYS, count=count)) == expected


def test_english_plurals_and_a_missing_entry_fall_back_by_count() -> None:
    en = Localizer("en", {})
    assert en.render(Plural(*DAYS, count=1)) == "I delete them 1 day after."
    assert en.render(Plural(*DAYS, count=30)) == "I delete them 30 days after."
    assert en.missing == {DAYS[0]}
    wrong_number_of_forms = Localizer("es", {DAYS[0]: ("uno {count}", "otros {count}")})
    assert wrong_number_of_forms.render(Plural(*DAYS, count=3)) == "I delete them 3 days after."


def test_a_broken_plural_form_falls_back_to_english() -> None:
    de = Localizer("de", {DAYS[0]: ("Ein Tag {tage}", "{count} Tage")})
    assert de.render(Plural(*DAYS, count=1)) == "I delete them 1 day after."
    assert de.render(Plural(*DAYS, count=5)) == "5 Tage"
    assert de.broken == {DAYS[0]}


@pytest.mark.parametrize(
    ("hour", "expected"),
    [
        (1, "Sábado, 21 de noviembre de 2026 a la 1:30"),
        (2, "Sábado, 21 de noviembre de 2026 a las 2:30"),
        (13, "Sábado, 21 de noviembre de 2026 a las 13:30"),
    ],
)
def test_spanish_says_a_la_una(hour: int, expected: str) -> None:
    """The hour picks the form: "a la 1:30" but "a las 2:30" (the plural rule of the hour)."""
    moment = datetime(2026, 11, 21, hour - 1, 30, tzinfo=UTC)  # Madrid is UTC+1 in November
    assert localizer("es", strict=True).render(DateTimeValue(moment, "Europe/Madrid")) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Sat 21 Nov, 14:30"),
        ("es", "Sáb, 21 nov, 14:30"),
        ("it", "Sab 21 nov, 14:30"),
        ("de", "Sa., 21. Nov., 14:30"),
    ],
)
def test_compact_date_and_time_for_lists(lang: str, expected: str) -> None:
    assert localizer(lang).render(DateTimeValue(NOV_21_1330Z, "Europe/Madrid", "MMMEd")) == (
        expected
    )


# ---- markup and escaping ---------------------------------------------------------------------


def test_html_escapes_values_but_keeps_template_tags() -> None:
    loc = Localizer("en", {})
    msg = Msg("<b>Name:</b> {name} & co", name="<script>alert('x')</script>")
    assert loc.render(msg, "html") == (
        "<b>Name:</b> &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co"
    )


def test_plain_strips_template_tags_but_never_touches_values() -> None:
    loc = Localizer("en", {})
    msg = Msg("<b>Name:</b> <i>{name}</i>", name="<b>Ana</b> & Bob")
    assert loc.render(msg, "plain") == "Name: <b>Ana</b> & Bob"


def test_verbatim_and_numbers_are_escaped_not_translated() -> None:
    es = Localizer("es", {"Book": "Reservar", "{a} {b} {c}": "{a} {b} {c}"})
    msg = Msg("{a} {b} {c}", a="Book", b=Verbatim("Cut & <dry>"), c=3)
    assert es.render(msg, "plain") == "Book Cut & <dry> 3"
    assert es.render(msg, "html") == "Book Cut &amp; &lt;dry&gt; 3"
    assert es.render(Verbatim("a<b"), "html") == "a&lt;b"


def test_nested_messages_are_translated_and_escaped_once() -> None:
    de = Localizer("de", {"Hello {who}": "Hallo {who}", "<i>{name}</i>": "<i>{name}</i>"})
    msg = Msg("Hello {who}", who=Msg("<i>{name}</i>", name="A&B"))
    assert de.render(msg, "html") == "Hallo <i>A&amp;B</i>"
    assert de.render(msg, "plain") == "Hallo A&B"


def test_render_body_joins_lines() -> None:
    it = Localizer("it", {"Hi": "Ciao", "Bye": "A presto"})
    assert it.render_body(Screen(body=(Msg("Hi"), Msg("Bye")))) == "Ciao\nA presto"


def test_literal_braces_survive() -> None:
    assert Localizer("en", {}).render(Msg("{{literal}} {x}", x="y")) == "{literal} y"


# ---- missing and broken translations ---------------------------------------------------------


def test_missing_translation_shows_english_and_is_recorded() -> None:
    de = Localizer("de", {})
    assert de.render(Msg("Hello {name}", name="Ana")) == "Hello Ana"
    assert de.missing == {"Hello {name}"}


def test_missing_english_entry_renders_the_msgid() -> None:
    en = Localizer("en", {})
    assert en.render(Msg("Book")) == "Book"
    assert en.missing == {"Book"}


def test_strict_localizer_raises_on_missing_translation() -> None:
    with pytest.raises(TranslationError):
        Localizer("it", {}, strict=True).render(Msg("Hello"))


@pytest.mark.parametrize(
    "bad",
    [
        "Hola {nombre}",  # renamed placeholder
        "Hola",  # dropped placeholder
        "Hola {name",  # unbalanced brace
        "Hola {name.__class__}",  # attribute access
        "Hola {name!r}",  # conversion
        "Hola {name:>30}",  # format spec
        "Hola {}",  # positional
    ],
)
def test_broken_translation_falls_back_to_english(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    es = Localizer("es", {"Hello {name}": bad})
    with caplog.at_level(logging.WARNING):
        assert es.render(Msg("Hello {name}", name="ana@example.com")) == "Hello ana@example.com"
    assert es.broken == {"Hello {name}"}
    assert "Hello {name}" in caplog.text
    assert "ana@example.com" not in caplog.text  # values may be personal data: never logged
    with pytest.raises(TranslationError):
        Localizer("es", {"Hello {name}": bad}, strict=True).render(Msg("Hello {name}", name="x"))


def test_a_value_the_engine_forgot_does_not_crash() -> None:
    es = Localizer("es", {"{n} free times on {day}": "{n} horas libres el {day}"})
    assert es.render(Msg("{n} free times on {day}", n=3)) == "3 free times on …"
    assert es.broken == {"{n} free times on {day}"}
    with pytest.raises(TranslationError):
        Localizer("es", {}, strict=True).render(Msg("{n} free", m=3))


def test_fuzzy_and_empty_entries_count_as_missing(tmp_path: Path) -> None:
    po = tmp_path / "it" / "LC_MESSAGES" / "bot.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Book"\nmsgstr "Prenota"\n\n'
        '#, fuzzy\nmsgid "Books"\nmsgstr "Prenotazioni"\n\n'
        'msgid "Back"\nmsgstr ""\n',
        encoding="utf-8",
    )
    table = load_translations("it", tmp_path)
    assert dict(table) == {"Book": "Prenota"}
    it = Localizer("it", table)
    assert [it.render(Msg(k)) for k in ("Book", "Books", "Back")] == ["Prenota", "Books", "Back"]
    assert it.missing == {"Books", "Back"}


def test_a_language_without_catalog_shows_english(tmp_path: Path) -> None:
    assert dict(load_translations("de", tmp_path)) == {}
