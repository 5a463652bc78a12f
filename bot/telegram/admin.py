"""The staff chat (ADMIN_CHAT_ID): booking notices, /stats, and its own command menu.

The chat may be a private chat with the owner or a staff group. /stats is answered there only:
its handler runs before the customers' handlers and matches that chat alone, so anywhere else
/stats reaches the conversation, which treats it as any unknown command.

Notices are queued as tasks when a booking change is committed (the customer's reply never
waits for them; a change the customer made is committed once their reply is sent, so the staff
hear of it after the customer) and awaited at shutdown, before the storage closes. New
appointments one account makes in a burst are told once (bot.ops.staff.Bursts): the first at
once, the rest in one line when the burst's window ends, or at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from telegram import Bot, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.core.changes import BookingChange
from bot.core.languages import SUPPORTED_LANGUAGES, pick_language
from bot.core.screens import Msg, Reply, Screen
from bot.ops.staff import Bursts, burst_notice, notice, stats_screen
from bot.ops.stats import load_stats
from bot.store.contract import Store
from bot.store.sqlite_async import as_store
from bot.store.storage import Storage
from bot.telegram.accesslog import UpdateLog
from bot.telegram.commands import COMMANDS, set_menu
from bot.telegram.delivery import deliver

log = logging.getLogger(__name__)

ADMIN_COMMANDS: tuple[tuple[str, Msg], ...] = (("stats", Msg("Booking statistics")),)


class AdminChat:
    def __init__(
        self,
        chat_id: int,
        storage: Store | Storage,
        *,
        default_language: str,
        now: Callable[[], datetime],
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
    ) -> None:
        self.chat_id = chat_id
        self.storage = as_store(storage)
        self.default_language = default_language
        self.languages = tuple(languages)  # offered (BOT_LANGUAGES): the customers' rule holds
        self.now = now
        self._bot: Bot | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closers: dict[int, asyncio.Task[None]] = {}  # customer -> end of their burst
        self.bursts = Bursts()
        self.update_log = UpdateLog()

    async def language(self) -> str:
        """The language the staff chose with /language in a private admin chat if still
        offered, else the bot's default (the one rule: bot.core.languages.pick_language)."""
        try:
            stored = await self.storage.get_language(self.chat_id)
        except Exception:
            stored = None
        return pick_language(stored, offered=self.languages, default=self.default_language)

    # ---- notices ---------------------------------------------------------------------------

    def attach(self, bot: Bot) -> None:
        self._bot = bot

    def on_change(self, change: BookingChange) -> None:
        """A ledger listener: queue the notice (or hold it for its burst), never wait for it."""
        if self._bot is None:
            return
        if self.bursts.admit(change, self.now()):
            self._queue(notice(change))
        elif change.user_id is not None and change.user_id not in self._closers:
            closer = asyncio.get_running_loop().create_task(self._close_later(change.user_id))
            self._closers[change.user_id] = closer

    def _queue(self, screen: Screen) -> None:
        if self._bot is None:
            return
        task = asyncio.get_running_loop().create_task(self._send(self._bot, screen))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_later(self, user_id: int) -> None:
        """Tell the customer's burst in one line when its window ends."""
        wait = (self.bursts.closes_at(user_id) - self.now()).total_seconds()
        await asyncio.sleep(max(0.0, wait))
        self._closers.pop(user_id, None)
        self._tell_burst(user_id)

    def _tell_burst(self, user_id: int) -> None:
        held = self.bursts.close(user_id)
        if held:
            self._queue(burst_notice(held, self.bursts.window))

    async def _send(self, bot: Bot, screen: Screen) -> None:
        try:
            await deliver(bot, self.chat_id, Reply(await self.language(), screens=(screen,)))
        except TelegramError as exc:
            log.warning("staff chat notice not delivered: %s", type(exc).__name__)

    async def drain(self) -> None:
        """Tell the bursts still open and wait for the notices on their way (at shutdown)."""
        for closer in self._closers.values():
            closer.cancel()
        self._closers.clear()
        for user_id in self.bursts.open_bursts():
            self._tell_burst(user_id)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- /stats ----------------------------------------------------------------------------

    def handlers(self, update_log: UpdateLog | None = None) -> list[BaseHandler]:
        if update_log is not None:
            self.update_log = update_log
        return [CommandHandler("stats", self.on_stats, filters=filters.Chat(chat_id=self.chat_id))]

    async def on_stats(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        async with self.update_log.timed("command", "stats", self.chat_id):
            screen = stats_screen(await load_stats(self.storage, self.now()))
            reply = Reply(await self.language(), screens=(screen,))
            await deliver(context.bot, self.chat_id, reply)

    # ---- the command menu in the staff chat ------------------------------------------------

    def commands(self) -> tuple[tuple[str, Msg], ...]:
        """A private chat (positive id) is also a customer's: it keeps their commands."""
        return (COMMANDS if self.chat_id > 0 else ()) + ADMIN_COMMANDS

    async def register_commands(self, bot: Bot) -> bool:
        scope = BotCommandScopeChat(self.chat_id)
        try:
            await set_menu(bot, self.commands(), scope, await self.language(), self.languages)
        except TelegramError as exc:
            log.warning("could not register the staff chat's commands: %s", type(exc).__name__)
            return False
        return True
