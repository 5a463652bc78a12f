"""A chat's conversation state: everything needed to redraw its current screen and go on.

It is persisted (JSON) after every event and loaded for the next one, so nothing lives in RAM
between updates and a restarted bot resumes each conversation exactly where it stood. Options
shown as buttons are stored here and referenced by index, so payloads never carry API ids.

At a glance, a `ChatState` is:
- `nav`: the step on screen, its buttons' code, and the step a detour left (Navigation);
- `draft`: the booking being made, or the day and time a reschedule is choosing (Draft);
- `waitlist`: the full day offered for the waiting list, the freed time offered mid-booking;
- `managing`: the customer's own booking on display or being rescheduled (Managing);
- `unsettled`: what Zimun has not answered yet: a confirm, a change, the input to retry, holds
  to release (Unsettled);
- `lang`: the language last used; `parked`: a draft set aside during a reschedule (Parked).

States saved before the grouping (version 1, every field flat) load unchanged in meaning
(`ChatState.loads`), so a bot upgraded mid-conversation keeps every customer's draft.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# 1: every field at the top level (written without "v"); 2: grouped by concept (below).
STATE_VERSION = 2


class Step(StrEnum):
    """Where the conversation stands; each step has exactly one screen."""

    MENU = "menu"
    HELP = "help"
    LANGUAGE = "language"
    LOCATION = "location"
    SERVICE = "service"
    DAY = "day"
    TIME = "time"
    NAME = "name"
    EMAIL = "email"
    SUMMARY = "summary"
    CHANGE = "change"
    BOOKINGS = "bookings"
    BOOKING = "booking"
    MOVE_CONFIRM = "move_confirm"
    CANCEL_CONFIRM = "cancel_confirm"
    PRIVACY = "privacy"
    FORGET_CONFIRM = "forget_confirm"
    FORGOTTEN = "forgotten"  # shown once after /forget; never persisted (nothing is)
    WAITLIST_OFFER = "waitlist_offer"  # a full day: "tell me if a time frees up"
    WAITLIST = "waitlist"  # the customer's waiting list (from My bookings)
    WAITLIST_SWITCH = "waitlist_switch"  # a freed time's notice tapped mid-booking: switch?


class Flow(StrEnum):
    """Which journey the day and time steps serve."""

    BOOK = "book"
    RESCHEDULE = "reschedule"


class DayCode(StrEnum):
    FREE = "f"
    NONE = "n"  # no free time left
    SOON = "s"  # free times only inside the lead time (BOOKING_LEAD_TIME): nothing can free up
    CLOSED = "c"
    HOLIDAY = "h"
    PAST = "p"
    BEYOND = "b"  # after the last day the business (BOOKING_HORIZON, or Zimun) takes bookings for
    UNKNOWN = "u"  # not in the range answer: checked with a one-day query when tapped


class Month(BaseModel):
    """The calendar month on display, with one status code per day (index 0 is day 1)."""

    model_config = ConfigDict(extra="ignore")

    year: int
    month: int
    codes: str = ""
    holidays: dict[int, str] = Field(default_factory=dict)  # day -> name ("" when unnamed)
    onward: tuple[int, int] | None = None  # nothing free here: the next month with a free day
    # The calendar's last day when drawn, where the business's opening in Zimun ends it before
    # the operator's window (BOOKING_HORIZON); None: the window's own.
    until: date | None = None


class HeldSlot(BaseModel):
    model_config = ConfigDict(extra="ignore")

    hold_id: str
    start: datetime
    end: datetime | None = None
    expires_at: datetime


class PendingConfirm(BaseModel):
    """A confirm sent (or about to be) whose outcome is not known yet: retried with `key`."""

    model_config = ConfigDict(extra="ignore")

    hold_id: str
    key: str


class PendingChange(BaseModel):
    """A reschedule or cancel the customer confirmed, sent (or about to be) to Zimun, whose
    answer is not known yet: written before the call, so that after a crash it is finished
    with the same `key` and told to the customer as theirs, never taken for the business's."""

    model_config = ConfigDict(extra="ignore")

    kind: str  # "move" or "cancel"
    booking_id: int
    key: str
    new_start: datetime | None = None  # the time asked for (a move)


class Retry(BaseModel):
    """The input that failed because the API did not answer, repeated by the Retry button."""

    model_config = ConfigDict(extra="ignore")

    kind: str  # "tap", "text" or "command"
    action: str | None = None
    arg: int | None = None
    text: str | None = None
    key: str | None = None  # the idempotency key the failed attempt used


class Navigation(BaseModel):
    """Where the conversation stands: the step on screen and its screen code (`nonce`, carried
    by its buttons, so a button of an older screen is told apart). A detour (help, language,
    privacy, My bookings) leaves the flow in progress as it is: `resume` is the step to come
    back to, `resume_nonce` that step's screen code (so its buttons still on screen work)."""

    model_config = ConfigDict(extra="ignore")

    step: Step = Step.MENU
    nonce: str = ""
    resume: Step | None = None
    resume_nonce: str | None = None


class Draft(BaseModel):
    """What a booking in progress is made of, in the order the customer gives it (the day and
    time steps of a reschedule use it too, `flow` says which): kept through detours, parked
    during a reschedule, forgotten when the booking ends."""

    model_config = ConfigDict(extra="ignore")

    flow: Flow = Flow.BOOK
    attempt: str | None = None  # anonymous id of this booking attempt (funnel statistics)
    options: list[str] = Field(default_factory=list)  # the branches or services on screen
    location_id: str | None = None
    service_id: str | None = None
    tz: str | None = None  # the branch's timezone
    month: Month | None = None
    first_free: datetime | None = None  # the earliest free time, offered as a one-tap shortcut
    day: date | None = None
    slots: list[datetime] = Field(default_factory=list)  # the day's free times on screen
    page: int = 0  # the page of those times
    hold: HeldSlot | None = None
    name: str | None = None
    email: str | None = None  # as sent to Zimun: an internationalised domain in ASCII (IDNA)
    email_shown: str | None = None  # as the customer typed it, when that differs
    typed: dict[str, int] = Field(default_factory=dict)  # "name"/"email" -> the message id
    editing: bool = False  # came from the summary's Change: return there when done
    remember_email: bool = False  # the customer ticked "remember my email" on the summary


class WaitlistOffer(BaseModel):
    """The waiting list (bot/chat/waitlist.py) as the conversation offers it: the full day on
    the offer screen (kept with the draft it belongs to), and the entry whose freed time the
    customer asked to see while something else was in progress."""

    model_config = ConfigDict(extra="ignore")

    day: date | None = None
    entry: int | None = None


class Managing(BaseModel):
    """The customer's own bookings (My bookings): the page of the list on display, the
    booking opened (its local row: detail, reschedule, cancel) and the time it is moving to."""

    model_config = ConfigDict(extra="ignore")

    list_page: int = 0
    booking_id: int | None = None
    new_start: datetime | None = None  # the reschedule target


class Unsettled(BaseModel):
    """What Zimun has not settled yet: a confirm or a change sent whose answer is unknown
    (`in_flight`), the input to repeat when the API did not answer, and holds whose release
    failed (retried). Kept when a draft ends: none of it is the draft's."""

    model_config = ConfigDict(extra="ignore")

    pending: PendingConfirm | None = None
    changing: PendingChange | None = None  # a reschedule or cancel in flight
    retry: Retry | None = None
    orphans: list[str] = Field(default_factory=list)


class Parked(BaseModel):
    """A booking in progress set aside while a reschedule uses the day and time screens: it
    comes back as it was, behind a detour (`resume` is where the customer stood)."""

    model_config = ConfigDict(extra="ignore")

    draft: Draft
    waitlist_day: date | None = None
    resume: Step = Step.MENU
    resume_nonce: str | None = None


# How `dumps` begins (a state read straight, without considering an upgrade).
_WRITTEN, _WRITTEN_EMPTY = f'{{"v":{STATE_VERSION},', f'{{"v":{STATE_VERSION}}}'


class ChatState(BaseModel):
    """One chat's conversation, grouped by concept (see the module's docstring).

    `clear_draft`, `park` and `end_move` put new groups in place (they do not empty the old
    ones): read `state.draft` etc. again after calling them, never through a name kept from
    before."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    v: int = STATE_VERSION
    nav: Navigation = Field(default_factory=Navigation)
    draft: Draft = Field(default_factory=Draft)
    waitlist: WaitlistOffer = Field(default_factory=WaitlistOffer)
    managing: Managing = Field(default_factory=Managing)
    unsettled: Unsettled = Field(default_factory=Unsettled)
    # The language last used with this chat: a reply made outside an update (a confirm resumed
    # after a crash) has no Telegram language_code to go by.
    lang: str | None = None
    parked: Parked | None = None

    def dumps(self) -> str:
        """The grouped form, defaults left out; "v" always first (a flat state has none)."""
        fields = self.model_dump_json(exclude_defaults=True, exclude={"v"})
        return f'{{"v":{self.v}{"," if fields != "{}" else ""}{fields[1:]}'

    @classmethod
    def loads(cls, raw: str | None) -> ChatState:
        """A saved state; one saved by version 1 (flat, no "v") takes the grouped form with
        the same meaning. ValueError when unreadable (the engine starts the chat over)."""
        if not raw:
            return cls()
        if raw.startswith(_WRITTEN) or raw == _WRITTEN_EMPTY:  # as `dumps` writes it
            return cls.model_validate_json(raw)
        data = json.loads(raw)
        if isinstance(data, dict) and not (isinstance(data.get("v"), int) and data["v"] >= 2):
            data = from_flat(data)
        return cls.model_validate(data)

    def clear_draft(self) -> None:
        """Forget everything in progress (the caller has released its holds)."""
        self.nav = Navigation(nonce=self.nav.nonce)
        self._forget_draft()
        self.unsettled = Unsettled(orphans=self.unsettled.orphans)

    def end_move(self) -> None:
        """The reschedule is over: forget it, and bring back the booking it parked, if any."""
        parked = self.parked
        self.nav = Navigation(step=self.nav.step, nonce=self.nav.nonce)
        self._forget_draft()
        if parked is not None:
            self.draft = parked.draft
            self.waitlist.day = parked.waitlist_day
            self.nav.resume, self.nav.resume_nonce = parked.resume, parked.resume_nonce

    def park(self) -> None:
        """Set the booking in progress aside (a reschedule is about to use the screens)."""
        nav = self.nav
        parked = Parked(
            draft=self.draft,
            waitlist_day=self.waitlist.day,
            resume=nav.resume or nav.step,
            resume_nonce=nav.resume_nonce,
        )
        self.nav = Navigation(step=nav.step, nonce=nav.nonce)
        self._forget_draft()
        self.parked = parked
        self.unsettled = Unsettled(retry=self.unsettled.retry, orphans=self.unsettled.orphans)

    def _forget_draft(self) -> None:
        self.draft, self.waitlist, self.managing = Draft(), WaitlistOffer(), Managing()
        self.parked = None


# Version 1's flat fields, by the group that holds them now (a name differs where given).
FLAT_FIELDS: dict[str, tuple[str, str]] = {
    **{name: ("nav", name) for name in Navigation.model_fields},
    **{name: ("draft", name) for name in Draft.model_fields},
    "waitlist_day": ("waitlist", "day"),
    "waitlist_entry": ("waitlist", "entry"),
    **{name: ("managing", name) for name in Managing.model_fields},
    **{name: ("unsettled", name) for name in Unsettled.model_fields},
}


def from_flat(flat: dict[str, Any]) -> dict[str, Any]:
    """Version 1's fields put in their groups; a parked booking (then a flat state dumped to a
    string) becomes a `Parked` with what coming back used of it: the draft, the waiting-list
    day, the step to resume (its `resume`, else its `step`) and that step's screen code."""
    grouped: dict[str, Any] = {}
    for name, value in flat.items():
        if name in FLAT_FIELDS:
            group, field = FLAT_FIELDS[name]
            grouped.setdefault(group, {})[field] = value
        elif name == "parked" and isinstance(value, str):
            grouped["parked"] = _parked_from_flat(json.loads(value))
        elif name != "v":
            grouped[name] = value
    grouped["v"] = STATE_VERSION
    return grouped


def _parked_from_flat(flat: Any) -> dict[str, Any]:
    if not isinstance(flat, dict):
        raise ValueError("a parked booking is a JSON object")  # unreadable: the chat restarts
    return {
        "draft": {k: v for k, v in flat.items() if FLAT_FIELDS.get(k, ("",))[0] == "draft"},
        "waitlist_day": flat.get("waitlist_day"),
        "resume": flat.get("resume") or flat.get("step") or Step.MENU,
        "resume_nonce": flat.get("resume_nonce"),
    }
