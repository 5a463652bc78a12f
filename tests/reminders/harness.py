"""The real bot (tests/telegram/harness.py) with what issue 6 adds: reminder offsets, a staff
chat, a manual reminder scan, and a look at every table.

The JobQueue's own scan is off by default (`reminder_interval=None`) so a test decides when a
scan runs, after moving the sandbox clock: time is simulated, never waited. Tests that check
the JobQueue itself turn it back on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram.ext import Application

from bot.booking.engine import Conversation
from bot.booking.payload import Action, decode
from bot.reminders import DEFAULT_OFFSETS, ScanResult
from bot.storage import Storage
from bot.telegram.app import build_application, polling
from bot.telegram.jobs import scan_reminders
from bot.zimun.client import ZimunClient
from tests.fakes.bot_api import ChatMessage
from tests.telegram.harness import RunningBot

# Monday 23 November 2026, 07:00 in Madrid: the calendar offers the 23rd, 24th, 25th, ...
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
NO_JOBS: dict[str, Any] = {"reminder_interval": None, "housekeeping_interval": None}

# Every table that may hold something about a customer, and the column that says whose.
CUSTOMER_TABLES = {
    "users": "user_id",
    "bookings": "user_id",
    "reminders": "user_id",
    "conversations": "chat_id",
}


@dataclass
class OpsBot(RunningBot):
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS
    conversation: Conversation | None = None

    async def start(self) -> None:
        storage = Storage(self.settings.BOT_DB_PATH)
        client = ZimunClient.from_settings(self.settings)
        conversation = Conversation(
            client,
            storage,
            default_language=self.settings.BOT_DEFAULT_LANGUAGE,
            now=self.sandbox.clock.now,
            reminder_offsets=self.offsets,
        )

        async def close(_app: Application) -> None:
            await client.aclose()
            storage.close()

        self.storage, self.conversation = storage, conversation
        self.app = build_application(
            self.settings, conversation, on_shutdown=(close,), **self.build_options
        )
        self._polling = polling(self.app, long_poll=2)
        await self._polling.__aenter__()

    async def scan(self) -> ScanResult:
        assert self.app is not None
        return await scan_reminders(self.app)

    @property
    def db(self) -> Storage:
        assert self.storage is not None
        return self.storage

    def reminders_in(self, chat_id: int) -> list[ChatMessage]:
        """The reminder messages of a chat: those with an "I'll be there" (Keep) button."""
        return [m for m in self.fake.messages(chat_id) if _has_action(m, Action.KEEP)]

    def rows_of(self, chat_id: int) -> dict[str, int]:
        """How many rows each customer table holds for this private chat (user id = chat id)."""
        counts = {}
        for table, column in CUSTOMER_TABLES.items():
            sql = f"SELECT count(*) FROM {table} WHERE {column} = ?"
            counts[table] = self.db.db.execute(sql, (chat_id,)).fetchone()[0]
        return counts


def _has_action(message: ChatMessage, action: Action) -> bool:
    for row in message.buttons:
        for _, data in row:
            payload = decode(data)
            if payload is not None and payload.action == action:
                return True
    return False
