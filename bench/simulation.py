"""What the simulated-time benchmarks (reconcile, waiting list) share: a clock the simulation
moves for the bot, and a scratch database per mix that is gone afterwards."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bench.runner import NOW
from bot.store.storage import Storage


@dataclass
class SimClock:
    """The bot's clock and its budget's monotonic clock, both moved by the simulation."""

    now: datetime = NOW
    ticks: float = 0.0

    def at_scan(self, scan: int, every: timedelta) -> None:
        """The moment of the `scan`-th scan, `every` apart, from NOW."""
        self.now = NOW + every * scan
        self.ticks = every.total_seconds() * scan


@contextlib.contextmanager
def scratch_storage(path: Path) -> Iterator[Storage]:
    """A fresh bot database at `path`, closed and deleted (with its WAL files) afterwards."""
    storage = Storage(str(path))
    try:
        yield storage
    finally:
        storage.close()
        with contextlib.suppress(FileNotFoundError):
            for suffix in ("", "-wal", "-shm"):
                os.unlink(f"{path}{suffix}")
