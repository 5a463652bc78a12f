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
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from bench import cluster, cluster_store, runner


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trips", description=__doc__)
    parser.add_argument("--bookings", type=int, default=4, help="the lone customer's (4)")
    args = parser.parse_args(argv)
    measure(args.bookings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
