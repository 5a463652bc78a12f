"""The command menu Telegram shows next to the text field, in the customer's language.

Descriptions are `Msg` literals so `make locales` extracts them with everything else, and are
registered once per offered language (`language_code`, BOT_LANGUAGES) plus once without a
language for everyone else, in the bot's default language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllPrivateChats,
    MenuButtonWebApp,
    WebAppInfo,
)
from telegram.error import TelegramError

from bot.core.languages import SUPPORTED_LANGUAGES
from bot.core.screens import Msg
from bot.i18n import localizer

log = logging.getLogger(__name__)

# (command, description): the engine's commands; order is the menu's order.
COMMANDS: tuple[tuple[str, Msg], ...] = (
    ("book", Msg("Book an appointment")),
    ("mybookings", Msg("See, reschedule or cancel your appointments")),
    ("language", Msg("Change the language")),
    ("help", Msg("How this bot works")),
    ("cancel", Msg("Stop what you're doing")),
    ("privacy", Msg("What I store about you")),
    ("forget", Msg("Delete everything I store about you")),
    ("start", Msg("Start over from the main menu")),
)


def offered_commands(
    commands: tuple[tuple[str, Msg], ...], languages: Sequence[str]
) -> tuple[tuple[str, Msg], ...]:
    """The menu without /language when the operator offers one language: nothing to pick."""
    if len(languages) > 1:
        return commands
    return tuple((name, description) for name, description in commands if name != "language")


def commands_in(
    language: str, commands: tuple[tuple[str, Msg], ...] = COMMANDS
) -> list[BotCommand]:
    loc = localizer(language)
    return [BotCommand(name, loc.render(description, "plain")) for name, description in commands]


async def set_menu(
    bot: Bot,
    commands: tuple[tuple[str, Msg], ...],
    scope: BotCommandScope,
    default_language: str,
    languages: Sequence[str] = SUPPORTED_LANGUAGES,
) -> None:
    """Set `commands` in `scope` in every offered language (BOT_LANGUAGES, as the customers'
    language rule offers them: bot.core.languages) and remove the others, which Telegram would
    otherwise keep from an earlier run; then in the default language for everyone else. The
    calls touch different (scope, language) menus, so they go out together: one round trip of
    waiting rather than five (a thousand businesses start sooner)."""
    calls: list[Awaitable[object]] = [
        bot.set_my_commands(commands_in(language, commands), scope=scope, language_code=language)
        if language in languages
        else bot.delete_my_commands(scope=scope, language_code=language)
        for language in SUPPORTED_LANGUAGES
    ]
    calls.append(bot.set_my_commands(commands_in(default_language, commands), scope=scope))
    await together(calls)


async def together(calls: Sequence[Awaitable[object]]) -> None:
    """Await every call, all at once; then raise the first failure, if any (after every call
    has ended: none is left running unobserved)."""
    results = await asyncio.gather(*calls, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def register_commands(
    bot: Bot,
    default_language: str,
    commands: tuple[tuple[str, Msg], ...] = COMMANDS,
    *,
    languages: Sequence[str] = SUPPORTED_LANGUAGES,
) -> bool:
    """Set the menu of private chats in every offered language (BOT_LANGUAGES; groups get none:
    bookings are private) and remove the others, which Telegram would otherwise keep from an
    earlier run, as well as a menu an earlier version set for every chat; False (logged) if
    Telegram refused, which is not fatal."""
    commands = offered_commands(commands, languages)
    try:
        await together(
            [
                set_menu(
                    bot, commands, BotCommandScopeAllPrivateChats(), default_language, languages
                ),
                *(
                    bot.delete_my_commands(language_code=language)
                    for language in SUPPORTED_LANGUAGES
                ),
                bot.delete_my_commands(),
            ]
        )
    except TelegramError as exc:
        log.warning("could not register the command menu: %s", type(exc).__name__)
        return False
    return True


PAGE_BUTTON = Msg("📅 Calendar")


async def register_page_button(bot: Bot, url: str, language: str) -> None:
    """The chat's menu button opens the booking page (MINI_APP_URL), labelled in the bot's
    default language (Telegram keeps one default menu button for every private chat).
    Best effort, like the command menu: the page's buttons in the chat work without it."""
    label = localizer(language).render(PAGE_BUTTON, "plain")
    try:
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(label, WebAppInfo(url)))
    except TelegramError as exc:
        log.warning("menu button not registered: %s", type(exc).__name__)
