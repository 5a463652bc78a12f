"""Internationalization: gettext catalogs read with Babel, and locale-aware rendering of screens.

    from bot.i18n import localizer
    lang = business.language(stored, customer.language_code)  # bot.core.languages.pick_language
    text = localizer(reply.language).render_body(screen, markup="html")

Msgids are the English source text passed as the first argument of `Msg(...)`; `N_("...")`
marks a msgid kept in a table before it reaches a `Msg`; `Plural("one", "other", count=n)`
is a message with a number, its form picked by Babel's plural rules for the language. `make
locales` re-extracts them. The words themselves follow locales/GLOSSARY.md.
"""

from __future__ import annotations

from bot.core.languages import BABEL_LOCALES, SUPPORTED_LANGUAGES, normalize_language
from bot.i18n.localizer import Localizer, TranslationError, localizer
from bot.i18n.markup import Markup


def N_(msgid: str) -> str:
    """Mark a string literal as a msgid for extraction, without translating it here."""
    return msgid


__all__ = [
    "BABEL_LOCALES",
    "N_",
    "SUPPORTED_LANGUAGES",
    "Localizer",
    "Markup",
    "TranslationError",
    "localizer",
    "normalize_language",
]
