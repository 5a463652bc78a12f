"""The page's own words (headings, field labels, refusals): gettext messages like the chat's.

The page holds no text of its own: it asks the server for these (`words.json`, every offered
language at once, so that a page opened outside Telegram can say so in all of them).
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.languages import SUPPORTED_LANGUAGES
from bot.core.screens import Msg
from bot.i18n import localizer

TITLE = Msg("Book an appointment")
LOADING = Msg("Loading…")
OUTSIDE = Msg("Please open this page from the bot's chat in Telegram.")
NAME = Msg("Your name")
EMAIL = Msg("Your email")
SEND = Msg("Send")
DAYS = Msg("Days of the month")
FULL = Msg("full")
CLOSED = Msg("not bookable")
SENT = Msg("Also sent to your chat with the bot.")
FAILED = Msg("Something went wrong. Please try again.")
REOPEN = Msg("Please close this page and open it again from the chat.")
# Refusals (401, 400, 429) the API answers with, in the customer's language where known.
REFUSED = Msg("This page must be opened from the bot's chat in Telegram.")
EXPIRED = Msg("This page was opened too long ago. Please open it again from the chat.")
INVALID = Msg("That request isn't valid.")
TOO_FAST = Msg("Too many requests at once. Please wait a moment.")

PAGE_WORDS: dict[str, Msg] = {
    "title": TITLE,
    "loading": LOADING,
    "outside": OUTSIDE,
    "name": NAME,
    "email": EMAIL,
    "send": SEND,
    "days": DAYS,
    "full": FULL,
    "closed": CLOSED,
    "sent": SENT,
    "failed": FAILED,
    "reopen": REOPEN,
}


def page_words(languages: Iterable[str] = SUPPORTED_LANGUAGES) -> dict[str, dict[str, str]]:
    """language -> word key -> text, for the page (words.json)."""
    return {
        lang: {key: localizer(lang).render(msg, "plain") for key, msg in PAGE_WORDS.items()}
        for lang in languages
    }


def say(msg: Msg, language: str | None) -> str:
    """One refusal in `language` (Telegram's code, e.g. "es-ES") when offered, else English."""
    code = (language or "en").split("-")[0].lower()
    return localizer(code if code in SUPPORTED_LANGUAGES else "en").render(msg, "plain")
