"""Put a Reply in a chat: edit the tapped message for menu navigation, send the rest.

Telegram answers an edit that changes nothing with "message is not modified" (a customer
tapping the same calendar arrow twice): that is success, not an error. A message that can no
longer be edited (deleted, too old) gets its screen sent as a new message instead.
"""

from __future__ import annotations

import logging

from telegram import Bot, Message
from telegram.error import BadRequest, TelegramError

from bot.config.chat_tag import chat_tag
from bot.core.screens import Attachment, Reply
from bot.i18n import localizer
from bot.telegram.render import Rendered, document_of, render_screen

log = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
_CANNOT_EDIT = (
    "message to edit not found",
    "message can't be edited",
    "message can't be found",
    "there is no text in the message to edit",
)


def is_not_modified(error: BadRequest) -> bool:
    return _NOT_MODIFIED in error.message.lower()


def cannot_edit(error: BadRequest) -> bool:
    text = error.message.lower()
    return any(marker in text for marker in _CANNOT_EDIT)


async def deliver(bot: Bot, chat_id: int, reply: Reply, tapped: Message | None = None) -> None:
    """Show every screen of `reply` in `chat_id`; `tapped` is the message whose button was
    pressed, which the first `edit=True` screen replaces."""
    loc = localizer(reply.language)
    editable = tapped
    for index, screen in enumerate(reply.screens):
        rendered = render_screen(screen, loc)
        if rendered.edit and editable is not None:
            await _edit_or_send(bot, chat_id, editable, rendered)
        else:
            if (
                index == 0
                and editable is not None
                and editable.reply_markup
                and not reply.keep_tapped
            ):
                # A confirmation or notice replaces nothing: retire the buttons it answered so
                # they cannot be pressed again by mistake (the engine would refuse them anyway).
                await _drop_keyboard(bot, chat_id, editable)
            await _send(bot, chat_id, rendered)
        editable = None  # only the first screen may replace the tapped message
        if rendered.attachment is not None:
            await _send_file(bot, chat_id, rendered.attachment)


async def deliver_file(bot: Bot, chat_id: int, attachment: Attachment) -> None:
    """Best effort: a file that follows a message already out (a calendar file after a
    notice) is not worth sending the message twice."""
    try:
        await _send_file(bot, chat_id, attachment)
    except TelegramError as exc:
        log.info("file to chat %s not delivered: %s", chat_tag(chat_id), type(exc).__name__)


async def _send_file(bot: Bot, chat_id: int, attachment: Attachment) -> None:
    await bot.send_document(chat_id, document=document_of(attachment), filename=attachment.filename)


async def _send(bot: Bot, chat_id: int, rendered: Rendered) -> None:
    await bot.send_message(
        chat_id,
        rendered.text,
        parse_mode=rendered.parse_mode,
        reply_markup=rendered.keyboard,
    )


async def _edit_or_send(bot: Bot, chat_id: int, message: Message, rendered: Rendered) -> None:
    try:
        await bot.edit_message_text(
            rendered.text,
            chat_id=chat_id,
            message_id=message.message_id,
            parse_mode=rendered.parse_mode,
            reply_markup=rendered.keyboard,
        )
    except BadRequest as exc:
        if is_not_modified(exc):
            return
        if not cannot_edit(exc):
            raise
        log.info("chat %s: a message cannot be edited; sending anew", chat_tag(chat_id))
        await _send(bot, chat_id, rendered)


async def _drop_keyboard(bot: Bot, chat_id: int, message: Message) -> None:
    """Best effort: a failure here must not keep the confirmation from being sent."""
    try:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message.message_id)
    except TelegramError as exc:
        log.debug("chat %s: keyboard not removed (%s)", chat_tag(chat_id), type(exc).__name__)
