"""One update's writes through the store's async contract, SQLite against PostgreSQL (issue 20).

    python -m bench.store_pg [--updates 300] [--url postgresql://...]

Replays the writes of the two kinds of update a conversation makes (bench/store_writes.py: a
step saves the conversation; a confirm saves it, the booking, two reminders and two funnel
events in one batch) through `Store` (bot.store.contract) and prints the wall time of each,
p50 and p95 in µs, and the CPU time of this process per update. SQLite is a fresh file in WAL
mode; PostgreSQL is the one at `--url`, or one started here on loopback from the machine's
binaries (tests/postgres.py) with its durable defaults, measured with synchronous_commit on
and off (off is what SQLite's `synchronous = NORMAL` promises: a crash may lose the last
transactions, never corrupt). Then what several processes add per update (bot.telegram.cluster)
on the durable one: recording the update as handled with the commit on disk (as it was) and
with synchronous_commit off for that one insert (as it is), and the whole of it now (the
`delivered` read in the chat's turn, then the record). Printed figures only: nothing is
asserted. Short on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bench.postgres import postgres_url
from bench.store_writes import NOW, _booking
from bot.core.lifecycle import Fields, Write
from bot.core.records import FunnelEvent
from bot.store.contract import Store
from bot.store.plans import WRITE, Op
from bot.store.postgres import PostgresStore, open_postgres
from bot.store.sqlite_async import SqliteStore
from bot.store.storage import Storage


async def _step(store: Store, user: int, n: int) -> None:
    await store.save_conversation(user, user, f'{{"step": "name", "n": {n}}}', pending=False)


async def _confirm(store: Store, user: int, n: int) -> None:
    new = _booking(user, n)
    async with store.batch():
        await store.save_conversation(user, user, '{"step": "done"}', pending=False)
        await store.apply(
            Write(
                user_id=user,
                chat_id=user,
                new=new,
                booked_at=NOW,
                fields=Fields(language="en"),
                reminders=((1440, new.start - timedelta(days=1)), (120, new.start)),
                reminder_language="en",
            )
        )
        await store.record_funnel(
            [
                FunnelEvent(NOW, f"t{user}_{n}", "step", step="confirm"),
                FunnelEvent(NOW, f"t{user}_{n}", "confirmed", "Main", "Cut"),
            ]
        )


_update_ids = itertools.count(1)
_DURABLE_RECORD = (  # first_delivery's insert as it was: the commit waits for the disk
    "INSERT INTO deliveries (business, update_id, at) VALUES (?1, ?, ?) "
    "ON CONFLICT(business, update_id) DO NOTHING"
)


async def _record_durable(store: Store, user: int, n: int) -> None:
    """Before (issue 20's first engineer): an update recorded at receipt, commit on disk."""
    assert isinstance(store, PostgresStore)
    await store._execute(Op(WRITE, _DURABLE_RECORD, (next(_update_ids), NOW.isoformat())))


async def _record_quick(store: Store, user: int, n: int) -> None:
    """first_delivery's insert now (synchronous_commit off for its transaction)."""
    await store.first_delivery(next(_update_ids))


async def _take_once(store: Store, user: int, n: int) -> None:
    """What a cluster's update costs the store now: delivered? in its turn, then recorded."""
    update_id = next(_update_ids)
    await store.delivered(update_id)
    await store.first_delivery(update_id)


Update = Callable[[Store, int, int], Awaitable[None]]
DELIVERY_KINDS: tuple[tuple[str, Update], ...] = (
    ("delivery recorded, commit on disk (before)", _record_durable),
    ("delivery recorded, synchronous_commit off", _record_quick),
    ("delivered? + recorded (now, per update)", _take_once),
)


async def _measure(store: Store, update: Update, updates: int) -> tuple[float, float, float]:
    for n in range(20):  # warm up: connections made, statements prepared
        await update(store, 20_000 + n, n)
    times = []
    cpu = time.process_time()
    for n in range(updates):
        started = time.perf_counter()
        await update(store, 10_000 + n % 50, 1_000 + n)
        times.append((time.perf_counter() - started) * 1e6)
    cpu = (time.process_time() - cpu) / updates * 1e6
    cuts = statistics.quantiles(times, n=20)
    return statistics.median(times), cuts[18], cpu


async def _run(urls: dict[str, str], updates: int) -> list[tuple[str, str, tuple[float, ...]]]:
    results: list[tuple[str, str, tuple[float, ...]]] = []
    with tempfile.TemporaryDirectory() as folder:
        stores: dict[str, Store] = {
            "SQLite (WAL, synchronous=NORMAL)": SqliteStore(
                Storage(f"{folder}/bot.db", now=lambda: NOW)
            )
        }
        for label, url in urls.items():
            stores[label] = await open_postgres(url, now=lambda: NOW)
        for kind, update in (("step", _step), ("confirm", _confirm)):
            for label, store in stores.items():
                results.append((kind, label, await _measure(store, update, updates)))
        durable = next(iter(urls))  # the cluster's own writes per update, on the durable one
        for kind, update in DELIVERY_KINDS:
            results.append((kind, durable, await _measure(stores[durable], update, updates)))
        for store in stores.values():
            await store.close()
    return results


def _with_options(url: str, options: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options={options.replace(' ', '%20')}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--url", help="a PostgreSQL to measure (default: one started here)")
    args = parser.parse_args(argv)
    with postgres_url(args.url) as url:
        urls = {
            "PostgreSQL (synchronous_commit=on)": url,
            "PostgreSQL (synchronous_commit=off)": _with_options(
                url, "-c synchronous_commit%3Doff"
            ),
        }
        results = asyncio.run(_run(urls, args.updates))
    print(f"{args.updates} updates each, through the async contract (bot.store.contract):")
    print("| update | store | p50 µs | p95 µs | CPU µs |")
    print("|---|---|---:|---:|---:|")
    for kind, label, (p50, p95, cpu) in results:
        print(f"| {kind} | {label} | {p50:,.0f} | {p95:,.0f} | {cpu:,.0f} |")


if __name__ == "__main__":
    main()
