"""Button payloads: short, bound to the screen that showed them, and checked before use.

Telegram gives a button at most 64 bytes of callback_data, and hands back whatever a client
sends, so a payload never carries an API id (ids have no length limit) nor anything trusted:

    <scope>.<action>[.<arg>].<check>

- `scope` is the chat's current screen nonce (4 base36 chars, changed whenever a new step is
  shown): a payload from an older screen, or invented, does not match and is never acted upon.
  The scope `@` marks a booking-scoped payload (My bookings list, reminders, notices): its
  `arg` is the local booking row id, and the engine checks that the booking belongs to the
  tapping user. The waiting list's `@` payloads (its notice, its list) carry a waiting-list
  entry id instead, checked the same way (`waitlist_data`).
- `action` is a short code (`Action`), `arg` a non-negative integer: an index into the option
  list stored in the chat state, a day of the month, a page, or a booking row id.
- `check` is 2 base36 chars of a CRC of the rest: random bytes or a hand-edited payload are
  rejected before they reach the state machine.

The longest payload is 4+1+3+1+19+1+2 = 31 bytes, whatever the ids and languages.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum

BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
NONCE_LENGTH = 4
BOOKING_SCOPE = "@"
MAX_ARG = 2**63 - 1
MAX_BYTES = 64


class Action(StrEnum):
    """Everything a button can ask for. Values are wire codes: never reuse or change one."""

    NOOP = "_"  # calendar header cells, disabled arrows
    MENU = "m"  # back to the main menu
    BOOK = "b"
    MY_BOOKINGS = "mb"
    LANGUAGE = "l"
    HELP = "h"
    BACK = "bk"
    CANCEL = "x"  # abandon the current flow, releasing any hold
    RETRY = "r"
    PICK = "p"  # arg: index into the state's options
    DAY = "d"  # arg: day of the displayed month
    DAY_UNAVAILABLE = "dx"  # arg: day of the displayed month (answered with a toast)
    MONTH_PREV = "mp"
    MONTH_NEXT = "mn"
    MONTH_ONWARD = "mo"  # from a month with nothing free to the next month with a free day
    FIRST_FREE = "ff"  # the calendar's shortcut to the earliest free time
    RESUME = "go"  # the menu's Continue: back to the booking in progress
    PAGE = "pg"  # arg: page of the time list
    TIME = "t"  # arg: index into the state's slots
    USE_NAME = "un"
    CONFIRM = "ok"
    CHANGE = "ch"
    CHANGE_TIME = "ct"
    CHANGE_NAME = "cn"
    CHANGE_EMAIL = "ce"
    OPEN_BOOKING = "o"  # booking-scoped: arg is the booking row id
    RESCHEDULE = "rs"  # screen-scoped (detail screen) or booking-scoped (reminders)
    CANCEL_BOOKING = "cb"  # idem
    KEEP = "k"  # booking-scoped (reminders, issue 6)
    YES = "y"  # confirm a question (move / cancel a booking, forget me)
    FORGET = "fg"  # privacy screen: delete my data (asks first)
    REMEMBER_EMAIL = "re"  # summary: toggle "remember my email for next time"
    USE_EMAIL = "ue"  # email step: use the remembered email
    BOOK_AGAIN = "ba"  # booking-scoped (notice of a cancellation at the business)
    WAITLIST = "w"  # My bookings: the customer's waiting list
    WAITLIST_JOIN = "wj"  # a full day's offer: tell me if a time frees up
    WAITLIST_LEAVE = "wl"  # the offer screen; or entry-scoped (the waiting list's entries)
    WAITLIST_OPEN = "wo"  # entry-scoped (the notice of a freed time): that day's times


_ACTIONS = {a.value: a for a in Action}


@dataclass(frozen=True)
class Payload:
    scope: str
    action: Action
    arg: int | None = None

    @property
    def booking_scoped(self) -> bool:
        return self.scope == BOOKING_SCOPE


def _check(body: str) -> str:
    value = zlib.crc32(body.encode("ascii")) % (36 * 36)
    return BASE36[value // 36] + BASE36[value % 36]


def nonce_of(bits: bytes) -> str:
    """A screen's button code made of `bits` (bot.core.draws draws them)."""
    value = int.from_bytes(bits, "big")
    chars = []
    for _ in range(NONCE_LENGTH):
        value, digit = divmod(value, 36)
        chars.append(BASE36[digit])
    return "".join(chars)


def _valid_scope(scope: str) -> bool:
    if scope == BOOKING_SCOPE:
        return True
    return len(scope) == NONCE_LENGTH and all(c in BASE36 for c in scope)


def encode(payload: Payload) -> str:
    if not _valid_scope(payload.scope):
        raise ValueError(f"invalid payload scope {payload.scope!r}")
    if payload.arg is not None and not 0 <= payload.arg <= MAX_ARG:
        raise ValueError(f"payload arg out of range: {payload.arg}")
    parts = [payload.scope, payload.action.value]
    if payload.arg is not None:
        parts.append(str(payload.arg))
    body = ".".join(parts)
    return f"{body}.{_check(body)}"


def button_data(nonce: str, action: Action, arg: int | None = None) -> str:
    return encode(Payload(nonce, action, arg))


def booking_data(action: Action, booking_id: int) -> str:
    """A payload that stays valid on old messages (lists, reminders); ownership is checked."""
    return encode(Payload(BOOKING_SCOPE, action, booking_id))


def waitlist_data(action: Action, entry_id: int) -> str:
    """A payload naming a waiting-list entry, valid on old messages; ownership is checked."""
    return encode(Payload(BOOKING_SCOPE, action, entry_id))


def decode(data: str | bytes | None) -> Payload | None:
    """The payload, or None for anything this codec did not produce."""
    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not data or len(data) > MAX_BYTES or not data.isascii():
        return None
    body, _, check = data.rpartition(".")
    if not body or _check(body) != check:
        return None
    parts = body.split(".")
    if len(parts) not in (2, 3) or not _valid_scope(parts[0]):
        return None
    action = _ACTIONS.get(parts[1])
    if action is None:
        return None
    arg: int | None = None
    if len(parts) == 3:
        raw = parts[2]
        if not raw.isdigit() or not raw.isascii() or (len(raw) > 1 and raw[0] == "0"):
            return None
        arg = int(raw)
        if arg > MAX_ARG:
            return None
    return Payload(parts[0], action, arg)
