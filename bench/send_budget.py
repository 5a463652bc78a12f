"""`python -m bench.send_budget`: what sharing Telegram's 30 messages a second across a bot's
processes costs and gives (bot.telegram.shared_budget). Nothing is asserted.

1. Cost per send: one process's FairRateLimiter sending as fast as it can with the budget set
   out of reach (so the figure is the limiter's work, not the wait for the next second), with
   its own token bucket and with the shared budget on PostgreSQL: µs of wall and CPU per send,
   and the database round trips per send.
2. The rate the bot reaches: `--processes` separate processes of one bot, each flooding
   (replies to chats of their own: no priority held back) at Telegram's real 30 a second for
   `--seconds`: messages a second together, with each process's own bucket (before) and with
   the shared budget (after), and the busiest of the database's seconds read back.

PostgreSQL is started here on loopback from the machine's binaries (tests/postgres.py), or
given with `--url`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.postgres import postgres_url

SENDERS = 16  # tasks per process sending one message after the other


async def _flood(
    url: str | None,
    bot: str,
    per_second: float,
    *,
    sends: int = 0,
    go: Callable[[], Awaitable[None]] | None = None,
    seconds: float = 0.0,
) -> dict[str, Any]:
    """One process: flood until `sends` messages were sent, or, once `go` returns (the
    processes of one run start together), for `seconds`."""
    from bot.store.postgres import open_postgres
    from bot.telegram.flood import FairQueue, FairRateLimiter, replying_to
    from bot.telegram.shared_budget import SharedFairQueue

    store = await open_postgres(url) if url else None
    queue: FairQueue = (
        SharedFairQueue(store, bot, per_second=per_second)
        if store is not None
        else FairQueue(per_second, per_second, 10.0)
    )
    limiter = FairRateLimiter(queue=queue)
    chats = itertools.count(1)
    sent = 0
    loop = asyncio.get_running_loop()
    if go is not None:
        await go()
    wall, cpu = time.perf_counter(), time.process_time()
    end = loop.time() + seconds if seconds else float("inf")

    async def call() -> None:
        nonlocal sent
        sent += 1

    async def sender() -> None:
        while (sends and sent < sends) or (not sends and loop.time() < end):
            chat = next(chats)  # a chat of its own: within its share, served as a reply
            with replying_to(chat):
                await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if store is not None:
        await store.close()
    return {
        "sent": sent,
        "wall": wall,
        "cpu": cpu,
        "takes": getattr(queue, "takes", 0),
        "fallbacks": getattr(queue, "fallbacks", 0),
    }


async def _ready_then_go() -> None:
    """Say ready (the store open, the limiter built), then wait for the parent's go line."""
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)


def _child(argv: list[str]) -> None:
    url, bot, seconds = argv
    run = _flood(url or None, bot, 30.0, go=_ready_then_go, seconds=float(seconds))
    print(json.dumps(asyncio.run(run)))


def _processes(url: str, bot: str, count: int, seconds: float, shared: bool) -> list[dict]:
    """`count` processes flooding one bot together: each says when it is ready, and all are
    told to go at once (a line on their stdin), so no clock decides when they start."""
    command = [sys.executable, "-m", "bench.send_budget", "--child", url if shared else "", bot]
    children = [
        subprocess.Popen(
            [*command, str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    return [json.loads(child.communicate(timeout=seconds + 60)[0]) for child in children]


def _seconds_of(url: str, bot: str) -> str:
    """The database's seconds of the run: the mean of the whole ones (not the first and last,
    which the run began or ended in) and the busiest."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT used FROM send_budget WHERE bot = %s ORDER BY second", (bot,)
        ).fetchall()
    used = [int(row[0]) for row in rows]
    whole = used[1:-1] or used
    return f"{sum(whole) / max(len(whole), 1):.1f} / {max(used, default=0)}"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=20_000, help="cost run (default 20,000)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="rate run (default 5)")
    parser.add_argument("--url", help="a PostgreSQL to measure (default: one started here)")
    args = parser.parse_args(argv)
    with postgres_url(args.url) as url:
        print(f"1. cost per send, one process, {args.sends:,} sends, budget out of reach:")
        print("| tokens from | wall µs/send | CPU µs/send | round trips/send |")
        print("|---|---:|---:|---:|")
        for label, where in (("the process's own bucket", None), ("the shared budget", url)):
            run = asyncio.run(_flood(where, "cost", 1e9, sends=args.sends))
            sent = run["sent"]
            print(
                f"| {label} | {run['wall'] / sent * 1e6:,.1f} | {run['cpu'] / sent * 1e6:,.1f} "
                f"| {run['takes'] / sent:.2f} |"
            )
        n, seconds = args.processes, args.seconds
        print(f"\n2. {n} processes of one bot flooding together for {seconds:g} s at Telegram's "
              "30/s (a bucket of its own starts full: 30 more in the first second):")  # fmt: skip
        print("| tokens from | messages/s together | per process | round trips/send "
              "| the database's seconds: mean, busiest |")  # fmt: skip
        print("|---|---:|---:|---:|---:|")
        for label, shared, bot in (
            ("each its own bucket", False, "own"),
            ("the shared budget", True, "shared"),
        ):
            runs = _processes(url, bot, n, seconds, shared)
            sent = sum(r["sent"] for r in runs)
            rate = sent / max(
                r["wall"] for r in runs
            )  # to the last send (those waiting at the end)
            each = " / ".join(f"{r['sent'] / r['wall']:.1f}" for r in runs)
            trips = sum(r["takes"] for r in runs) / max(sent, 1)
            busiest = _seconds_of(url, bot) if shared else "-"
            print(f"| {label} | {rate:.1f} | {each} | {trips:.2f} | {busiest} |")


if __name__ == "__main__":
    main()
