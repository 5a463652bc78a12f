"""The one way to open the bot's store from its settings: PostgreSQL when DATABASE_URL is set,
else SQLite at BOT_DB_PATH exactly as before (issue 20). The composition root (bot.wiring)
opens the process's store here, on the event loop that runs the bot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config.clock import utc_now
from bot.config.settings import Settings
from bot.store.contract import Store
from bot.store.postgres import open_postgres
from bot.store.sqlite_async import SqliteStore
from bot.store.storage import Storage


def database_url(settings: Settings) -> str:
    """DATABASE_URL, or '' for SQLite (unset and blank are the same)."""
    secret = settings.DATABASE_URL
    return secret.get_secret_value().strip() if secret is not None else ""


async def open_store(
    settings: Settings, *, now: Callable[[], datetime] = utc_now, business: str = ""
) -> Store:
    """The store of `business` ('' the environment's): opened, its schema migrated.
    StorageError (one line, no password) when the database cannot be used."""
    url = database_url(settings)
    if url:
        return await open_postgres(url, now=now, business=business)
    return SqliteStore(Storage(settings.BOT_DB_PATH, now=now, business=business))
