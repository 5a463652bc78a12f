"""One update's writes to the store, before and after businesses shared the file (issue 19).

    python -m bench.store_writes [--before REV] [--businesses 1,1000] [--updates 400]

Replays the writes of the two kinds of update a conversation makes (a step: the conversation
saved; a confirm: conversation, booking, two reminders and two funnel events in one batch) on
a fresh file, and prints per update: transactions (`Storage.writes`), bytes appended to the WAL
(pages written: every index a row is in costs its pages) and CPU time. `--before` loads the
store of that git revision (default: the commit before schema 6) for the same run; the current
store runs with 1 and with many businesses on the file, each business holding 20 customers'
bookings already, the update going to the last one; the store before, with as many customers
in its one business. Printed figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.core.lifecycle import Fields, Write
from bot.core.records import FunnelEvent, NewBooking

NOW = datetime(2027, 2, 1, 8, tzinfo=UTC)
BEFORE = "5349b6d"  # main before schema 6


def _old_storage(rev: str) -> ModuleType:
    """bot/store/storage.py as it was at `rev`, imported under another name."""
    source = subprocess.run(
        ["git", "show", f"{rev}:bot/store/storage.py"], capture_output=True, check=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "storage_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("storage_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _booking(user: int, n: int) -> NewBooking:
    start = NOW + timedelta(days=1 + n % 30, hours=n % 8)
    return NewBooking(
        user_id=user,
        chat_id=user,
        appointment_id=f"a_{user}_{n}",
        service_id="s_cut",
        service_name="Cut",
        location_id="loc_main",
        location_name="Main",
        location_address="Street 1",
        timezone="Europe/Madrid",
        start=start,
        end=start + timedelta(minutes=30),
        status="confirmed",
    )


def _confirm(store: Any, user: int, n: int) -> None:
    new = _booking(user, n)
    with store.batch():
        store.save_conversation(user, user, '{"step": "done"}', pending=False)
        store.apply(
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
        store.record_funnel(
            [
                FunnelEvent(NOW, f"t{user}_{n}", "step", step="confirm"),
                FunnelEvent(NOW, f"t{user}_{n}", "confirmed", "Main", "Cut"),
            ]
        )


def _step(store: Any, user: int, n: int) -> None:
    store.save_conversation(user, user, f'{{"step": "name", "n": {n}}}', pending=False)


@dataclass
class Figures:
    label: str
    writes: float
    wal_bytes: float
    cpu_us: float


def _measure(label: str, store: Any, update: Any, updates: int) -> Figures:
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty WAL that only grows
    store.db.execute("PRAGMA wal_autocheckpoint = 0")
    wal = Path(store.path + "-wal")
    writes, size, cpu = store.writes, wal.stat().st_size, time.process_time()
    for n in range(updates):
        update(store, 10_000 + n % 50, 1_000 + n)
    cpu = time.process_time() - cpu
    return Figures(
        label,
        (store.writes - writes) / updates,
        (wal.stat().st_size - size) / updates,
        cpu / updates * 1e6,
    )


def _fill(store: Any, customers: int) -> None:
    with store.batch():
        for user in range(customers):
            _confirm(store, user, 0)


def run(before: str, businesses: list[int], updates: int) -> list[Figures]:
    from bot.store.storage import Storage

    old = _old_storage(before)
    results = []
    for kind, update in (("step", _step), ("confirm", _confirm)):
        for count in businesses:  # the same rows on the file, all of the one business
            with tempfile.TemporaryDirectory() as folder:
                store = old.Storage(f"{folder}/bot.db", now=lambda: NOW)
                _fill(store, 20 * count)
                label = f"{kind}: before ({before}), {20 * count} customers"
                results.append(_measure(label, store, update, updates))
                store.close()
        for count in businesses:
            with tempfile.TemporaryDirectory() as folder:
                opener = Storage(f"{folder}/bot.db", now=lambda: NOW)
                for n in range(count):
                    _fill(opener.for_business(f"b{n}"), 20)
                store = opener.for_business(f"b{count - 1}")
                label = f"{kind}: {count} businesses of 20 customers"
                results.append(_measure(label, store, update, updates))
                opener.close()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE)
    parser.add_argument("--businesses", default="1,1000")
    parser.add_argument("--updates", type=int, default=400)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.businesses.split(",")]
    print("| update | transactions | WAL bytes | CPU µs |")
    print("|---|---:|---:|---:|")
    for f in run(args.before, counts, args.updates):
        print(f"| {f.label} | {f.writes:.2f} | {f.wal_bytes:,.0f} | {f.cpu_us:,.0f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
