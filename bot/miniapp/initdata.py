"""Telegram's `initData`: who opened the page, signed by Telegram with the bot's token.

As Telegram documents it (core.telegram.org/bots/webapps, "Validating data received via the
Mini App"): the data-check string is every `key=value` pair but `hash`, sorted by key and
joined with newlines; the secret key is HMAC-SHA256 of the bot token keyed with "WebAppData";
`hash` is the hex HMAC-SHA256 of the data-check string under that key. A match proves that
Telegram gave this data to a page opened from this bot; `auth_date` says when, and data older
than MAX_AGE is refused (a copied `initData` stops working). The customer's id and language
are taken from the signed `user` field alone, never from anything else the page sends.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from bot.core.events import Customer

# How old a page's initData may be: a day, as a Telegram session page stays open at most about
# that long in practice; an older one (copied, replayed) is refused and the page must be
# reopened from the chat.
MAX_AGE = timedelta(hours=24)
# Clocks differ a little: an auth_date up to this far in the future is accepted.
SKEW = timedelta(minutes=5)
MAX_LENGTH = 4096  # characters: Telegram's initData is well under 1 KB
MAX_ID = 2**53  # Telegram's user ids fit 52 bits


class Refused(Exception):
    """Not valid initData; `language` is the (unverified) language_code, for the answer only."""

    def __init__(self, reason: str, language: str | None = None) -> None:
        super().__init__(reason)
        self.language = language


@dataclass(frozen=True)
class PageUser:
    """The customer a page speaks for, as Telegram signed it."""

    customer: Customer
    auth_date: datetime


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(pairs) if k != "hash")


def sign(pairs: list[tuple[str, str]], bot_token: str) -> str:
    """The `hash` Telegram puts in initData for these pairs (tests sign as Telegram does)."""
    check = data_check_string(pairs).encode()
    return hmac.new(secret_key(bot_token), check, hashlib.sha256).hexdigest()


def language_hint(init_data: str) -> str | None:
    """The language_code in initData, unverified: only to word a refusal."""
    try:
        user = json.loads(dict(parse_qsl(init_data[:MAX_LENGTH])).get("user", "{}"))
        code = user.get("language_code") if isinstance(user, dict) else None
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and len(code) <= 16 else None


def verify(init_data: str, bot_token: str, now: datetime, max_age: timedelta = MAX_AGE) -> PageUser:
    """The signed customer of `init_data`, or Refused (missing, forged, expired, malformed)."""
    if not init_data:
        raise Refused("missing")
    hint = language_hint(init_data)
    if len(init_data) > MAX_LENGTH or not init_data.isascii():
        raise Refused("malformed", hint)
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise Refused("malformed", hint) from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise Refused("malformed", hint)  # a key given twice: which one was signed?
    given = fields.get("hash", "")
    if not hmac.compare_digest(given.encode(), sign(pairs, bot_token).encode()):
        raise Refused("forged", hint)
    raw_date = fields.get("auth_date", "")
    if not raw_date.isdigit() or len(raw_date) > 12:
        raise Refused("malformed", hint)
    auth_date = datetime.fromtimestamp(int(raw_date), UTC)
    if auth_date > now + SKEW or now - auth_date > max_age:
        raise Refused("expired", hint)
    return PageUser(_customer(fields.get("user", ""), hint), auth_date)


def _customer(raw: str, hint: str | None) -> Customer:
    try:
        user = json.loads(raw)
    except ValueError:
        raise Refused("malformed", hint) from None
    if not isinstance(user, dict):
        raise Refused("malformed", hint)
    user_id = user.get("id")
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < MAX_ID:
        raise Refused("malformed", hint)
    if user.get("is_bot") is True:
        raise Refused("malformed", hint)
    return Customer(
        user_id=user_id,
        chat_id=user_id,  # the customer's private chat with the bot has their user id
        first_name=_text(user.get("first_name")),
        last_name=_text(user.get("last_name")),
        language_code=hint,
    )


def _text(value: object) -> str:
    return value[:256] if isinstance(value, str) else ""
