"""Locale formatting of the typed values a screen carries (dates, times, months, weekdays...).

Everything here returns plain, unescaped text; the localizer escapes it for HTML. Values that
need a sentence around them ("{date} at {time}", "1 h 30 min") are built as `Msg`s, so their
wording lives in the catalogs where translators can see and adjust it, instead of CLDR patterns
that read stiffly in a chat ("sabato 21 novembre 2026 14:30", "1 horas").
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    get_day_names,
    get_timezone_name,
)

from bot.booking.screens import (
    DateTimeValue,
    DateValue,
    DurationValue,
    LanguageName,
    MonthValue,
    Msg,
    TimeValue,
    WeekdayValue,
)
from bot.zimun.models import parse_zone

log = logging.getLogger(__name__)

BABEL_STYLES = frozenset({"full", "long", "medium", "short"})


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The named IANA zone or fixed offset; UTC (with a warning) for a name it cannot read."""
    found = parse_zone(name)
    if found is None:
        log.warning("unknown timezone %r; showing UTC", name)
        return UTC
    return found


def local(moment: datetime, tz: str) -> datetime:
    """`moment` on the wall clock of `tz`. A naive datetime is taken as UTC (the API's default)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(tz))


def capitalize_first(text: str) -> str:
    """Upper-case only the first letter ("noviembre de 2026" -> "Noviembre de 2026")."""
    return text[:1].upper() + text[1:]


def date_text(value: DateValue, locale: Locale) -> str:
    """A Babel style name ("full", "medium"...) or else a CLDR skeleton such as "MMMEd"."""
    if value.style in BABEL_STYLES:
        return format_date(value.value, value.style, locale=locale)
    try:
        return format_skeleton(value.style, value.value, locale=locale)
    except (KeyError, ValueError):
        log.warning("unknown date style %r; using medium", value.style)
        return format_date(value.value, "medium", locale=locale)


def time_text(value: TimeValue, locale: Locale) -> str:
    """The wall-clock time on the branch's clock. In the hour a daylight-saving switch repeats,
    the zone's abbreviation tells the two apart ("02:30 CEST", then "02:30 CET")."""
    style = value.style if value.style in BABEL_STYLES else "short"
    moment = local(value.value, value.tz)
    # format_time would convert again through tzinfo; hand it the wall-clock time directly.
    text = format_time(moment.time(), style, locale=locale)
    if value.zone and repeated(moment):
        text += "\u00a0" + get_timezone_name(moment, "short", locale=locale)
    return text


def repeated(moment: datetime) -> bool:
    """True when the wall-clock time of `moment` happens twice on its day (autumn switch)."""
    twin = moment.replace(fold=1 - moment.fold)
    return twin.utcoffset() != moment.utcoffset()


def month_text(value: MonthValue, locale: Locale) -> str:
    """Month and year as the locale writes a month title ("November 2026", "noviembre de 2026").

    The CLDR `yMMMM` skeleton picks the stand-alone month form where a language has one.
    """
    return format_skeleton("yMMMM", date(value.year, value.month, 1), locale=locale)


def weekday_text(value: WeekdayValue, locale: Locale) -> str:
    return get_day_names(value.width, context="stand-alone", locale=locale)[value.weekday]


def language_text(value: LanguageName) -> str:
    """The language's name in itself, capitalised as in a menu ("Español", "Deutsch")."""
    try:
        name = Locale.parse(value.code.replace("-", "_")).get_language_name() or value.code
    except (UnknownLocaleError, ValueError):
        name = value.code
    return capitalize_first(name)


def datetime_msg(value: DateTimeValue, locale: Locale) -> Msg:
    """A moment as "<date> at <time>" on the branch's clock, worded by the catalog; in the
    hour a daylight-saving switch repeats, with the zone's abbreviation after it."""
    moment = local(value.value, value.tz)
    day = DateValue(moment.date(), value.style)
    time = TimeValue(moment, value.tz, zone=False)
    if repeated(moment):
        zone_name = get_timezone_name(moment, "short", locale=locale)
        return Msg("{date} at {time} {zone}", date=day, time=time, zone=zone_name)
    return Msg("{date} at {time}", date=day, time=time)


def duration_msg(value: DurationValue) -> Msg:
    """ "30 min", "1 h", "1 h 30 min": compact, as booking pages show durations."""
    hours, minutes = divmod(max(value.minutes, 0), 60)
    if not hours:
        return Msg("{minutes} min", minutes=minutes)
    if not minutes:
        return Msg("{hours} h", hours=hours)
    return Msg("{hours} h {minutes} min", hours=hours, minutes=minutes)
