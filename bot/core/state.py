"""A chat's conversation state: everything needed to redraw its current screen and go on.

It is persisted (JSON) after every event and loaded for the next one, so nothing lives in RAM
between updates and a restarted bot resumes each conversation exactly where it stood. Options
shown as buttons are stored here and referenced by index, so payloads never carry API ids.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

STATE_VERSION = 1


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
    CLOSED = "c"
    HOLIDAY = "h"
    PAST = "p"
    BEYOND = "b"  # after the last day the business takes bookings for
    UNKNOWN = "u"  # not in the range answer: checked with a one-day query when tapped


class Month(BaseModel):
    """The calendar month on display, with one status code per day (index 0 is day 1)."""

    model_config = ConfigDict(extra="ignore")

    year: int
    month: int
    codes: str = ""
    holidays: dict[int, str] = Field(default_factory=dict)  # day -> name ("" when unnamed)
    onward: tuple[int, int] | None = None  # nothing free here: the next month with a free day


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


class ChatState(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    v: int = STATE_VERSION
    step: Step = Step.MENU
    nonce: str = ""
    flow: Flow = Flow.BOOK
    options: list[str] = Field(default_factory=list)
    location_id: str | None = None
    service_id: str | None = None
    tz: str | None = None  # the branch's timezone
    month: Month | None = None
    first_free: datetime | None = None  # the earliest free time, offered as a one-tap shortcut
    day: date | None = None
    slots: list[datetime] = Field(default_factory=list)
    page: int = 0
    hold: HeldSlot | None = None
    name: str | None = None
    email: str | None = None  # as sent to Zimun: an internationalised domain in ASCII (IDNA)
    email_shown: str | None = None  # as the customer typed it, when that differs
    typed: dict[str, int] = Field(default_factory=dict)  # "name"/"email" -> the message id
    editing: bool = False  # came from the summary's Change: return there when done
    pending: PendingConfirm | None = None
    changing: PendingChange | None = None  # a reschedule or cancel in flight
    booking_id: int | None = None  # local booking row (detail, reschedule, cancel)
    list_page: int = 0  # My bookings: the page of upcoming bookings on display
    new_start: datetime | None = None  # the reschedule target
    retry: Retry | None = None
    orphans: list[str] = Field(default_factory=list)  # holds whose release failed: retried
    attempt: str | None = None  # anonymous id of this booking attempt (funnel statistics)
    remember_email: bool = False  # the customer ticked "remember my email" on the summary
    # The language last used with this chat: a reply made outside an update (a confirm resumed
    # after a crash) has no Telegram language_code to go by.
    lang: str | None = None
    # A detour (help, language, privacy, My bookings) leaves the flow in progress as it is:
    # `resume` is the step to come back to, `resume_nonce` that step's screen code (so its
    # buttons still on screen keep working). A reschedule started from My bookings while a
    # booking is in progress parks that booking (`parked`, a dumped ChatState) until it ends.
    resume: Step | None = None
    resume_nonce: str | None = None
    parked: str | None = None
    # The waiting list (bot/chat/waitlist.py): the full day on the offer screen, and the
    # entry whose freed time the customer asked to see while something else was in progress.
    waitlist_day: date | None = None
    waitlist_entry: int | None = None

    def dumps(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def loads(cls, raw: str | None) -> ChatState:
        if not raw:
            return cls()
        return cls.model_validate_json(raw)

    def clear_draft(self) -> None:
        """Forget everything in progress (the caller has released its holds)."""
        self._reset(keep={"v", "nonce", "orphans", "lang"})

    def end_move(self) -> None:
        """The reschedule is over: forget it, and bring back the booking it parked, if any."""
        parked = ChatState.loads(self.parked) if self.parked else None
        self._reset(keep={"v", "nonce", "orphans", "lang", "step", "retry", "pending", "changing"})
        if parked is not None:
            for name in DRAFT_FIELDS:
                setattr(self, name, getattr(parked, name))
            self.resume = parked.resume or parked.step
            self.resume_nonce = parked.resume_nonce

    def park(self) -> None:
        """Set the booking in progress aside (a reschedule is about to use the screens)."""
        self.parked = self.model_copy(update={"parked": None}).dumps()
        self._reset(keep={"v", "nonce", "orphans", "lang", "step", "parked", "retry"})

    def _reset(self, keep: set[str]) -> None:
        fresh = ChatState()
        for name in type(self).model_fields:
            if name not in keep:
                setattr(self, name, getattr(fresh, name))


# What a booking in progress is made of: kept through detours, parked during a reschedule.
DRAFT_FIELDS = (
    "flow",
    "options",
    "location_id",
    "service_id",
    "tz",
    "month",
    "first_free",
    "day",
    "slots",
    "page",
    "hold",
    "name",
    "email",
    "email_shown",
    "typed",
    "editing",
    "attempt",
    "remember_email",
    "waitlist_day",
)
