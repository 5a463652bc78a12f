"""/stats aggregated by SQLite, not in Python: the funnel keeps 90 days of rows (several per
booking attempt), and loading 30 days of them into Python objects on the event loop stalled
every conversation (400,000 rows: 2.5 s and 275 MB). Here three grouped queries return a few
dozen rows, on a connection of their own in a worker thread (WAL lets it read while the bot
writes), so the event loop does not wait for them.

The attempt-level questions ("where did an unconfirmed attempt stop?") need the first or last
event of a kind per attempt. Funnel timestamps are fixed-width UTC text (`storage._utc`, 25
characters), so `at || printf('%012d', id)` sorts events in (time, id) order as text, and
MIN/MAX of it with the step appended pick that event's step in one pass (`substr(..., 38)`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.ops.staff import PER_DAY_DAYS, STALE_AFTER, STATS_DAYS, Stats
from bot.store import files as db_files
from bot.store.contract import Store
from bot.store.postgres import PostgresStore
from bot.store.storage import Storage

KEY = "at || printf('%012d', id)"  # sorts as (at, id); 37 characters
TAIL = 38  # where a value appended to KEY starts

_BOOKED = f"""
SELECT COALESCE({{column}}, '?') AS label, COUNT(*) AS n, MIN({KEY}) AS first
FROM funnel WHERE business = :business AND at >= :since AND event = 'confirmed'
GROUP BY label ORDER BY n DESC, first
"""

_EVENTS = """
SELECT SUM(event = 'moved') AS moved, SUM(event = 'cancelled') AS cancelled,
    SUM(event = 'waitlist_joined') AS waitlist_joined,
    SUM(event = 'waitlist_told') AS waitlist_told,
    SUM(event = 'waitlist_booked') AS waitlist_booked
FROM funnel WHERE business = :business AND at >= :since
"""

_PER_DAY = """
SELECT substr(at, 1, 10) AS day, COUNT(*) AS n
FROM funnel WHERE business = :business AND at >= :since AND at >= :week AND event = 'confirmed'
GROUP BY day
"""

_ATTEMPTS = f"""
WITH attempts AS (
    SELECT
        MAX(event = 'started') AS started,
        MAX(event = 'confirmed') AS confirmed,
        MIN({KEY}) AS first,
        substr(MAX({KEY}), 1, 25) AS last_at,
        MIN(CASE WHEN event = 'abandoned' THEN {KEY} || COALESCE(step, '') END) AS abandoned,
        MAX(CASE WHEN event = 'step' AND step <> '' THEN {KEY} || step END) AS last_step
    FROM funnel WHERE business = :business AND at >= :since AND attempt <> ''
    GROUP BY attempt
)
SELECT
    CASE
        WHEN confirmed THEN 'confirmed'
        WHEN abandoned IS NULL AND last_at > :stale_before THEN 'open'
        ELSE 'stopped'
    END AS outcome,
    CASE
        WHEN confirmed THEN ''
        WHEN abandoned IS NOT NULL THEN substr(abandoned, {TAIL})
        ELSE COALESCE(substr(last_step, {TAIL}), '')
    END AS step,
    COUNT(*) AS n,
    MIN(first) AS first
FROM attempts WHERE started
GROUP BY outcome, step
ORDER BY n DESC, first
"""


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# Every statement /stats runs, in SQLite's dialect (bot.ops.stats_pg translates them).
QUERIES = (
    _BOOKED.format(column="location_name"),
    _BOOKED.format(column="service_name"),
    _EVENTS,
    _PER_DAY,
    _ATTEMPTS,
)


def stats_params(now: datetime, days: int, business: str) -> dict[str, str]:
    """The queries' named parameters."""
    today = now.astimezone(UTC).date()
    week_start = datetime.combine(today - timedelta(days=PER_DAY_DAYS - 1), datetime.min.time())
    return {
        "business": business,
        "since": _utc(now - timedelta(days=days)),
        "week": _utc(week_start.replace(tzinfo=UTC)),
        "stale_before": _utc(now - STALE_AFTER),
    }


def query_stats(
    conn: sqlite3.Connection, now: datetime, days: int = STATS_DAYS, *, business: str
) -> Stats:
    """The business's statistics of the last `days` days (days are UTC dates); every query
    names the business, as every query of the store does (bot.store.scope)."""
    params = stats_params(now, days, business)
    return assemble(lambda sql: conn.execute(sql, params).fetchall(), now, days)


def assemble(rows: Callable[[str], Sequence[Mapping[str, Any]]], now: datetime, days: int) -> Stats:
    """Stats from each query's rows (`rows(sql)` for each of QUERIES), whichever database
    answered them."""
    today = now.astimezone(UTC).date()

    per_day_count = {r["day"]: r["n"] for r in rows(_PER_DAY)}
    days_shown = [today - timedelta(days=n) for n in range(PER_DAY_DAYS - 1, -1, -1)]
    [events] = rows(_EVENTS)
    outcomes = rows(_ATTEMPTS)
    count = {o: sum(r["n"] for r in outcomes if r["outcome"] == o) for o in ("confirmed", "open")}
    return Stats(
        days=days,
        per_day=[(d, per_day_count.get(d.isoformat(), 0)) for d in days_shown],
        per_location=[(r["label"], r["n"]) for r in rows(_BOOKED.format(column="location_name"))],
        per_service=[(r["label"], r["n"]) for r in rows(_BOOKED.format(column="service_name"))],
        started=sum(r["n"] for r in outcomes),
        confirmed=count["confirmed"],
        open=count["open"],
        moved=events["moved"] or 0,
        cancelled=events["cancelled"] or 0,
        stopped_at=[(r["step"], r["n"]) for r in outcomes if r["outcome"] == "stopped"],
        waitlist_joined=events["waitlist_joined"] or 0,
        waitlist_told=events["waitlist_told"] or 0,
        waitlist_booked=events["waitlist_booked"] or 0,
    )


@contextmanager
def reader(storage: Storage) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the bot database of its own (the storage's for :memory:)."""
    if not db_files.is_file_path(storage.path):
        storage.db.conn.row_factory = sqlite3.Row
        try:
            yield storage.db.conn
        finally:
            storage.db.conn.row_factory = None
        return
    uri = Path(storage.path).resolve().as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, check_same_thread=False)) as conn:
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.row_factory = sqlite3.Row
        yield conn


def stats_of(storage: Storage, now: datetime, days: int = STATS_DAYS) -> Stats:
    with reader(storage) as conn:
        return query_stats(conn, now, days, business=storage.business)


async def load_stats(store: Store | Storage, now: datetime, days: int = STATS_DAYS) -> Stats:
    """`stats_of` in a worker thread (a file database), so the event loop never waits; on
    PostgreSQL the same questions in its dialect, awaited (bot.ops.stats_pg)."""
    if isinstance(store, PostgresStore):
        from bot.ops.stats_pg import load_stats_pg  # here: it imports this module

        return await load_stats_pg(store, now, days)
    storage = store if isinstance(store, Storage) else store.storage  # type: ignore[attr-defined]
    if not db_files.is_file_path(storage.path):
        return stats_of(storage, now, days)
    return await asyncio.to_thread(stats_of, storage, now, days)
