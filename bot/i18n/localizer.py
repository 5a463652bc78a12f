"""Turning screen data (`Msg`, typed values) into text in one language, for one markup.

Adapters hold no wording of their own: they ask `localizer(reply.language)` to render every
label and body. Translation never fails loudly in production: a missing msgid shows the English
source, a translation whose placeholders do not match the msgid's is replaced by the English
template, and each such event is logged once (msgid and language only, never values, which may
hold a customer's name or email) and remembered in `missing` / `broken` so tests can insist on a
complete catalog. `strict=True` raises instead, for tests that want the first failure loudly.
"""

from __future__ import annotations

import gettext
import html
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from types import MappingProxyType

from babel import Locale
from babel.messages.plurals import get_plural

from bot.core.languages import BABEL_LOCALES, SUPPORTED_LANGUAGES, normalize_language
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
from bot.i18n import formats
from bot.i18n.catalog import Entry, load_translations
from bot.i18n.markup import (
    Markup,
    MissingValue,
    TemplateError,
    fields_match,
    for_markup,
    substitute,
)

log = logging.getLogger(__name__)

# What a value is rendered as when the engine forgot to pass it: visible, harmless, logged.
GAP = "…"


class TranslationError(LookupError):
    """Raised by a strict localizer for a missing translation or an unfillable template."""


def plural_rule(lang: str) -> tuple[int, Callable[[int], int]]:
    """(number of forms, count -> form index) of `lang`'s plural rules, as Babel derives them
    from CLDR (the catalogs' Plural-Forms headers must say the same; tests/i18n checks it)."""
    rule = get_plural(lang)
    return rule.num_plurals, gettext.c2py(rule.plural_expr)


class Localizer:
    """Renders screens in one language. Create through `localizer()`, which caches them."""

    def __init__(self, lang: str, translations: Mapping[str, Entry], *, strict: bool = False):
        self.lang = lang
        self.locale = Locale.parse(BABEL_LOCALES.get(lang, lang))
        self.strict = strict
        self.plural_forms, self._plural_index = plural_rule(lang)
        self._translations = translations
        self.missing: set[str] = set()  # msgids looked up with no usable translation
        self.broken: set[str] = set()  # msgids whose template could not be filled

    def __repr__(self) -> str:
        return f"Localizer({self.lang!r}, locale={self.locale}, strict={self.strict})"

    @property
    def first_week_day(self) -> int:
        """0 = Monday, as `date.weekday()`; the calendar's first column."""
        return self.locale.first_week_day

    def gettext(self, msgid: str) -> str:
        """The translation of `msgid`, or `msgid` itself (English source) when there is none."""
        text = self._translations.get(msgid)
        if isinstance(text, str) and text:
            return text
        self._report_missing(msgid)
        return msgid

    def ngettext(self, one: str, other: str, count: int) -> str:
        """The form of a plural message for `count` by the language's plural rules, or the
        English form (`one` for 1, else `other`) when the catalog has no complete entry."""
        forms = self._translations.get(one)
        if isinstance(forms, tuple) and len(forms) == self.plural_forms:
            return forms[self._plural_index(count)]
        self._report_missing(one)
        return one if count == 1 else other

    def _report_missing(self, msgid: str) -> None:
        if msgid not in self.missing:
            self.missing.add(msgid)
            log.warning("no %s translation for msgid %r", self.lang, msgid)
        if self.strict:
            raise TranslationError(f"no {self.lang} translation for {msgid!r}")

    def render(self, label: object, markup: Markup = "plain") -> str:
        """Any label or value of screens.py as finished text; locale words open capitalised."""
        return self._render(label, markup, at_start=True)

    def render_body(self, screen: Screen, markup: Markup = "plain") -> str:
        return "\n".join(self.render(line, markup) for line in screen.body)

    # ---- internals ---------------------------------------------------------------------------

    def _render(self, value: object, markup: Markup, at_start: bool) -> str:
        if isinstance(value, Msg):
            return self._render_msg(value, markup, at_start)
        if isinstance(value, DateTimeValue):
            return self._render_msg(formats.datetime_msg(value, self.locale), markup, at_start)
        if isinstance(value, DurationValue):
            return self._render_msg(formats.duration_msg(value), markup, at_start)
        if isinstance(value, ZoneValue):
            return self._render(formats.zone_msg(value, self.locale), markup, at_start)
        if isinstance(value, Verbatim):
            return self._escape(value.text, markup)
        if isinstance(value, str):  # user or API text: shown as it is
            return self._escape(value, markup)
        if isinstance(value, int):
            return self._escape(formats.number_text(value, self.locale), markup)
        text = self._locale_text(value, at_start)
        if at_start:
            text = formats.capitalize_first(text)
        return self._escape(text, markup)

    def _locale_text(self, value: object, at_start: bool) -> str:
        if isinstance(value, DateValue):
            return formats.date_text(value, self.locale, running=not at_start)
        if isinstance(value, TimeValue):
            return formats.time_text(value, self.locale)
        if isinstance(value, MonthValue):
            return formats.month_text(value, self.locale)
        if isinstance(value, WeekdayValue):
            return formats.weekday_text(value, self.locale)
        if isinstance(value, LanguageName):
            return formats.language_text(value)
        raise TypeError(f"cannot render {type(value).__name__}")

    @staticmethod
    def _escape(text: str, markup: Markup) -> str:
        return html.escape(text) if markup == "html" else text

    def _templates(self, msg: Msg) -> tuple[str, str]:
        """(the template to fill, the English template it falls back to) for `msg`."""
        if isinstance(msg, Plural):
            english = msg.key if msg.count == 1 else msg.plural
            return self.ngettext(msg.key, msg.plural, msg.count), english
        return self.gettext(msg.key), msg.key

    def _render_msg(self, msg: Msg, markup: Markup, at_start: bool) -> str:
        template, english = self._templates(msg)
        msgid = msg.plural if isinstance(msg, Plural) else msg.key
        try:
            if template != english and not fields_match(template, msgid, isinstance(msg, Plural)):
                raise TemplateError("placeholders differ from the msgid's")
            return self._fill(template, msg, markup, at_start)
        except TemplateError as exc:
            self._report_broken(msg.key, exc)
        if template != english:  # a bad translation: the English template is the safe fallback
            try:
                return self._fill(english, msg, markup, at_start)
            except TemplateError as exc:
                self._report_broken(msg.key, exc)
        return self._fill(english, msg, markup, at_start, lenient=True)

    def _fill(
        self, template: str, msg: Msg, markup: Markup, at_start: bool, lenient: bool = False
    ) -> str:
        def value_of(name: str, field_at_start: bool) -> str:
            if name not in msg.values:
                if lenient:
                    return GAP
                raise MissingValue(name)
            return self._render(msg.values[name], markup, at_start and field_at_start)

        try:
            return substitute(for_markup(template, markup), value_of)
        except TemplateError:
            if not lenient:
                raise
            return for_markup(template, markup)  # the msgid itself is malformed: show it raw

    def _report_broken(self, msgid: str, exc: TemplateError) -> None:
        if msgid not in self.broken:
            self.broken.add(msgid)
            log.warning("cannot fill %s template for msgid %r: %s", self.lang, msgid, exc)
        if self.strict:
            raise TranslationError(f"{self.lang} template for {msgid!r}: {exc}") from exc


# The operator's rewordings (MESSAGES_DIR, bot/i18n/overrides.py): language -> msgid -> text.
_overrides: dict[str, Mapping[str, Entry]] = {}


def use_overrides(tables: Mapping[str, Mapping[str, Entry]]) -> None:
    """From now on, these texts take precedence over the shipped catalogs (validated first by
    overrides.load_overrides); `{}` restores the shipped wording."""
    _overrides.clear()
    _overrides.update(tables)
    _shared.cache_clear()


class Words:
    """One business's rewordings (its MESSAGES_DIR) and the localizers made with them, when a
    process serves many businesses, each with its own words (`use_words`)."""

    def __init__(self, tables: Mapping[str, Mapping[str, Entry]]) -> None:
        self.tables = tables
        self._localizers: dict[str, Localizer] = {}

    def localizer(self, code: str) -> Localizer:
        found = self._localizers.get(code)
        if found is None:
            found = Localizer(code, _with(code, self.tables.get(code)))
            self._localizers[code] = found
        return found


# The business whose words the current task speaks (None: the process's, `use_overrides`). A
# context variable: set in the task that starts a business, it is inherited by every task that
# business's Application creates (its update fetcher, each update's handling, its catch-up).
_words: ContextVar[Words | None] = ContextVar("business_words", default=None)
_SHIPPED = Words({})  # a business without rewordings: the shipped catalogs, shared


def use_words(tables: Mapping[str, Mapping[str, Entry]]) -> None:
    """From now on, in this task and the tasks it creates, these rewordings take precedence
    over the shipped catalogs (instead of the process's own: one business among many)."""
    _words.set(Words(tables) if tables else _SHIPPED)


def translations(lang: str) -> Mapping[str, Entry]:
    """The shipped catalog of `lang`, with the operator's overrides on top."""
    words = _words.get()
    return _with(lang, (words.tables if words is not None else _overrides).get(lang))


def _with(lang: str, extra: Mapping[str, Entry] | None) -> Mapping[str, Entry]:
    shipped = load_translations(lang)
    return MappingProxyType({**shipped, **extra}) if extra else shipped


@lru_cache(maxsize=len(SUPPORTED_LANGUAGES) * 2)
def _shared(lang: str) -> Localizer:
    """The process's localizer (only ever called with no business's words in scope)."""
    return Localizer(lang, translations(lang))


def localizer(lang: str | None, *, strict: bool = False) -> Localizer:
    """The localizer for `lang` (normalized; unsupported codes get English).

    Non-strict localizers are shared and cached; each strict call returns a fresh one, so a
    test's `missing`/`broken` sets start empty. Catalogs are read once either way.
    """
    code = normalize_language(lang)
    if strict:
        return Localizer(code, translations(code), strict=True)
    words = _words.get()
    if words is not None:
        return words.localizer(code)
    return _shared(code)
