"""One customer, one vocabulary, three levels.

A test drives a customer at the level it proves something about:

| level | driver | what runs |
| --- | --- | --- |
| engine | `tests.booking.driver.Chat` | `Conversation.handle`, in the test's event loop |
| Application | `tests.telegram.harness.Chat` | `build_application` polling the fake Bot API |
| process | `ProcessCustomer` (below) | `python -m bot`, a subprocess, from the test's thread |

Each speaks the words of `Customer`: `start()`, `type(text)`, `tap(label)`,
`tap_action(action, nth)`, and looks with `reads()`, `labels()` and `can(action)`. The engine and
Application levels act with `await` (they settle before returning); the process level acts
from the test's thread and waits until the chat changed (`SyncCustomer`).

What a customer does to reach a step is written once, as moves (`to_times`, `open_booking`,
`pick_place`, `pick_day`, `pick_time`, `give_details`): a script reads what the customer sees
through `can(action)` and yields the next move; each level plays the moves in its own way
(`play`).
Moves go by what buttons do (their `Action`), never by their words, so they work in every
language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bot.core.payload import Action, decode
from tests.fakes.bot_api import WAIT, ChatMessage, FakeBotAPI

__all__ = [
    "DAY_RE",
    "TIME_RE",
    "WAIT",
    "Customer",
    "Move",
    "ProcessCustomer",
    "Sees",
    "SyncCustomer",
    "payloads",
    "play",
]

TIME_RE = re.compile(r"^\d{1,2}[:.]\d{2}")
DAY_RE = re.compile(r"^\d{1,2}$")
CALENDAR = (Action.DAY, Action.MONTH_ONWARD, Action.MONTH_NEXT)


@runtime_checkable
class Sees(Protocol):
    """What a customer sees, at any level: the newest screen and its buttons."""

    def reads(self) -> str:
        """The newest screen's text."""
        ...

    def labels(self) -> list[str]:
        """The labels of the newest keyboard, as `tap(label)` takes them."""
        ...

    def can(self, action: Action) -> int:
        """How many buttons of the newest keyboard do `action`."""
        ...


@runtime_checkable
class Customer(Sees, Protocol):
    """A customer whose actions are awaited: the engine and Application levels."""

    async def start(self) -> Any: ...

    async def type(self, text: str) -> Any: ...

    async def tap(self, label: str) -> Any: ...

    async def tap_action(self, action: Action, nth: int = 0) -> Any: ...


@runtime_checkable
class SyncCustomer(Sees, Protocol):
    """A customer of a bot in another process: each action returns once the chat changed."""

    def start(self) -> Any: ...

    def type(self, text: str) -> Any: ...

    def tap(self, label: str | Action, nth: int = 0) -> Any: ...

    def tap_action(self, action: Action, nth: int = 0) -> Any: ...


# ---- moves: what a customer does next, decided from what they see -------------------------


@dataclass(frozen=True)
class Move:
    """One thing a customer does: /start, typed text, or a tap on a button doing `action`.

    `until` names actions of which one must be on screen before the customer goes on: a bot
    in another process may answer in more than one step (the process level waits for them)."""

    start: bool = False
    text: str | None = None
    action: Action | None = None
    nth: int = 0
    until: tuple[Action, ...] = ()


Moves = Iterator[Move]


def to_times(sees: Sees, branch: int = 0, service: int = 0, day: int = 0) -> Moves:
    """From anywhere to the free times of the `day`th free day of a branch's service."""
    yield from open_booking()
    yield from pick_place(branch, service)
    yield from pick_day(sees, day)


def open_booking() -> Moves:
    """From anywhere to the list of branches."""
    yield Move(start=True, until=(Action.BOOK,))
    yield Move(action=Action.BOOK, until=(Action.PICK,))


def pick_place(branch: int = 0, service: int = 0) -> Moves:
    """From the list of branches to the calendar of the `branch`th branch's `service`th service."""
    yield Move(action=Action.PICK, nth=branch, until=(Action.PICK,))
    yield Move(action=Action.PICK, nth=service, until=CALENDAR)


def pick_day(sees: Sees, nth: int = 0) -> Moves:
    """The nth free day, wherever it is: this month or, as a customer would, a later one (the
    calendar's way on, else its next-month arrow)."""
    for _ in range(6):
        days = sees.can(Action.DAY)
        if days > nth:
            yield Move(action=Action.DAY, nth=nth, until=(Action.TIME,))
            return
        nth -= days
        onward = Action.MONTH_ONWARD if sees.can(Action.MONTH_ONWARD) else Action.MONTH_NEXT
        assert sees.can(onward), f"no free day and no way on: {sees.reads()} {sees.labels()}"
        yield Move(action=onward, until=CALENDAR)
    raise AssertionError(f"no free day within six months: {sees.reads()} {sees.labels()}")


def pick_time(nth: int = 0) -> Moves:
    """The nth free time: the bot asks for a name next."""
    yield Move(action=Action.TIME, nth=nth, until=(Action.USE_NAME,))


def give_details(name: str = "Ana García", email: str = "ana@example.com") -> Moves:
    """A name and an email, typed: the summary with its Confirm follows."""
    yield Move(text=name)
    yield Move(text=email, until=(Action.CONFIRM,))


async def play(customer: Customer, moves: Moves) -> None:
    """Play `moves` with an awaited customer (each action has settled when it returns)."""
    for move in moves:
        if move.start:
            await customer.start()
        elif move.text is not None:
            await customer.type(move.text)
        elif move.action is not None:
            await customer.tap_action(move.action, move.nth)


# ---- the process level ----------------------------------------------------------------------


class ProcessCustomer:
    """One private chat with a bot in another process, driven from the test's thread through
    the fake Bot API; every action waits until the chat changed (and `until`, if given)."""

    def __init__(self, fake: FakeBotAPI, chat_id: int, language: str = "en", name: str = "Ana"):
        self.fake = fake
        self.chat_id = chat_id
        self.language = language
        self.first_name = name

    # ---- what the customer sees ------------------------------------------------------------

    @property
    def messages(self) -> list[ChatMessage]:
        return self.fake.messages(self.chat_id)

    @property
    def texts(self) -> list[str]:
        return self.fake.texts(self.chat_id)

    @property
    def keyboard(self) -> ChatMessage:
        message = self.fake.latest_keyboard(self.chat_id)
        assert message is not None, self.fake.describe()
        return message

    def reads(self) -> str:
        latest = self.fake.latest(self.chat_id)
        return (latest.text or latest.caption or "") if latest else ""

    def labels(self) -> list[str]:
        message = self.fake.latest_keyboard(self.chat_id)
        return message.labels if message else []

    def buttons(self, action: Action) -> list[str]:
        """The payloads of the newest keyboard's buttons doing `action`."""
        message = self.fake.latest_keyboard(self.chat_id)
        return payloads(message, action) if message else []

    def can(self, action: Action) -> int:
        return len(self.buttons(action))

    def shows(self, *actions: Action) -> bool:
        """Any of `actions` is on the newest keyboard."""
        return any(self.buttons(action) for action in actions)

    @property
    def documents(self) -> int:
        return len(self.fake.documents(self.chat_id))

    def _snapshot(self) -> tuple[Any, ...]:
        return tuple((m.message_id, m.edits) for m in self.messages)

    # ---- acting ------------------------------------------------------------------------------

    def _user(self) -> dict[str, Any]:
        return {"language_code": self.language, "first_name": self.first_name}

    def act(
        self, do: Callable[[], int], until: Callable[[], object] | None = None, within: float = WAIT
    ) -> int:
        """Do something, then wait until the chat changed and `until` (if given) holds."""
        before = self._snapshot()
        update_id = do()
        self.fake.wait_for_sync(
            lambda: self._snapshot() != before and (until is None or until()), within
        )
        return update_id

    def send(self, text: str, until: Callable[[], object] | None = None) -> int:
        return self.act(
            lambda: self.fake.user_sends_text(self.chat_id, text, **self._user()), until
        )

    def type(self, text: str, until: Callable[[], object] | None = None) -> int:
        return self.send(text, until)

    def command(self, name: str, until: Callable[[], object] | None = None) -> int:
        return self.act(
            lambda: self.fake.user_sends_command(self.chat_id, name, **self._user()), until
        )

    def start(self, until: Callable[[], object] | None = None) -> int:
        return self.command("start", until)

    def tap_data(
        self,
        data: str,
        message_id: int | None = None,
        until: Callable[[], object] | None = None,
    ) -> int:
        target = message_id if message_id is not None else self.keyboard.message_id
        return self.act(
            lambda: self.fake.user_taps(self.chat_id, target, data, **self._user()), until
        )

    def tap(
        self, label: str | Action, nth: int = 0, until: Callable[[], object] | None = None
    ) -> int:
        """Tap the nth button doing `label` (an Action), or whose label contains `label`."""
        if isinstance(label, Action):
            return self.tap_action(label, nth, until)
        choices = [data for row in self.keyboard.buttons for text, data in row if label in text]
        assert len(choices) > nth, f"no button {label!r} #{nth}:\n{self.fake.describe()}"
        return self.tap_data(choices[nth], until=until)

    def tap_action(
        self, action: Action, nth: int = 0, until: Callable[[], object] | None = None
    ) -> int:
        choices = self.buttons(action)
        assert choices, f"no {action.name} button:\n{self.fake.describe()}"
        return self.tap_data(choices[nth % len(choices)], until=until)

    def tap_answered(self, data: str, message_id: int | None = None) -> dict[str, Any]:
        """Tap and wait for the callback query's answer (the toast every tap gets), whether or
        not the screen changes."""
        target = message_id if message_id is not None else self.keyboard.message_id
        update_id = self.fake.user_taps(self.chat_id, target, data, **self._user())
        return self.fake.wait_for_sync(lambda: self.fake.answer_to(update_id), WAIT)

    def play(self, moves: Moves) -> None:
        """Play `moves`; a move that names what comes next waits for it to show."""
        for move in moves:
            until = (lambda m=move: self.shows(*m.until)) if move.until else None
            if move.start:
                self.start(until)
            elif move.text is not None:
                self.type(move.text, until)
            elif move.action is not None:
                self.tap_action(move.action, move.nth, until)

    # ---- the booking path, by what buttons do (any language) ---------------------------------

    def to_times(self, branch: int = 0, service: int = 0, day: int = 0) -> None:
        self.play(to_times(self, branch, service, day))

    def pick_day(self, nth: int = 0) -> None:
        self.play(pick_day(self, nth))

    def pick_time(self, nth: int = 0) -> None:
        self.play(pick_time(nth))

    def give_details(self, name: str = "Ana García", email: str = "ana@example.com") -> None:
        self.play(give_details(name, email))

    def confirm(self) -> None:
        """Confirm, and wait for the calendar file that ends a booking."""
        documents = self.documents
        self.tap_action(Action.CONFIRM, until=lambda: self.documents > documents)

    def finish(self, name: str = "Ana García", email: str = "ana@example.com") -> None:
        """From the day's times: the first time, the details, Confirm."""
        self.pick_time()
        self.give_details(name, email)
        self.confirm()

    def book(self, name: str = "Ana García", email: str = "ana@example.com", **where: int) -> None:
        self.to_times(**where)
        self.finish(name, email)


def payloads(message: ChatMessage, action: Action) -> list[str]:
    """The callback data of `message`'s buttons doing `action`, in keyboard order."""
    return [
        data
        for row in message.buttons
        for _, data in row
        if (payload := decode(data)) is not None and payload.action == action
    ]
