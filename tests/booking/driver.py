"""Drive a Conversation like a customer: send commands and text, tap buttons by what they say
(the engine level of tests/customers.py: a `Customer`).

    chat = Chat(engine, customer)
    await chat.command("book")
    await chat.tap("Madrid – Chamberí")        # a Verbatim label, or the msgid of a Msg label
    await chat.tap_action(Action.DAY)           # the first button with that action
    assert chat.shows("Please check the details:")

Every reply is rendered in its language with the real localizer, so a test also proves that
each screen renders; msgids looked up without a translation are collected in `chat.missing`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from babel.messages.pofile import read_po

from bot.chat.engine import Conversation
from bot.core.events import Command, Customer, Event, Tap, Text
from bot.core.payload import Action, decode
from bot.core.screens import Button, Msg, Reply, Screen, Verbatim
from bot.i18n.catalog import LOCALES_DIR
from bot.i18n.localizer import Localizer, translations


@functools.cache
def extracted_msgids() -> frozenset[str]:
    """The msgids of locales/bot.pot: those the translators have been given."""
    with open(LOCALES_DIR / "bot.pot", "rb") as handle:
        return frozenset(str(m.id) for m in read_po(handle) if m.id)


class Chat:
    def __init__(self, engine: Conversation, customer: Customer) -> None:
        self.engine = engine
        self.customer = customer
        self.replies: list[Reply] = []
        self.screen: Screen | None = None
        self.missing: set[tuple[str, str]] = set()  # (language, msgid)
        self.rendered: list[str] = []  # the last reply, as text

    # ---- sending ------------------------------------------------------------------------

    async def send(self, event: Event, seed: str | None = None) -> Reply:
        """`seed`: the update's, as the Telegram adapter passes it (bot.core.draws)."""
        reply = await self.engine.handle(self.customer, event, seed=seed)
        self.replies.append(reply)
        self.rendered = self.render(reply)
        if reply.screens:
            self.screen = reply.screens[-1]
        return reply

    async def command(self, name: str, arg: str = "") -> Reply:
        return await self.send(Command(name, arg))

    async def say(self, text: str) -> Reply:
        return await self.send(Text(text))

    async def tap_data(self, data: str) -> Reply:
        return await self.send(Tap(data))

    async def tap(self, label: str, nth: int = 0) -> Reply:
        return await self.tap_data(self.find(label, nth).data)

    async def tap_msg(self, key: str, **values: object) -> Reply:
        """Tap the button whose Msg label has this msgid and (at least) these values."""
        for button in self.buttons:
            label = button.label
            if (
                isinstance(label, Msg)
                and label.key == key
                and all(label.values.get(k) == v for k, v in values.items())
            ):
                return await self.tap_data(button.data)
        raise AssertionError(f"no button {key!r} {values} on screen: {self.describe()}")

    async def start(self) -> Reply:
        return await self.command("start")

    async def type(self, text: str) -> Reply:
        return await self.say(text)

    async def tap_action(self, action: Action, nth: int = 0) -> Reply:
        matches = [b for b in self.buttons if (p := decode(b.data)) and p.action == action]
        assert len(matches) > nth, f"no button {action!r} #{nth} on screen: {self.describe()}"
        return await self.tap_data(matches[nth].data)

    # ---- looking --------------------------------------------------------------------------

    @property
    def reply(self) -> Reply:
        return self.replies[-1]

    @property
    def buttons(self) -> list[Button]:
        return [b for row in (self.screen.buttons if self.screen else ()) for b in row]

    def find(self, label: str, nth: int = 0) -> Button:
        matches = [b for b in self.buttons if _label_key(b) == label]
        assert len(matches) > nth, f"no button {label!r} on screen: {self.describe()}"
        return matches[nth]

    def has_button(self, label: str) -> bool:
        return any(_label_key(b) == label for b in self.buttons)

    def actions(self, action: Action) -> list[Button]:
        return [b for b in self.buttons if (p := decode(b.data)) and p.action == action]

    def can(self, action: Action) -> int:
        return len(self.actions(action))

    def labels(self) -> list[str]:
        """The newest screen's button labels: Verbatim texts and msgids, as `tap` takes them."""
        return [_label_key(b) for b in self.buttons]

    def reads(self) -> str:
        """The last reply, rendered in its language."""
        return "\n".join(self.rendered)

    @property
    def keys(self) -> list[str]:
        return [line.key for line in (self.screen.body if self.screen else ())]

    def shows(self, msgid: str) -> bool:
        """The last reply's screens, or its toast, contain this msgid (also nested)."""
        if not self.replies:
            return False
        reply = self.reply
        lines = [line for s in reply.screens for line in s.body]
        if reply.toast is not None:
            lines.append(reply.toast)
        return any(msgid in set(_keys(line)) for line in lines)

    def describe(self) -> str:
        return " | ".join(self.rendered) + " || " + ", ".join(_label_key(b) for b in self.buttons)

    # ---- rendering ------------------------------------------------------------------------

    def render(self, reply: Reply) -> list[str]:
        localizer = Localizer(reply.language, translations(reply.language))
        texts = [localizer.render_body(screen, "html") for screen in reply.screens]
        for screen in reply.screens:
            for row in screen.buttons:
                for button in row:
                    assert len(button.data.encode()) <= 64, button.data
                    texts.append(localizer.render(button.label, "plain"))
        if reply.toast is not None:
            texts.append(localizer.render(reply.toast))
        assert not localizer.broken, f"templates that cannot be filled: {localizer.broken}"
        self.missing |= {(reply.language, m) for m in localizer.missing}
        return texts

    def untranslated(self) -> set[tuple[str, str]]:
        """Missing translations of extracted msgids (a new msgid waits for `make locales`)."""
        known = extracted_msgids()
        return {(lang, m) for lang, m in self.missing if m in known}


def _keys(value: object) -> Iterator[str]:
    if isinstance(value, Msg):
        yield value.key
        for inner in value.values.values():
            yield from _keys(inner)


def _label_key(button: Button) -> str:
    label = button.label
    if isinstance(label, Msg):
        return label.key
    if isinstance(label, Verbatim):
        return label.text
    return repr(label)
