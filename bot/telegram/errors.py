"""The last resort: an update whose handling failed.

The operator gets one log record with what is needed to find the cause (update id and kind,
chat id, exception type and traceback) and nothing personal: no message text, no names, no
emails; the log formatter (bot.config.logs) also scrubs tokens and email addresses from
anything an exception message might carry. The customer gets a short apology in their language
saying what to do next. Nothing here touches the conversation's state, so the next message or
tap works as usual.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.config.chat_tag import chat_tag
from bot.core.screens import Msg, Reply, Screen
from bot.core.words import contact_lines
from bot.telegram.delivery import deliver
from bot.telegram.handlers import customer_of

if TYPE_CHECKING:
    from bot.chat.engine import Conversation

log = logging.getLogger("bot.telegram.errors")

APOLOGY = Msg(
    "Sorry, something went wrong on my side. Please try again in a moment; "
    "if it keeps happening, send /start to start over."
)


def update_kind(update: Update) -> str:
    """ "message", "callback_query", ...: the Update field that is set."""
    for kind in ("callback_query", "message", "edited_message", "my_chat_member"):
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


class ErrorHandler:
    """`Application.add_error_handler(ErrorHandler(conversation))`."""

    def __init__(
        self,
        conversation: Conversation,
        default_language: str = "en",
        on_error: Callable[[str], None] | None = None,
    ):
        self.conversation = conversation
        self.default_language = default_language
        self.on_error = on_error  # the metrics: "update" (one failed) or "telegram" (outside)

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        if self.on_error is not None:
            self.on_error("update" if isinstance(update, Update) else "telegram")
        if not isinstance(update, Update):
            # Polling or a background task: the Updater retries polling by itself.
            level = logging.WARNING if isinstance(error, NetworkError) else logging.ERROR
            log.log(
                level,
                "Telegram problem outside an update: %s",
                _describe(error),
                exc_info=level >= logging.ERROR,
            )
            return
        chat = update.effective_chat
        log.error(
            "update %s (%s) in chat %s failed: %s",
            update.update_id,
            update_kind(update),
            chat_tag(chat.id if chat is not None else None),
            _describe(error),
            exc_info=error,
        )
        if isinstance(error, Forbidden):
            return  # the customer blocked the bot: nobody to tell
        await self._apologise(update, context)

    async def _apologise(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        customer = customer_of(update)
        if customer is None:
            return
        try:
            language = await self.conversation.language_for(customer)
        except Exception:  # the storage itself may be what failed
            language = self.default_language
        body = (APOLOGY, *contact_lines(self.conversation.business, language))
        reply = Reply(language=language, screens=(Screen(body=body, edit=False),))
        try:
            await deliver(context.bot, customer.chat_id, reply)
        except TelegramError as exc:
            log.warning(
                "could not tell chat %s about the failure: %s",
                chat_tag(customer.chat_id),
                _describe(exc),
            )


def _describe(error: BaseException | None) -> str:
    """The exception's type, plus Telegram's own reason for Telegram errors (never user text)."""
    if error is None:
        return "unknown error"
    if isinstance(error, RetryAfter):
        return f"RetryAfter({error.retry_after})"
    if isinstance(error, TimedOut):
        return "TimedOut"
    if isinstance(error, TelegramError):
        return f"{type(error).__name__}: {error.message}"
    return type(error).__name__
