"""`python -m bench.update_timeline`: where an update's time goes, store by store (issue 20).
Nothing is asserted; prints medians and means.

The pausing customers of bench/cluster.py (the main benchmark's bot, fake Bot API and sandbox
process: bench/cluster_store.py), on SQLite, on PostgreSQL's store alone and coordinated as
`python -m bot` runs on it. Each measured update is timed at five moments: injected (the
customer's update is available), fetched (the getUpdates answer that carried it), handling
started and ended (the conversation's `handle`), and the last Bot API call the bot made for it
(where the benchmark's latency ends). The segments between them say which part of the bot a
store's extra latency is spent in: this is how the turn's round trip (before the handler) and
the writes' (inside it) were found to be what coordinated PostgreSQL added (README,
Performance).

The moments are taken by wrapping three methods for the run (restored after): the fake Bot
API's getUpdates, the conversation's `handle` and the simulated customer's `on_done`; a
customer has one update in flight at a time, so its chat names the update being handled.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import cluster, cluster_store, runner
from bench.customers import Chat
from bench.fake_telegram import BenchBotAPI
from bot.chat.engine import Conversation

MOMENTS = ("injected", "fetched", "started", "ended", "last call")
STORES = (("sqlite", None, False), ("pg alone", "off", False), ("coordinated", "off", True))


class Timeline:
    """The five moments of each update (update id -> moment -> perf_counter seconds)."""

    def __init__(self) -> None:
        self.moments: dict[int, dict[str, float]] = defaultdict(dict)
        self.measured: set[int] = set()
        self.api: BenchBotAPI | None = None

    @contextmanager
    def installed(self) -> Iterator[Timeline]:
        timeline = self
        get_updates, handle, on_done = BenchBotAPI._get_updates, Conversation.handle, Chat.on_done

        async def fetched(api: BenchBotAPI, params: Mapping[str, Any]) -> list[dict[str, Any]]:
            timeline.api = api
            updates = await get_updates(api, params)
            now = time.perf_counter()
            for update in updates:
                timeline.moments[update["update_id"]].setdefault("fetched", now)
            return updates

        async def handled(conversation: Conversation, customer: Any, event: Any, **kw: Any) -> Any:
            moments = timeline._of_chat(customer.chat_id)
            moments.setdefault("started", time.perf_counter())
            try:
                return await handle(conversation, customer, event, **kw)
            finally:
                moments.setdefault("ended", time.perf_counter())

        def done(chat: Chat, update_id: int, at: float) -> None:
            moments = timeline.moments[update_id]
            moments["injected"] = chat.api.injected_at.get(update_id, at)
            moments["last call"] = chat._last_call
            if chat._measured:
                timeline.measured.add(update_id)
            on_done(chat, update_id, at)

        BenchBotAPI._get_updates = fetched  # type: ignore[method-assign]
        Conversation.handle = handled  # type: ignore[method-assign]
        Chat.on_done = done  # type: ignore[method-assign]
        try:
            yield self
        finally:
            BenchBotAPI._get_updates = get_updates  # type: ignore[method-assign]
            Conversation.handle = handle  # type: ignore[method-assign]
            Chat.on_done = on_done  # type: ignore[method-assign]

    def _of_chat(self, chat_id: int) -> dict[str, float]:
        listener = self.api.listeners.get(chat_id) if self.api is not None else None
        update_id = getattr(listener, "_waiting", None)
        return self.moments[update_id] if update_id is not None else {}

    def segments(self) -> dict[str, list[float]]:
        """Milliseconds between consecutive moments, and in all, of each complete update."""
        out: dict[str, list[float]] = defaultdict(list)
        for update_id in self.measured:
            moments = self.moments[update_id]
            if not all(m in moments for m in MOMENTS):
                continue
            for before, after in itertools.pairwise(MOMENTS):
                out[f"{before} → {after}"].append(1000 * (moments[after] - moments[before]))
            out["in all"].append(1000 * (moments["last call"] - moments["injected"]))
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.update_timeline", description=__doc__)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause, s (default 1.0)")
    parser.add_argument("--duration", type=float, default=15.0, help="window, s (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="each store this often (2)")
    args = parser.parse_args(argv)
    scenario = runner.Scenario(
        "latency", customers=args.customers, latency_ms=0, think=args.think, duration=args.duration
    )
    print("| round | store | updates | " + " | ".join(_heads()) + " |")
    print("|---|---|---:|" + "---:|" * len(_heads()))
    with cluster.postgres() as server, tempfile.TemporaryDirectory() as work:
        if server is None:
            raise SystemExit("no PostgreSQL on this machine")
        for round_ in range(1, args.rounds + 1):
            for label, sync, coordinated in STORES:
                name = f"timeline_{round_}_{label.replace(' ', '_')}"
                url = "" if sync is None else cluster.fresh_database(server, name, sync)
                with Timeline().installed() as timeline:
                    cluster_store.run(scenario, Path(work) / f"{name}.db", url, coordinated)
                segments = timeline.segments()
                cells = [
                    f"{statistics.median(v):.2f} / {statistics.mean(v):.2f}"
                    for v in segments.values()
                ]
                count = len(segments.get("in all", []))
                print(f"| {round_} | {label} | {count} | " + " | ".join(cells) + " |", flush=True)
    print("\nms, median / mean")
    return 0


def _heads() -> list[str]:
    return [f"{before} → {after}" for before, after in itertools.pairwise(MOMENTS)] + ["in all"]


if __name__ == "__main__":
    sys.exit(main())
