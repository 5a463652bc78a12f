"""The bot's languages: the codes it speaks, their Babel locales, and the one rule that picks a
customer's language. Everything that needs a language (the conversation, notices, reminders,
the staff chat, the command menu) asks here, so a narrowed BOT_LANGUAGES means the same thing
everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "es", "it", "de")

# English is shown with British (en_GB) conventions: the businesses are European, and their
# English-speaking customers (visitors, expats) read "Saturday, 21 November 2026, 14:30" the way
# the venue posts its hours; a US locale would show "11/21/26" and "2:30 PM". The others use
# their CLDR defaults (es_ES, it_IT, de_DE). All four start the week on Monday.
BABEL_LOCALES = {"en": "en_GB", "es": "es", "it": "it", "de": "de"}


def normalize_language(code: str | None, default: str = "en") -> str:
    """ "es", "es-ES", "es_419", "IT-it" -> the supported base language, anything else `default`."""
    if not code:
        return default
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in SUPPORTED_LANGUAGES else default


def pick_language(
    *candidates: str | None, offered: Sequence[str] = SUPPORTED_LANGUAGES, default: str = "en"
) -> str:
    """The customer's language: the first candidate the business offers, else `default`.

    Callers pass what they know in order of precedence: the language the customer chose
    (stored), then the one a booking was made in, then Telegram's `language_code`. A stored
    language the operator no longer offers falls through to the next, so a narrowed
    BOT_LANGUAGES is honoured by the conversation and by every message sent later alike."""
    for code in candidates:
        if not code:
            continue
        found = normalize_language(code, "")
        if found and found in offered:
            return found
    return default
