"""What the conversation shows, as data: the adapters (Telegram, terminal) decide how it looks.

A screen never holds finished text. It holds message keys (gettext msgids, English source text
with `{placeholders}`) and typed values, so each adapter renders it in the customer's language
with Babel, escaping user text for its own markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Literal

# ---- values that the renderer formats for the customer's locale --------------------------------


@dataclass(frozen=True)
class DateValue:
    """A calendar day; `style` is a Babel date format name ("full", "long", "medium", "short").

    `this_year`: the year it is now on the branch's clock. A "full" or "long" date in that year
    leaves the year out, as people write it ("Wednesday, 9 December"); None always shows it.
    """

    value: date
    style: str = "full"
    this_year: int | None = None


@dataclass(frozen=True)
class TimeValue:
    """A wall-clock time of an aware datetime, shown in `tz` (the branch's timezone).
    `zone`: name the zone in the hour a daylight-saving switch repeats ("02:30 CET")."""

    value: datetime
    tz: str
    style: str = "short"
    zone: bool = True


@dataclass(frozen=True)
class DateTimeValue:
    """A moment shown as date and time in `tz` (the branch's timezone); `this_year` as for
    `DateValue`."""

    value: datetime
    tz: str
    style: str = "full"
    this_year: int | None = None


@dataclass(frozen=True)
class MonthValue:
    """A month title ("November 2026"), in the locale's standalone month form; `short` for a
    narrow place such as the calendar's header, a third of a keyboard row ("Sept 2026")."""

    year: int
    month: int
    short: bool = False


@dataclass(frozen=True)
class WeekdayValue:
    """A weekday name; 0 is Monday, as in `date.weekday()`."""

    weekday: int
    width: Literal["abbreviated", "narrow", "short", "wide"] = "short"


@dataclass(frozen=True)
class DurationValue:
    minutes: int


@dataclass(frozen=True)
class ZoneValue:
    """A time zone named for the customer ("Madrid time", "hora de Ciudad de México"): the CLDR
    name of the zone's city in the customer's language, or for a fixed offset or UTC the
    localised offset ("GMT+01:00"). `tz` is the branch's timezone as stored."""

    tz: str


@dataclass(frozen=True)
class LanguageName:
    """A language's name in that language itself ("Deutsch", "Español")."""

    code: str


@dataclass(frozen=True)
class Msg:
    """A translatable message: `key` is the gettext msgid, `values` fill its placeholders.

    Plain `str` values are user or API text: never translated, always escaped by the adapter.
    A `Msg` value is rendered (translated) first and then inserted.
    """

    key: str
    values: Mapping[str, Value] = field(default_factory=lambda: MappingProxyType({}))

    def __init__(self, key: str, /, **values: Value):
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "values", MappingProxyType(dict(values)))

    def __hash__(self) -> int:
        return hash((self.key, tuple(sorted(self.values.items(), key=lambda kv: kv[0]))))


@dataclass(frozen=True, init=False)
class Plural(Msg):
    """A message that shows a number with a noun: the English singular (`key`, the msgid) and
    plural (`plural`, the msgid_plural), and `count`, which picks the form by the language's
    plural rules (Babel's) and fills `{count}`.

        Plural("{count} day", "{count} days", count=n)

    `make locales` extracts both forms (keyword `Plural:1,2`); each catalog holds as many forms
    as its language's rules have (Spanish and Italian three: one, many, other).
    """

    plural: str = ""

    def __init__(self, one: str, other: str, /, *, count: int, **values: Value):
        super().__init__(one, count=count, **values)
        object.__setattr__(self, "plural", other)

    @property
    def count(self) -> int:
        value = self.values["count"]
        return value if isinstance(value, int) else 0

    def __hash__(self) -> int:
        return hash((super().__hash__(), self.plural))


@dataclass(frozen=True)
class Verbatim:
    """Text shown as it is (a service name, a number): not translated, escaped by the adapter."""

    text: str


Value = (
    str
    | int
    | DateValue
    | TimeValue
    | DateTimeValue
    | MonthValue
    | WeekdayValue
    | DurationValue
    | ZoneValue
    | LanguageName
    | Msg
)
Label = Msg | Verbatim | MonthValue | WeekdayValue | DateValue | TimeValue | LanguageName


# ---- screens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """An inline button. `data` is an opaque payload (at most 64 bytes) the engine produced.

    `web_app`: instead of a payload, the address of the operator's booking page (Telegram's
    Mini App), which Telegram opens inside the chat; `data` is then empty. Only the chat shows
    such a button: the page itself and the terminal have no use for it."""

    label: Label
    data: str
    web_app: str | None = None
    # A calendar day's button: how that day stands ("free", "full", "soon", "closed",
    # "holiday", "past", "beyond", "unknown"), so a page can grey closed and full days
    # without reading the label; None for every other button.
    day: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with the screen, e.g. the booking as an .ics calendar file."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Screen:
    """One message to show.

    `body` is rendered line by line (joined with newlines). `edit` asks the adapter to replace
    the message the tapped button belongs to rather than send a new one (menu navigation edits in
    place; confirmations and notices are new messages).
    """

    body: tuple[Msg, ...]
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = True
    attachment: Attachment | None = None
    # What the screen asks the customer to type ("name", "email"), or None: the chat waits for
    # a message either way, while a page draws a labelled field of the right kind for it.
    asks: Literal["name", "email"] | None = None
    # What the bot already knows for that answer (the Telegram name, a remembered email), for
    # a page to prefill its field with; the chat offers it as a "Use …" button instead.
    known: str | None = None


@dataclass(frozen=True)
class Reply:
    """All the engine answers to one event, and the language to render it in.

    `toast` is a short notice for the adapter to show transiently (Telegram: the answer to the
    callback query), e.g. "That button is no longer valid".
    """

    language: str
    screens: tuple[Screen, ...] = ()
    toast: Msg | None = None
    # The tapped message stays exactly as it was, buttons included: a notice or reminder the
    # bot sent on its own, whose way on opens below it (otherwise the buttons a new message
    # answers are retired).
    keep_tapped: bool = False
