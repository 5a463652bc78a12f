"""The bot as operators run it (`python -m bot`, tests/process.py's Launcher) against the fake
Bot API over loopback and the sandbox, and customers who act in their chats and wait for what
the bot shows next (the process level of tests/customers.py); plus the fault suite's readers.

Nothing here reaches into the bot process: what a test checks is what was kept outside it (the
sandbox's store, the SQLite file, the messages the fake received) and what it logged.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.customers import WAIT
from tests.customers import ProcessCustomer as Customer
from tests.process import BotProcess, Launcher

__all__ = ["WAIT", "BotProcess", "Customer", "Launcher", "digest", "read_rows", "wait_until"]


# ---- the SQLite file, read as a third party would -----------------------------------------


def read_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows from the bot's database, opened read-only (the bot may still be running)."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cursor = connection.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        connection.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wait_until(predicate: Callable[[], object], within: float = WAIT) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.01)
