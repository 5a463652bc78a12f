"""`python -m bot [run]` and the `zimun-bot` console script.

Subcommands live in `SUBCOMMANDS` (name -> function taking the parsed settings and returning an
exit code), so `python -m bot check` and friends can be added without touching the rest. Every
problem an operator can fix (a missing variable, a wrong token) ends as one line on stderr and
a non-zero exit code, never a traceback.

Exit codes: 0 done (including a stop by SIGINT/SIGTERM), 1 a runtime failure at start-up
(Telegram refused the token, a file could not be opened), 2 bad configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from telegram.ext import Application

log = logging.getLogger("bot")

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
SECRET_TOKEN_RE = r"^[A-Za-z0-9_-]{1,256}$"  # what Telegram accepts as a webhook secret_token
URL_RE = re.compile(r"\w+://\S+")


class StartupError(Exception):
    """A problem found while starting; `str()` is the one line shown to the operator."""


def webhook_secret(settings: Settings) -> str | None:
    """The secret Telegram must send with every webhook request; required in webhook mode."""
    secret = settings.WEBHOOK_SECRET.get_secret_value() if settings.WEBHOOK_SECRET else None
    if settings.WEBHOOK_URL is None:
        return secret
    if not secret:
        raise SettingsError(
            "WEBHOOK_SECRET is not set (required with WEBHOOK_URL, so that only Telegram "
            "can post updates; letters, digits, _ and -, up to 256)"
        )
    if not re.match(SECRET_TOKEN_RE, secret):
        raise SettingsError("WEBHOOK_SECRET is invalid: use 1-256 letters, digits, _ and - only")
    return secret


@contextmanager
def telegram_errors() -> Iterator[None]:
    """Telegram's start-up refusals as one line each."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        yield
    except InvalidToken:
        raise StartupError(
            "Telegram rejected TELEGRAM_BOT_TOKEN (check it with BotFather)"
        ) from None
    except NetworkError as exc:
        raise StartupError(
            f"cannot reach the Telegram Bot API at TELEGRAM_BASE_URL: {_reason(exc)}"
        ) from None
    except TelegramError as exc:
        raise StartupError(f"Telegram refused to start the bot: {_reason(exc)}") from None


def build(settings: Settings) -> Application:
    """Storage, Zimun client and conversation behind the Telegram Application; the
    Application's shutdown closes the client and the storage."""
    from bot.booking.engine import Conversation
    from bot.storage import Storage
    from bot.telegram.app import build_application
    from bot.zimun.client import ZimunClient

    try:
        storage = Storage(settings.BOT_DB_PATH)
    except Exception as exc:  # StorageError, sqlite3 errors: say which file, not a traceback
        raise StartupError(f"cannot open BOT_DB_PATH={settings.BOT_DB_PATH!r}: {exc}") from None
    client = ZimunClient.from_settings(settings)
    conversation = Conversation(client, storage, default_language=settings.BOT_DEFAULT_LANGUAGE)

    async def close_resources(_app: Application) -> None:
        try:
            await client.aclose()
        finally:
            storage.close()
            log.info("storage closed")

    return build_application(settings, conversation, on_shutdown=(close_resources,))


def run(settings: Settings) -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_URL is set.

    python-telegram-bot handles the signals: it stops fetching, commits the update offset,
    finishes every update already fetched, then runs the shutdown hooks.
    """
    from bot.telegram.app import ALLOWED_UPDATES, check_telegram

    secret = webhook_secret(settings)
    with telegram_errors():
        me = asyncio.run(check_telegram(settings))
    log.info("Telegram knows this bot as @%s", me.username)
    app = build(settings)
    allowed = list(ALLOWED_UPDATES)
    with telegram_errors():
        if settings.WEBHOOK_URL is None:
            log.info("starting with long polling")
            app.run_polling(allowed_updates=allowed)
        else:
            url = str(settings.WEBHOOK_URL)
            log.info(
                "starting the webhook on %s:%s", settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT
            )
            app.run_webhook(
                listen=settings.WEBHOOK_LISTEN,
                port=settings.WEBHOOK_PORT,
                url_path=urlsplit(url).path.lstrip("/"),
                webhook_url=url,
                secret_token=secret,
                allowed_updates=allowed,
            )
    log.info("stopped")
    return EXIT_OK


# name -> (help, function). Issue 6 adds "check".
SUBCOMMANDS: dict[str, tuple[str, Callable[[Settings], int]]] = {
    "run": ("run the bot (the default)", run),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="The Zimun booking assistant for Telegram. Settings come from the "
        "environment and .env (see .env.example).",
    )
    parser.add_argument("command", nargs="?", default="run", choices=sorted(SUBCOMMANDS))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    from bot.logging_setup import configure_logging

    configure_logging(
        settings.LOG_LEVEL,
        settings.LOG_FORMAT,
        secrets=_secrets_of(settings),
    )
    _, command = SUBCOMMANDS[args.command]
    try:
        return command(settings)
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _reason(exc: Exception) -> str:
    """Telegram's reason, without URLs (they would carry the token)."""
    message = str(getattr(exc, "message", "") or type(exc).__name__)
    return URL_RE.sub("[url]", message.replace("httpx.", ""))


def _secrets_of(settings: Settings) -> list[str]:
    secrets = [
        settings.TELEGRAM_BOT_TOKEN.get_secret_value(),
        settings.ZIMUN_CLIENT_SECRET.get_secret_value(),
    ]
    if settings.WEBHOOK_SECRET is not None:
        secrets.append(settings.WEBHOOK_SECRET.get_secret_value())
    return secrets


if __name__ == "__main__":
    sys.exit(main())
