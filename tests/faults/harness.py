"""The bot as operators run it (`python -m bot`, a subprocess configured by environment
variables) against the fake Bot API over loopback and the sandbox, and customers who act in
their chats and wait for what the bot shows next.

Nothing here reaches into the bot process: what a test checks is what was kept outside it (the
sandbox's store, the SQLite file, the messages the fake received) and what it logged.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.payload import Action, decode
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import ChatMessage, FakeBotAPI
from tests.process import bot_env

WAIT = 40.0  # seconds: generous, a CI machine with two cores may be busy


@dataclass
class BotProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or closed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(WAIT)

    def stop(self) -> int:
        """SIGTERM, as an operator stops it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@dataclass
class Launcher:
    """Starts `python -m bot` processes for one test and stops whatever is left at the end."""

    fake: FakeBotAPI
    base_url: str
    sandbox: SandboxServer
    workdir: Path
    started: list[BotProcess] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.workdir / "bot.db"

    def env(self, **extra: str) -> dict[str, str]:
        return bot_env(self.fake, self.base_url, self.sandbox, self.db, **extra)

    def start(self, **extra: str) -> BotProcess:
        """A bot that polls: returns once python-telegram-bot has deleted the webhook (its
        first step of polling) and the resumed conversations had their answer."""
        before = len(self.fake.calls_of("deleteWebhook"))
        log_path = self.workdir / f"bot-{len(self.started) + 1}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                env=self.env(**extra),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        bot = BotProcess(process, log_path)
        self.started.append(bot)
        self.fake.wait_for_sync(
            lambda: len(self.fake.calls_of("deleteWebhook")) > before or process.poll() is not None,
            WAIT,
        )
        assert process.poll() is None, bot.log
        return bot

    def run_until_exit(self, **extra: str) -> subprocess.CompletedProcess[str]:
        """For start-up failures: the process must end by itself."""
        return subprocess.run(
            [sys.executable, "-m", "bot"],
            env=self.env(**extra),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )

    def stop_all(self) -> None:
        for bot in self.started:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait()


class Customer:
    """One private chat, driven from the test's thread; every action waits for its answer."""

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

    def buttons(self, action: Action) -> list[str]:
        message = self.fake.latest_keyboard(self.chat_id)
        if message is None:
            return []
        found = []
        for row in message.buttons:
            for _, data in row:
                payload = decode(data)
                if payload is not None and payload.action == action:
                    found.append(data)
        return found

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

    def command(self, name: str, until: Callable[[], object] | None = None) -> int:
        return self.act(
            lambda: self.fake.user_sends_command(self.chat_id, name, **self._user()), until
        )

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

    def tap(self, action: Action, nth: int = 0, until: Callable[[], object] | None = None) -> int:
        choices = self.buttons(action)
        assert choices, f"no {action.name} button:\n{self.fake.describe()}"
        return self.tap_data(choices[nth % len(choices)], until=until)

    def tap_answered(self, data: str, message_id: int | None = None) -> dict[str, Any]:
        """Tap and wait for the callback query's answer (the toast every tap gets), whether or
        not the screen changes."""
        target = message_id if message_id is not None else self.keyboard.message_id
        update_id = self.fake.user_taps(self.chat_id, target, data, **self._user())
        return self.fake.wait_for_sync(lambda: self.fake.answer_to(update_id), WAIT)

    # ---- the booking path, by what buttons do (any language) ---------------------------------

    def to_times(self, branch: int = 0, service: int = 0, day: int = 0) -> None:
        self.command("start", until=lambda: self.shows(Action.BOOK))
        self.tap(Action.BOOK)
        self.tap(Action.PICK, branch)
        self.tap(
            Action.PICK,
            service,
            until=lambda: self.shows(Action.DAY, Action.MONTH_ONWARD, Action.MONTH_NEXT),
        )
        self.pick_day(day)

    def pick_day(self, nth: int = 0) -> None:
        """The nth free day, wherever it is: this month or, as a customer would, a later one."""
        for _ in range(6):
            days = self.buttons(Action.DAY)
            if len(days) > nth:
                self.tap_data(days[nth], until=lambda: self.shows(Action.TIME))
                return
            nth -= len(days)
            onward = self.buttons(Action.MONTH_ONWARD) or self.buttons(Action.MONTH_NEXT)
            assert onward, f"no free day and no way on:\n{self.fake.describe()}"
            self.tap_data(onward[0])
        raise AssertionError(f"no free day within six months:\n{self.fake.describe()}")

    def pick_time(self, nth: int = 0) -> None:
        self.tap(Action.TIME, nth, until=lambda: self.shows(Action.USE_NAME))

    def give_details(self, name: str = "Ana García", email: str = "ana@example.com") -> None:
        self.send(name)
        self.send(email, until=lambda: self.shows(Action.CONFIRM))

    def confirm(self) -> None:
        documents = self.documents
        self.tap(Action.CONFIRM, until=lambda: self.documents > documents)

    def book(self, name: str = "Ana García", email: str = "ana@example.com", **where: int) -> None:
        self.to_times(**where)
        self.pick_time()
        self.give_details(name, email)
        self.confirm()


# ---- the SQLite file, read as a third party would -----------------------------------------


def read_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows from the bot's database, opened read-only (the bot may still be running)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cursor = connection.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_until(predicate: Callable[[], object], within: float = WAIT) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)
