"""/stats on PostgreSQL (DATABASE_URL): the same grouped queries as bot.ops.stats, translated
once each into PostgreSQL's dialect, and the same assembly of their rows.

Three things differ: a comparison is a boolean there, not 0 or 1 (so `SUM(event = 'x')` and
`MAX(event = 'x')` count `(event = 'x')::int`, and a CASE tests `= 1`); there is no printf
(the sort key pads the id with lpad to the same 12 digits, so `substr(..., 38)` still finds
what was appended); and parameters are numbered ($1...), bound per statement. The queries run
on one pooled connection of the store's, concurrently with the bot's writes (MVCC: they read
a snapshot and block nobody).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.ops.staff import STATS_DAYS, Stats
from bot.ops.stats import QUERIES, assemble, stats_params
from bot.store.postgres import PostgresStore

_BOOLEAN_SUMS = re.compile(r"\b(SUM|MAX)\((event = '\w+')\)")
_NAMED = re.compile(r"(?<!:):(\w+)")  # not a cast (::int)


def to_postgres(sql: str) -> str:
    """One /stats statement in PostgreSQL's dialect (see the module)."""
    sql = sql.replace("printf('%012d', id)", "lpad(id::text, 12, '0')")
    sql = _BOOLEAN_SUMS.sub(lambda m: f"{m[1]}(({m[2]})::int)", sql)
    sql = sql.replace("WHEN confirmed THEN", "WHEN confirmed = 1 THEN")
    return sql.replace("FROM attempts WHERE started", "FROM attempts WHERE started = 1")


def numbered(sql: str, params: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters as $1, $2... in order of first use, and their values."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return _NAMED.sub(number, sql), tuple(params[name] for name in names)


TRANSLATED = {sql: to_postgres(sql) for sql in QUERIES}


async def load_stats_pg(store: PostgresStore, now: datetime, days: int = STATS_DAYS) -> Stats:
    """The business's statistics, read from PostgreSQL."""
    params = stats_params(now, days, store.business)
    answers: dict[str, list[dict[str, Any]]] = {}
    async with store.reading() as conn:
        for sql, translated in TRANSLATED.items():
            statement, values = numbered(translated, params)
            cursor = await conn.execute(statement, values)
            answers[sql] = [_plain(row) for row in await cursor.fetchall()]
    return assemble(answers.__getitem__, now, days)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Sums come back as Decimal: the Stats hold ints."""
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in row.items()}
