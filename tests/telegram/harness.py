"""Drive the real bot like customers would: the production Application from `build_application`,
polling the fake Bot API over loopback, talking to the sandbox over loopback.

`RunningBot` owns one bot "process" (storage, Zimun client, conversation, Application) and can
be stopped and started again over the same database. `Chat` is one customer: it sends text,
commands and taps, and waits until the bot has finished handling every update so far, so tests
read the chat afterwards without sleeping or guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.chat.engine import Conversation
from bot.config.settings import Settings
from bot.core.payload import Action
from bot.core.screens import Msg
from bot.core.state import ChatState
from bot.i18n import localizer
from bot.store.storage import Storage
from bot.telegram.app import polling
from bot.telegram.ordering import PerChatOrdering
from bot.wiring import build_application
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests import customers as moves
from tests.customers import DAY_RE, TIME_RE, payloads, play
from tests.fakes.bot_api import WAIT, ChatMessage, FakeBotAPI

__all__ = ["DAY_RE", "TIME_RE", "Chat", "RunningBot", "bot_settings"]


def bot_settings(fake: FakeBotAPI, base_url: str, sandbox: SandboxServer, db: Path) -> Settings:
    return Settings(
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=base_url,
        ZIMUN_CLIENT_ID=sandbox.client_id,
        ZIMUN_CLIENT_SECRET=sandbox.client_secret,
        ZIMUN_BASE_URL=sandbox.base_url,
        ZIMUN_TOKEN_URL=sandbox.token_url,
        BOT_DB_PATH=str(db),
        BOT_DEFAULT_LANGUAGE="en",
    )


@dataclass
class RunningBot:
    fake: FakeBotAPI
    settings: Settings
    sandbox: SandboxServer
    build_options: dict[str, Any] = field(default_factory=dict)
    app: Application | None = None
    storage: Storage | None = None
    _finished_before: int = 0
    _polling: Any = None

    async def start(self) -> None:
        storage = Storage(self.settings.BOT_DB_PATH, now=self.sandbox.clock.now)
        client = ZimunClient.from_settings(self.settings)
        conversation = Conversation(
            client, storage, default_language="en", now=self.sandbox.clock.now
        )

        async def close(_app: Application) -> None:
            await client.aclose()
            storage.close()

        self.storage = storage
        self.app = build_application(
            self.settings, conversation, on_shutdown=(close,), **self.build_options
        )
        self._polling = polling(self.app, long_poll=2)
        await self._polling.__aenter__()

    async def stop(self) -> None:
        if self._polling is None:
            return
        await self._polling.__aexit__(None, None, None)
        self._finished_before += self.processor.finished
        self._polling = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def processor(self) -> PerChatOrdering:
        assert self.app is not None
        processor = self.app.update_processor
        assert isinstance(processor, PerChatOrdering)
        return processor

    @property
    def processed(self) -> int:
        """Updates fully handled by every Application this bot has run."""
        return self._finished_before + (self.processor.finished if self._polling else 0)

    def state(self, chat_id: int) -> ChatState:
        """The conversation state the bot saved for a chat."""
        assert self.storage is not None
        row = self.storage.load_conversation(chat_id)
        assert row is not None, f"no conversation saved for chat {chat_id}"
        return ChatState.loads(row.state)

    async def settle(self, within: float = WAIT) -> None:
        """Wait until every update injected so far has been handled (replies sent)."""
        await self.fake.wait_for(lambda: self.processed >= self.fake.last_update_id, within)


@dataclass
class Chat:
    """One customer in a private chat (chat id = user id): the Application level of
    tests/customers.py (a `Customer`)."""

    bot: RunningBot
    chat_id: int
    language: str | None = "en"
    first_name: str = "Ana"

    @property
    def fake(self) -> FakeBotAPI:
        return self.bot.fake

    def _user(self) -> dict[str, Any]:
        return {"language_code": self.language, "first_name": self.first_name}

    async def send(self, text: str) -> ChatMessage | None:
        self.fake.user_sends_text(self.chat_id, text, **self._user())
        await self.bot.settle()
        return self.latest

    async def command(self, name: str, arg: str = "") -> ChatMessage | None:
        self.fake.user_sends_command(self.chat_id, name, arg, **self._user())
        await self.bot.settle()
        return self.latest

    async def start(self) -> ChatMessage | None:
        return await self.command("start")

    async def type(self, text: str) -> ChatMessage | None:
        return await self.send(text)

    def reads(self) -> str:
        latest = self.latest
        return (latest.text or latest.caption or "") if latest else ""

    def labels(self) -> list[str]:
        message = self.fake.latest_keyboard(self.chat_id)
        return message.labels if message else []

    def can(self, action: Action) -> int:
        message = self.fake.latest_keyboard(self.chat_id)
        return len(payloads(message, action)) if message else 0

    async def tap(self, label: str) -> ChatMessage | None:
        """Tap the button whose label contains `label` on the newest keyboard."""
        self.fake.tap_button(self.chat_id, label, **self._user())
        await self.bot.settle()
        return self.latest

    async def tap_where(
        self, matches: Callable[[str], bool], nth: int = 0, settle: bool = True
    ) -> str:
        """Tap the nth button of the newest keyboard whose label satisfies `matches`;
        returns its label."""
        message = self.keyboard
        choices = [
            (label, data) for row in message.buttons for label, data in row if matches(label)
        ]
        if len(choices) <= nth:
            raise LookupError(f"no button #{nth} matching on {message.labels}\n{message.text}")
        label, data = choices[nth]
        self.fake.user_taps(self.chat_id, message.message_id, data, **self._user())
        if settle:
            await self.bot.settle()
        return label

    def actions(self, action: Action, message: ChatMessage | None = None) -> list[str]:
        """The payloads of the buttons doing `action` on `message` (the newest keyboard)."""
        return payloads(message or self.keyboard, action)

    async def tap_action(
        self, action: Action, nth: int = 0, message: ChatMessage | None = None
    ) -> ChatMessage | None:
        """Tap the nth button doing `action` (any language) on `message`, else the newest
        keyboard."""
        message = message or self.keyboard
        choices = self.actions(action, message)
        if len(choices) <= nth:
            raise LookupError(f"no {action.name} #{nth} on {message.labels}\n{message.text}")
        self.fake.user_taps(self.chat_id, message.message_id, choices[nth], **self._user())
        await self.bot.settle()
        return self.latest

    async def edit(self, message: ChatMessage, text: str) -> ChatMessage | None:
        """Edit a message the customer sent earlier."""
        self.fake.user_edits_text(self.chat_id, message.message_id, text)
        await self.bot.settle()
        return self.latest

    def sent(self, text: str) -> ChatMessage:
        """The newest message the customer sent with this text."""
        mine = [m for m in self.fake.sent_by_user(self.chat_id) if m.text == text]
        assert mine, f"the customer never sent {text!r}"
        return mine[-1]

    def says(self, msg: Msg, **values: object) -> bool:
        """Some message of the chat shows `msg` as rendered in the customer's language."""
        text = localizer(self.language).render(msg, "html")
        return any(text in t for t in self.texts)

    async def tap_index(self, index: int) -> ChatMessage | None:
        self.fake.tap_index(self.chat_id, index, **self._user())
        await self.bot.settle()
        return self.latest

    @property
    def latest(self) -> ChatMessage | None:
        return self.fake.latest(self.chat_id)

    @property
    def keyboard(self) -> ChatMessage:
        message = self.fake.latest_keyboard(self.chat_id)
        assert message is not None, self.fake.describe()
        return message

    @property
    def texts(self) -> list[str]:
        return self.fake.texts(self.chat_id)

    # ---- the booking path, by shape rather than by words (works in every language) -----------

    async def open_booking(self) -> None:
        await play(self, moves.open_booking())

    async def pick_slot(self, location: int = 0, service: int = 0, day: int = 0) -> str:
        """From the branch list to a held time; returns the time's label."""
        await play(self, moves.pick_place(location, service))
        await self.pick_day(day)
        return await self.tap_where(lambda label: bool(TIME_RE.match(label)))

    async def pick_day(self, nth: int = 0) -> None:
        """Tap the nth free day, wherever it is: this month or, as a customer would, a later
        one (the calendar's way on, else its › arrow)."""
        await play(self, moves.pick_day(self, nth))

    async def give_details(self, name: str, email: str) -> None:
        await play(self, moves.give_details(name, email))

    async def book(
        self, name: str = "Ana García", email: str = "ana@example.com", **where: int
    ) -> str:
        await self.open_booking()
        label = await self.pick_slot(**where)
        await self.give_details(name, email)
        await self.tap_action(Action.CONFIRM)
        return label
