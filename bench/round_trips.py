"""`python -m bench.round_trips`: round trips to PostgreSQL per update, counted (issue 20).
Nothing is asserted; the figure is what README's round-trip table states.

Each of them wakes PostgreSQL's server process and the bot's after a customer's pause, which
is most of what coordinated PostgreSQL adds to SQLite's latency (README, Performance). Counted
here by wrapping psycopg's AsyncCursor.execute and executemany (every query the process sends,
whichever cursor, pool or lock session sends it: one round trip each), during the lone
customer's bookings of bench/cluster.py (bench/cluster_store.py: the main benchmark's bot, fake
Bot API and sandbox process), on a fresh database of a PostgreSQL started here, for the store
alone and coordinated as `python -m bot` runs on PostgreSQL. "In all" includes the bookings'
confirms (a transaction of a round trip per statement), polling offsets and background jobs.

Then what the turn's read saves, timed alone (the whole bot's latency moves by more than a
round trip from one run to the next on a shared machine): an update's turn taken, the chat's
conversation and the user's language read, the turn ended with its record, after a pause of
PAUSE seconds each time (the processes idle, as for the pausing customers): with the read in
the turn's round trip (the update's user told to the turn), and with a read of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from bench import cluster, cluster_store, runner
from bot.store.postgres import open_postgres

PAUSE = 0.05  # seconds between two timed updates (the pausing customers' processes idle)


class Counter:
    """Queries sent by every psycopg asynchronous cursor of this process while installed."""

    def __init__(self) -> None:
        self.queries = 0
        self._saved: dict[str, Callable[..., Awaitable[Any]]] = {}

    def install(self) -> None:
        for name in ("execute", "executemany"):
            original = getattr(psycopg.AsyncCursor, name)
            self._saved[name] = original

            async def counted(
                cursor: Any, *args: Any, _original: Any = original, **kwargs: Any
            ) -> Any:
                self.queries += 1
                return await _original(cursor, *args, **kwargs)

            setattr(psycopg.AsyncCursor, name, counted)

    def remove(self) -> None:
        for name, original in self._saved.items():
            setattr(psycopg.AsyncCursor, name, original)


def measure(bookings: int) -> dict[str, float]:
    """Round trips per update of the lone customer, the store alone and coordinated."""
    counter = Counter()
    original_drive = runner.drive

    async def drive(*args: Any, **kwargs: Any) -> Any:
        counter.queries = 0  # from the measured customers' start (after the warm-up)
        return await original_drive(*args, **kwargs)

    lone = runner.Scenario(
        "lone", customers=1, latency_ms=0, bookings_each=bookings, manage_share=0.0
    )
    out: dict[str, float] = {}
    counter.install()
    runner.drive = drive  # type: ignore[assignment]
    try:
        with cluster.postgres() as server, tempfile.TemporaryDirectory() as work:
            if server is None:
                return out
            for label, coordinated in (("store alone", False), ("coordinated", True)):
                url = cluster.fresh_database(server, f"trips_{int(coordinated)}", "off")
                summary = cluster_store.run(lone, Path(work) / "unused.db", url, coordinated)
                out[label] = round(counter.queries / max(summary["updates"], 1), 2)
                print(
                    f"{label}: {counter.queries} round trips for {summary['updates']} updates:"
                    f" {out[label]} per update",
                    flush=True,
                )
    finally:
        runner.drive = original_drive  # type: ignore[assignment]
        counter.remove()
    return out


async def _turns(url: str, updates: int) -> dict[str, float]:
    """p50 µs of an update's turn with its conversation read, the read in the turn's round
    trip or in one of its own, alternating (so both see the same machine)."""
    store = await open_postgres(url)
    chat = 7
    await store.save_conversation(chat, chat, '{"nav": {}}', pending=False)
    await store.set_language(chat, "en")
    times: dict[str, list[float]] = {"read with the turn": [], "read on its own": []}
    try:
        for n in range(updates * 2):
            label, user = ("read with the turn", chat) if n % 2 else ("read on its own", None)
            await asyncio.sleep(PAUSE)
            started = time.perf_counter()
            async with store.update_turn(chat, 1000 + n, user) as turn:
                await store.conversation_and_language(chat, chat)
                turn.handled()
            times[label].append((time.perf_counter() - started) * 1e6)
    finally:
        await store.close()
    return {label: round(statistics.median(values)) for label, values in times.items()}


def turns(updates: int) -> dict[str, float]:
    with cluster.postgres() as server:
        if server is None:
            return {}
        url = cluster.fresh_database(server, "trips_turns", "off")
        out = asyncio.run(_turns(url, updates))
    print(
        f"an update's turn, its read and its record after {PAUSE * 1000:.0f} ms idle, p50 µs"
        f" of {updates} each: " + ", ".join(f"{label} {value}" for label, value in out.items()),
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trips", description=__doc__)
    parser.add_argument("--bookings", type=int, default=4, help="the lone customer's (4)")
    parser.add_argument("--updates", type=int, default=300, help="timed turns of each kind")
    args = parser.parse_args(argv)
    measure(args.bookings)
    turns(args.updates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
