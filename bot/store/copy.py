"""`python -m bot copy-data --to postgresql://...`: an existing SQLite database, every row of
every business, into an empty PostgreSQL database (issue 20): how an operator moves when they
outgrow one machine.

Everything goes in one transaction: the target is migrated to the bot's schema, then, under
the same advisory lock as migrations (no bot process can start writing meanwhile), checked
empty (a non-empty one is refused in one line: copying twice would double every booking),
then every table is copied with COPY, keeping each row's id (callback payloads name them),
and each identity sequence is moved past the largest id copied. It prints what it copied
(`table: rows`) and, like everything else, never the URL's password.

The source is opened as the bot opens it (bot.store.storage): a file of an older schema is
upgraded in place first, as the bot's next start would do.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import psycopg
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.store.postgres import MIGRATION_LOCK, TABLES, Target, connect, migrate
from bot.store.storage import Storage, StorageError

# Parents before children (reminders and notices name their booking).
ORDER = ("users", "bookings", "conversations", "reminders", "notices", "waitlist", "funnel")
assert set(ORDER) == set(TABLES)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class NotEmpty(StorageError):
    """The target already holds rows: nothing was copied."""


async def copy_data(source: Storage, url: str) -> dict[str, int]:
    """Copy every row of `source` into the empty PostgreSQL database at `url`; the rows copied
    per table. StorageError (one line, no password) when refused or failed: nothing copied."""
    target = Target(url)
    conn = await connect(target)
    try:
        await migrate(conn, target, source.now())
        async with conn.transaction():
            await conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            for table in ORDER:
                cursor = await conn.execute(f"SELECT count(*) AS n FROM {table}")
                row = await cursor.fetchone()
                if row and row["n"]:
                    raise NotEmpty(
                        f"PostgreSQL {target.label}: not empty ({table} has {row['n']} rows); "
                        "copy-data fills an empty database only"
                    )
            copied = {table: await _copy_table(conn, source, table) for table in ORDER}
    except psycopg.Error as exc:
        raise target.error("copy failed, nothing copied", exc) from None
    finally:
        await conn.close()
    return copied


async def _copy_table(conn: psycopg.AsyncConnection, source: Storage, table: str) -> int:
    columns = list(source.db[table].columns_dict)
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    cursor = conn.cursor()
    async with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in source.db.execute(f"SELECT {names} FROM {table} ORDER BY rowid"):
            await copy.write_row(row)  # streamed: a large file is never held in memory
            count += 1
    if "id" in columns:  # the next id the database gives is past every id copied
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
    return count


# ---- the command ------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage mistakes are reported without echoing what was typed (it may be a URL with
        its password)."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, "copy-data: expected --to postgresql://... and optionally --from\n")


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(
        prog="python -m bot copy-data",
        description="Copy the SQLite database into an empty PostgreSQL database.",
    )
    parser.add_argument(
        "--to",
        metavar="URL",
        help="postgresql://user:password@host:5432/dbname (default: DATABASE_URL)",
    )
    parser.add_argument(
        "--from", dest="source", metavar="PATH", help="the SQLite file (default: BOT_DB_PATH)"
    )
    return parser.parse_args(argv)


class _Defaults(BaseSettings):
    """The two settings copy-data reads (environment, then .env), without requiring the
    bot's others: it talks to neither Telegram nor Zimun."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    DATABASE_URL: SecretStr | None = None
    BOT_DB_PATH: str = "bot.db"


def command(argv: Sequence[str]) -> int:
    """The `copy-data` command: 0 copied, 1 refused or failed (one line), 2 bad usage."""
    args = _arguments(argv)
    defaults = _Defaults()
    url = args.to or (defaults.DATABASE_URL or SecretStr("")).get_secret_value().strip()
    source_path = args.source or defaults.BOT_DB_PATH
    if not url:
        print("copy-data: no target: give --to postgresql://... or set DATABASE_URL",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    if not os.path.exists(source_path):
        print(f"copy-data: {source_path}: no such SQLite database", file=sys.stderr)
        return EXIT_FAILED
    try:
        label = Target(url).label
        source = Storage(source_path)
    except StorageError as exc:
        print(f"copy-data: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        copied = asyncio.run(copy_data(source, url))
    except StorageError as exc:
        print(f"copy-data: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        source.close()
    print(f"copied {source_path} to PostgreSQL {label}:")
    for table, rows in copied.items():
        print(f"{table}: {rows}")
    return EXIT_OK
