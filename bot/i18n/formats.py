"""Locale formatting of the typed values a screen carries (dates, times, months, weekdays...).

Everything here returns plain, unescaped text; the localizer escapes it for HTML. Values that
need a sentence around them ("{date} at {time}", "1 h 30 min") are built as `Msg`s, so their
wording lives in the catalogs where translators can see and adjust it, instead of CLDR patterns
that read stiffly in a chat ("sabato 21 novembre 2026 14:30", "1 horas").
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    get_day_names,
    get_timezone_gmt,
    get_timezone_location,
    get_timezone_name,
)
from babel.numbers import format_decimal

from bot.core.models import parse_zone
from bot.core.screens import (
    DateTimeValue,
    DateValue,
    DurationValue,
    LanguageName,
    MonthValue,
    Msg,
    Plural,
    TimeValue,
    WeekdayValue,
    ZoneValue,
)

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


# Languages whose running text has no comma after the weekday, though CLDR's "full" date has
# one: Spanish writes "el miércoles 9 de diciembre", and "Miércoles, 9 de diciembre" only where
# the date stands alone (a heading, a line of its own).
_NO_COMMA_AFTER_WEEKDAY = frozenset({"es"})
# The styles that spell the month out; the year is their last field, with what joins it
# (" y", Spanish " 'de' y").
_YEARLESS_STYLES = frozenset({"full", "long"})
_TRAILING_YEAR = re.compile(r"\s*(?:'de'\s*)?y+$")


def date_pattern(value: DateValue, locale: Locale, running: bool) -> str:
    """The CLDR pattern of a Babel date style, for a date inside a sentence (`running`) or
    standing alone, without the year when the date falls in `value.this_year`."""
    pattern = locale.date_formats[value.style].pattern
    if running and locale.language in _NO_COMMA_AFTER_WEEKDAY:
        pattern = pattern.replace("EEEE, ", "EEEE ", 1)
    if value.style in _YEARLESS_STYLES and value.value.year == value.this_year:
        pattern = _TRAILING_YEAR.sub("", pattern)
    return pattern


def date_text(value: DateValue, locale: Locale, running: bool = False) -> str:
    """A Babel style name ("full", "medium"...) or else a CLDR skeleton such as "MMMEd".
    `running`: the date is inside a sentence, not at its start."""
    if value.style in BABEL_STYLES:
        return format_date(value.value, date_pattern(value, locale, running), locale=locale)
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
    """Month and year as the locale writes a month title ("November 2026", "noviembre de 2026"),
    or abbreviated where space is short ("Nov 2026", "nov 2026", "Nov. 2026").

    The CLDR `yMMMM`/`yMMM` skeletons pick the stand-alone month form where a language has one.
    """
    skeleton = "yMMM" if value.short else "yMMMM"
    return format_skeleton(skeleton, date(value.year, value.month, 1), locale=locale)


def weekday_text(value: WeekdayValue, locale: Locale) -> str:
    return get_day_names(value.width, context="stand-alone", locale=locale)[value.weekday]


def language_text(value: LanguageName) -> str:
    """The language's name in itself, cased as that language writes it in running text
    ("español", "italiano", "Deutsch", "English"); the localizer capitalises it at the start
    of a label or sentence, as in the language menu ("Español")."""
    try:
        return Locale.parse(value.code.replace("-", "_")).get_language_name() or value.code
    except (UnknownLocaleError, ValueError):
        return value.code


def number_text(value: int, locale: Locale) -> str:
    """A number as the locale groups digits ("1,250", "1.250"; Spanish "1250" but "12.500")."""
    return format_decimal(value, locale=locale)


# IANA zones CLDR names by a city (not Etc/GMT-1 and the like, whose "city" is an offset).
_ZONE_CITIES = frozenset(z for z in get_global("zone_territories") if not z.startswith("Etc/"))
_OFFSET_PROBE = datetime(2000, 1, 1, tzinfo=UTC)  # fixed offsets are the same at any moment


def zone_msg(value: ZoneValue, locale: Locale) -> Msg | str:
    """A zone as the customer reads it: its city's CLDR name in their language, worded by the
    catalog ("Madrid time", "hora de Ciudad de México", "Ortszeit Berlin"); a fixed offset or
    UTC, which has no city, as CLDR's localised offset ("GMT+01:00", "GMT")."""
    tz = zone(value.tz)
    key = getattr(tz, "key", None)
    if key in _ZONE_CITIES:
        city = get_timezone_location(tz, locale=locale, return_city=True)
        return Msg("{city} time", city=city)
    moment = _OFFSET_PROBE.astimezone(tz)
    if not moment.utcoffset():
        return "GMT"
    return get_timezone_gmt(moment, "long", locale=locale)


def datetime_msg(value: DateTimeValue, locale: Locale) -> Msg:
    """A moment as "<date> at <time>" on the branch's clock, worded by the catalog; in the
    hour a daylight-saving switch repeats, with the zone's abbreviation after it. A CLDR
    skeleton as the style ("MMMEd") asks for the compact form of lists and buttons,
    "<date>, <time>" ("Sat 21 Nov, 14:30")."""
    moment = local(value.value, value.tz)
    day = DateValue(moment.date(), value.style, value.this_year)
    time = TimeValue(moment, value.tz, zone=False)
    if value.style not in BABEL_STYLES:
        return Msg("{date}, {time}", date=day, time=TimeValue(moment, value.tz))
    # The hour is the count of these plural messages: Spanish says "a la 1:30" but "a las
    # 2:30", which is exactly its plural rule for the hour (one for 1, other for the rest).
    if repeated(moment):
        zone_name = get_timezone_name(moment, "short", locale=locale)
        # TRANSLATORS: {count} is the hour (0-23) of {time}; pick each form to agree with it
        # (Spanish "a la" for 1, "a las" for the others; Italian "all'" for 1, "alle" for the
        # others). {zone} names the zone in the hour
        # a daylight-saving switch repeats ("CEST").
        return Plural(
            "{date} at {time} {zone}",
            "{date} at {time} {zone}",
            count=moment.hour,
            date=day,
            time=time,
            zone=zone_name,
        )
    # TRANSLATORS: {count} is the hour (0-23) of {time}; pick each form to agree with it
    # (Spanish "a la" for 1, "a las" for the others; Italian "all'" for 1, "alle" for the
    # others).
    return Plural("{date} at {time}", "{date} at {time}", count=moment.hour, date=day, time=time)


def duration_msg(value: DurationValue) -> Msg:
    """ "30 min", "1 h", "1 h 30 min": compact, as booking pages show durations; the number
    and its unit never part at a line break (a no-break space between them)."""
    hours, minutes = divmod(max(value.minutes, 0), 60)
    if not hours:
        return Msg("{minutes}\u00a0min", minutes=minutes)
    if not minutes:
        return Msg("{hours}\u00a0h", hours=hours)
    return Msg("{hours}\u00a0h {minutes}\u00a0min", hours=hours, minutes=minutes)
