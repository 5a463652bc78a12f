"""The real bot (tests/telegram/harness.py) with what issues 6 and 12 add: reminder offsets, a
staff chat, manual reminder, reconcile and waiting-list scans, and a look at every table.

The JobQueue's own scans are off by default (`reminder_interval=None`, `reconcile_interval=None`,
`waitlist_interval=None`)
so a test decides when a scan runs, after moving the sandbox clock: time is simulated, never
waited. Tests that check the JobQueue itself turn them back on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.ext import Application

from bot.chat.engine import Conversation
from bot.config.operator import load_operator
from bot.core.payload import Action, decode
from bot.followup.ledger import DEFAULT_OFFSETS
from bot.followup.reconcile import CheckResult
from bot.followup.reminders import ScanResult
from bot.followup.waitlist_watch import LookResult, WaitlistWatch
from bot.store.storage import Storage
from bot.telegram.app import polling
from bot.telegram.scheduler import (
    SCHEDULER_KEY,
    Scheduler,
    reconcile_now,
    scan_reminders,
    watch_now,
)
from bot.wiring import build_application
from bot.zimun.client import ZimunClient
from tests.fakes.bot_api import ChatMessage
from tests.telegram.harness import RunningBot

NO_JOBS: dict[str, Any] = {
    "reminder_interval": None,
    "reconcile_interval": None,
    "housekeeping_interval": None,
    "waitlist_interval": None,
}

# Every table that may hold something about a customer, and the column that says whose.
CUSTOMER_TABLES = {
    "users": "user_id",
    "bookings": "user_id",
    "reminders": "user_id",
    "notices": "user_id",
    "conversations": "chat_id",
    "waitlist": "user_id",
}


@dataclass
class OpsBot(RunningBot):
    offsets: tuple[timedelta, ...] = DEFAULT_OFFSETS
    conversation: Conversation | None = None

    async def start(self) -> None:
        storage = Storage(self.settings.BOT_DB_PATH, now=self.sandbox.clock.now)
        client = ZimunClient.from_settings(self.settings)
        operator = load_operator(self.settings)  # the rules and words the settings name
        conversation = Conversation(
            client,
            storage,
            default_language=self.settings.BOT_DEFAULT_LANGUAGE,
            now=self.sandbox.clock.now,
            reminder_offsets=self.offsets,
            rules=operator.rules,
            business=operator.business,
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

    async def reconcile(self) -> CheckResult:
        """One reconcile scan and the notices it queued, as the JobQueue runs them (and the
        notices the ledger's listener started sending meanwhile)."""
        assert self.app is not None
        result = await reconcile_now(self.app)
        await self.scheduler.idle()
        return result

    async def watch(self) -> LookResult:
        """One waiting-list look and the telling, as the JobQueue runs them."""
        assert self.app is not None
        return await watch_now(self.app)

    async def told_at_start(self) -> None:
        """Wait until the start-up has told the waiting customers chosen before the stop."""
        await self.scheduler.idle()

    @property
    def scheduler(self) -> Scheduler:
        assert self.app is not None
        scheduler: Scheduler = self.app.bot_data[SCHEDULER_KEY]
        return scheduler

    @property
    def waitlist(self) -> WaitlistWatch:
        return self.scheduler.followup.watch

    @property
    def db(self) -> Storage:
        assert self.storage is not None
        return self.storage

    def reminders_in(self, chat_id: int) -> list[ChatMessage]:
        """The reminder messages of a chat: an "I'll be there" (Keep) button under a ⏰."""
        return [m for m in self.fake.messages(chat_id) if _is_reminder(m)]

    def notices_in(self, chat_id: int) -> list[ChatMessage]:
        """The notices of changes made at the business: "Book again" (cancelled), or "Keep the
        new time" (moved) on a message that is not a reminder."""
        return [
            m
            for m in self.fake.messages(chat_id)
            if _has_action(m, Action.BOOK_AGAIN)
            or (_has_action(m, Action.KEEP) and not _is_reminder(m))
        ]

    def rows_of(self, chat_id: int) -> dict[str, int]:
        """How many rows each customer table holds for this private chat (user id = chat id)."""
        counts = {}
        for table, column in CUSTOMER_TABLES.items():
            sql = f"SELECT count(*) FROM {table} WHERE {column} = ?"
            counts[table] = self.db.db.execute(sql, (chat_id,)).fetchone()[0]
        return counts


def _is_reminder(message: ChatMessage) -> bool:
    return _has_action(message, Action.KEEP) and (message.text or "").startswith("⏰")


def _has_action(message: ChatMessage, action: Action) -> bool:
    for row in message.buttons:
        for _, data in row:
            payload = decode(data)
            if payload is not None and payload.action == action:
                return True
    return False
