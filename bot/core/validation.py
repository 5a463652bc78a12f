"""Checks on what customers type: a name and an email, with reasons the customer can act on.

Errors are returned as message keys (never raised, never email-validator's English text), so
the step stays where it is and tells the customer, in their language, what to fix.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from bot.core.screens import Msg, Plural

MAX_NAME = 100
MAX_EMAIL = 254


def clean_name(text: str) -> tuple[str | None, Msg | None]:
    """(name, None) when acceptable, else (None, why)."""
    name = " ".join(text.split())
    if not name:
        return None, Msg("Please type your name.")
    if any(_unusable(ch) for ch in name):
        return None, Msg("That name has characters I can't use. Please type it again.")
    if len(name) > MAX_NAME:
        return None, Plural(
            "That name is too long: please use at most {count} character.",
            "That name is too long: please use at most {count} characters.",
            count=MAX_NAME,
        )
    return name, None


# Format characters that real names contain: the joiners of emoji sequences (👩‍💻) and of
# Indic and Persian scripts. Every other control or format character (bidi overrides,
# zero-width spaces) is refused: it can make a name display as something else.
NAME_JOINERS = frozenset({"\u200c", "\u200d"})


def _unusable(ch: str) -> bool:
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} and ch not in NAME_JOINERS


def clean_email(text: str) -> tuple[str | None, Msg | None]:
    """(the address to send, None) when acceptable, else (None, why).

    The address sent to Zimun (and stored) carries an internationalised domain in its ASCII
    form (IDNA: bücher.de -> xn--bcher-kva.de), which every mail system accepts; the domain is
    lower-cased, the local part kept as typed (plus-addressing included).
    """
    candidate = text.strip()
    if not candidate:
        return None, Msg("Please type your email address.")
    if len(candidate) > MAX_EMAIL:
        return None, Msg("That email address is too long.")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, _email_reason(str(exc))
    address = f"{result.local_part}@{result.ascii_domain}"
    if len(address) > MAX_EMAIL:
        return None, Msg("That email address is too long.")
    return address, None


def shown_email(address: str) -> str:
    """An address as people read it: an ASCII (IDNA) domain back in its own script."""
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return address


def _email_reason(message: str) -> Msg:
    lowered = message.lower()
    if "must have an @-sign" in lowered or "must have exactly one @-sign" in lowered:
        return Msg("An email address has exactly one @, like name@example.com.")
    if "too long" in lowered:
        return Msg("That email address is too long.")
    if "before the @-sign" in lowered:
        return Msg("The part before the @ is not valid.")
    if "after the @-sign" in lowered or "domain" in lowered:
        return Msg("The part after the @ should be a domain, like example.com.")
    return Msg("That doesn't look like an email address. Please type one like name@example.com.")
