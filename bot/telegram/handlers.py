"""Telegram updates -> engine events; engine replies -> Bot API calls.

Only private chats are served: a booking conversation holds a customer's name, email and
appointments, which must not be shown to a group. Our commands in a group get one short answer
in the customer's language, with a button that opens the private chat.

Callback queries are answered exactly once. Telegram shows a spinner on the button until the
answer arrives, and the answer carries the engine's toast, so the handler waits for the engine
up to `answer_within` seconds; if the engine (that is, the Zimun API) is slower, it answers
without a toast at once and lets the screens follow.

A reply that settles a confirm, reschedule or cancel is delivered before the engine writes
what it settled (`Conversation.delivered`, called once the reply went out or failed): a
process killed in between finishes the change after the restart and tells the customer then.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from typing import TYPE_CHECKING

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.chat.engine import COMMANDS as ENGINE_COMMANDS
from bot.core.events import Command, Customer, Edited, Event, Tap, Text
from bot.core.payload import decode
from bot.core.screens import Reply
from bot.i18n import localizer
from bot.telegram.accesslog import UNKNOWN, UpdateLog
from bot.telegram.delivery import deliver
from bot.telegram.render import private_chat_pointer, render_toast

if TYPE_CHECKING:
    from bot.chat.engine import Conversation

log = logging.getLogger(__name__)

ANSWER_WITHIN = 1.0  # seconds: Telegram's client gives up on the spinner after ~15 s
_QUERY_TOO_OLD = "query is too old"


def customer_of(update: Update) -> Customer | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    chat = update.effective_chat
    return Customer(
        user_id=user.id,
        chat_id=chat.id if chat is not None else user.id,  # private chat id == user id
        first_name=user.first_name or "",
        last_name=user.last_name or "",
        language_code=user.language_code,
    )


def seed_of(update: Update, token: str) -> str:
    """The seed of an update's draws (bot.core.draws): the same for each delivery of it, to
    any process of the bot; keyed with the bot's token, so that nobody outside can tell the
    button codes it gives from the update's number."""
    return hmac.new(token.encode(), str(update.update_id).encode(), "sha256").hexdigest()


def parse_command(text: str, bot_username: str | None) -> Command | None:
    """ "/start@MyBot abc" -> Command("start", "abc"); None if addressed to another bot."""
    head, _, arg = text.strip().partition(" ")
    name, _, addressee = head.lstrip("/").partition("@")
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return Command(name.lower(), arg.strip())


class ChatHandlers:
    """The three callbacks the bot needs, bound to one Conversation."""

    def __init__(
        self,
        conversation: Conversation,
        *,
        answer_within: float = ANSWER_WITHIN,
        update_log: UpdateLog | None = None,
    ):
        self.conversation = conversation
        self.commands = frozenset(ENGINE_COMMANDS)
        self.answer_within = answer_within
        self.update_log = update_log or UpdateLog()

    def handlers(self) -> list[BaseHandler]:
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        edited = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
        groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
        return [
            MessageHandler(private & filters.COMMAND, self.on_command),
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, self.on_text),
            # A photo, sticker or voice note where text or a tap is expected: the engine
            # answers an empty text with the current step's hint instead of silence.
            MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_other),
            # An edited command too ("/help" edited into "/book"): it runs nothing, but the
            # customer is told so rather than met with silence.
            MessageHandler(edited & filters.TEXT, self.on_edit),
            MessageHandler(groups & filters.COMMAND, self.on_group_command),
            CallbackQueryHandler(self.on_callback),
        ]

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, customer = update.effective_message, customer_of(update)
        if message is None or customer is None or not message.text:
            return
        command = parse_command(message.text, context.bot.username)
        if command is not None:
            action = self.update_log.command_action(command.name)
            async with self.update_log.timed("command", action, customer.chat_id):
                await self._run(update, context, customer, command)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, customer = update.effective_message, customer_of(update)
        if message is None or customer is None or message.text is None:
            return
        async with self.update_log.timed("text", "-", customer.chat_id):
            await self._run(update, context, customer, Text(message.text, message.message_id))

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message: the engine decides whether it changes an answer."""
        message, customer = update.edited_message, customer_of(update)
        if message is None or customer is None or message.text is None:
            return
        async with self.update_log.timed("edit", "-", customer.chat_id):
            await self._run(update, context, customer, Edited(message.text, message.message_id))

    async def on_group_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Bookings hold a customer's name, email and appointments: never in a group. One of
        our commands there gets a short answer pointing to the private chat."""
        message, customer = update.effective_message, customer_of(update)
        if message is None or customer is None or not message.text:
            return
        command = parse_command(message.text, context.bot.username)
        if command is None or command.name not in self.commands:
            return  # another bot's command, or not one of ours
        async with self.update_log.timed("group", command.name, customer.chat_id):
            language = await self.conversation.language_for(customer)
            await message.reply_text(
                **private_chat_pointer(localizer(language), context.bot.username or "")
            )

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        customer = customer_of(update)
        if customer is not None:
            async with self.update_log.timed("other", "-", customer.chat_id):
                await self._run(update, context, customer, Text(""))

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, customer = update.callback_query, customer_of(update)
        if query is None:
            return
        if customer is None or (query.message is not None and query.message.chat.type != "private"):
            await _answer(query, None)
            return
        payload = decode(query.data)
        action = payload.action.value if payload is not None else UNKNOWN
        async with self.update_log.timed("callback", action, customer.chat_id):
            await self._tap(update, query, customer, context)

    async def _tap(
        self,
        update: Update,
        query: CallbackQuery,
        customer: Customer,
        context: ContextTypes.DEFAULT_TYPE,
    ) -> None:
        answered = False
        event = Tap(query.data or "")
        seed = seed_of(update, context.bot.token)
        try:
            work = asyncio.ensure_future(
                self.conversation.handle(customer, event, until_delivered=True, seed=seed)
            )
            done, _ = await asyncio.wait({work}, timeout=self.answer_within)
            if not done:
                answered = True
                await _answer(query, None)
            reply = await work
            if not answered:
                answered = True
                await _answer(query, render_toast(reply.toast, localizer(reply.language)))
            tapped = query.message if isinstance(query.message, Message) else None
            await deliver(context.bot, customer.chat_id, reply, tapped)
        finally:
            await self.conversation.delivered(customer.chat_id)
            if not answered:  # the engine failed: stop the spinner; the error handler explains
                with contextlib.suppress(TelegramError):
                    await _answer(query, None)

    async def _run(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        customer: Customer,
        event: Event,
    ) -> Reply:
        seed = seed_of(update, context.bot.token)
        reply = await self.conversation.handle(customer, event, until_delivered=True, seed=seed)
        try:
            await deliver(context.bot, customer.chat_id, reply)
        finally:
            await self.conversation.delivered(customer.chat_id)
        return reply


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Answer once; a query Telegram already forgot (too old) is not worth an error, nor one
    Telegram's flood control refused (not retried: the screen that follows says more, and the
    spinner stops by itself)."""
    try:
        await query.answer(text=text)
    except RetryAfter:
        log.info("callback query %s not answered: Telegram's flood limit", query.id)
    except BadRequest as exc:
        if _QUERY_TOO_OLD not in exc.message.lower():
            raise
        log.debug("callback query %s was too old to answer", query.id)
