"""A Screen as Telegram shows it: HTML text, an inline keyboard, and maybe a document.

All user and API text reaches Telegram through the localizer in "html" mode, which escapes it;
nothing here formats strings itself, so nothing here can forget to escape. Button labels are
rendered in "plain" mode because Telegram shows them verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, WebAppInfo
from telegram.constants import CallbackQueryLimit, MessageLimit, ParseMode

from bot.core.screens import Attachment, Button, Msg, Screen
from bot.i18n import Localizer

TOAST_LIMIT = int(CallbackQueryLimit.ANSWER_CALLBACK_QUERY_TEXT_LENGTH)  # 200 characters
TEXT_LIMIT = int(MessageLimit.MAX_TEXT_LENGTH)  # 4096 characters
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One screen ready for send_message/edit_message_text."""

    text: str
    parse_mode: str | None
    keyboard: InlineKeyboardMarkup | None
    edit: bool
    attachment: Attachment | None


def render_screen(screen: Screen, loc: Localizer) -> Rendered:
    text: str = loc.render_body(screen, "html")
    parse_mode: str | None = ParseMode.HTML
    if len(text) > TEXT_LIMIT:
        # Only hostile input gets here (a 4,000-character name): cutting HTML could split a tag
        # or an entity, so fall back to plain text, which can be cut anywhere.
        text = _cut(loc.render_body(screen, "plain"), TEXT_LIMIT)
        parse_mode = None
    return Rendered(
        text=text,
        parse_mode=parse_mode,
        keyboard=render_keyboard(screen.buttons, loc),
        edit=screen.edit,
        attachment=screen.attachment,
    )


def render_keyboard(
    rows: tuple[tuple[Button, ...], ...], loc: Localizer
) -> InlineKeyboardMarkup | None:
    keyboard = [[_button(button, loc) for button in row] for row in rows if row]
    return InlineKeyboardMarkup(keyboard) if keyboard else None


def _button(button: Button, loc: Localizer) -> InlineKeyboardButton:
    """A payload button, or one that opens the booking page (Mini App) in the chat."""
    label = loc.render(button.label, "plain")
    if button.web_app is not None:
        return InlineKeyboardButton(label, web_app=WebAppInfo(button.web_app))
    return InlineKeyboardButton(label, callback_data=button.data)


GROUP_ANSWER = Msg(
    "I book appointments in a private chat, so your details stay between us. Tap below to open it."
)
OPEN_PRIVATE_CHAT = Msg("💬 Open the private chat")


def private_chat_pointer(loc: Localizer, username: str) -> dict[str, Any]:
    """The answer to one of our commands in a group: sendMessage's text and a link button."""
    url = f"https://t.me/{username}?start=group"
    button = InlineKeyboardButton(loc.render(OPEN_PRIVATE_CHAT, "plain"), url=url)
    return {
        "text": loc.render(GROUP_ANSWER, "html"),
        "parse_mode": ParseMode.HTML,
        "reply_markup": InlineKeyboardMarkup([[button]]),
    }


def render_toast(toast: Msg | None, loc: Localizer) -> str | None:
    return _cut(loc.render(toast, "plain"), TOAST_LIMIT) if toast is not None else None


def document_of(attachment: Attachment) -> InputFile:
    return InputFile(attachment.content, filename=attachment.filename)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS
