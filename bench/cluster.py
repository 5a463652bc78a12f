"""`python -m bench.cluster`: issue 20's bars, printed (bench/README.md, "PostgreSQL and
several processes"). Nothing is asserted.

1. stores: the bot on PostgreSQL against the bot on SQLite in the same run (bench/cluster_store.py):
   the main benchmark's customers, fake Bot API and sandbox process; p50/p95 reply latency of
   customers pausing between actions, and CPU per update of customers acting without pause.
   PostgreSQL is started here on loopback from the machine's binaries (tests/postgres.py) with
   its durable defaults (fsync on), and measured with synchronous_commit off (the headline:
   what SQLite's WAL with synchronous=NORMAL promises, neither waits for the disk at commit)
   and on (PostgreSQL's default: every commit waits for its WAL flush).
2. processes: N `python -m bot` processes in webhook mode on one PostgreSQL behind a loopback
   round-robin proxy (bench/cluster_procs.py): updates a second on a CPU-bound load for each N;
   failover (bench/failover.py): SIGKILL of one webhook process to the first update the
   survivor answers, and the polling owner's SIGKILL to the standby's takeover.

Writes bench/results/cluster-<n>.json, cluster-latest.json and cluster-latest.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import cluster_store, report, runner
from bench.cluster_procs import postgres_cpu

RESULTS = Path(__file__).with_name("results")
P50_BAR_MS = 2.0  # PostgreSQL adds at most 2 ms at p50 on loopback (issue 20)
SYNC_MODES = ("off", "on")
# (label, synchronous_commit or None for SQLite, with python -m bot's coordination on PostgreSQL)
STORES = (
    ("sqlite", None, False),
    ("pg-sync-off", "off", False),
    ("pg-sync-on", "on", False),
    ("pg-sync-off-coordinated", "off", True),
)


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--customers", type=int, default=20, help="latency run (default 20)")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause, s (default 1.0)")
    parser.add_argument("--duration", type=float, default=10.0, help="latency window, s")
    parser.add_argument("--latency", type=int, default=0, help="Zimun API latency, ms")
    parser.add_argument("--cpu-customers", type=int, default=20)
    parser.add_argument("--cpu-bookings", type=int, default=3)
    parser.add_argument("--lone-bookings", type=int, default=8, help="the lone customer's")
    parser.add_argument(
        "--processes", type=_ints, default=[1, 2], help="bot processes to compare (default 1,2)"
    )
    parser.add_argument("--load-customers", type=int, default=40, help="processes part")
    parser.add_argument("--load-duration", type=float, default=15.0, help="processes part, s")
    parser.add_argument(
        "--cpu-cap",
        type=float,
        default=0.4,
        help="share of a core each process gets in the capped runs (0: none; default 0.4)",
    )
    parser.add_argument("--failover-rounds", type=int, default=3, help="bench/failover.py's")
    parser.add_argument("--skip", default="", help="parts to skip: stores,processes,failover")
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.duration = 10, 4.0
        args.cpu_customers, args.cpu_bookings, args.lone_bookings = 10, 2, 3
        args.load_customers, args.load_duration = 20, 6.0
        args.failover_rounds = 1
    return args


@contextmanager
def postgres() -> Iterator[Any]:
    """A PostgreSQL of this run's own, with PostgreSQL's durable defaults (fsync on)."""
    from tests.postgres import find_bindir, running_postgres

    bindir = find_bindir()
    if bindir is None:  # make bench goes on without this part, saying why
        _say("no PostgreSQL binaries (initdb, pg_ctl) on this machine: nothing measured")
        yield None
        return
    with running_postgres(bindir, durable=True) as server:
        yield server


def fresh_database(server: Any, name: str, sync: str | None = None) -> str:
    """A new empty database on `server`; its URL, with synchronous_commit set if given."""
    server.admin(f"CREATE DATABASE {name} TEMPLATE template0")
    url = server.url(name)
    if sync is not None:
        url += f"?options=-c%20synchronous_commit%3D{sync}"
    return url


def stores(args: argparse.Namespace, server: Any, work: Path) -> dict[str, Any]:
    """Each scenario on SQLite, then on PostgreSQL with each synchronous_commit."""
    latency = runner.Scenario(
        "latency",
        customers=args.customers,
        latency_ms=args.latency,
        think=args.think,
        duration=args.duration,
    )
    cpu = runner.Scenario(
        "cpu",
        customers=args.cpu_customers,
        latency_ms=args.latency,
        bookings_each=args.cpu_bookings,
        manage_share=0.0,
    )
    lone = runner.Scenario(
        "lone",
        customers=1,
        latency_ms=args.latency,
        bookings_each=args.lone_bookings,
        manage_share=0.0,
    )
    runs: dict[str, Any] = {}
    for scenario in (latency, lone, cpu):
        for label, sync, coordinated in STORES:
            name = f"{scenario.name}_{label.replace('-', '_')}"
            url = "" if sync is None else fresh_database(server, name, sync)
            _say(f"stores: {scenario.name}, {label}")
            server_cpu = postgres_cpu(server)
            summary = cluster_store.run(scenario, work / f"{name}.db", url, coordinated)
            if sync is not None:  # the server's share, warm-up booking included
                used = postgres_cpu(server) - server_cpu
                summary["postgres_cpu_ms_per_update"] = round(
                    1000 * used / max(summary["updates"], 1), 3
                )
            summary["load_average_1m"] = round(os.getloadavg()[0], 2)
            runs.setdefault(scenario.name, {})[label] = summary
            _say(_short(summary))
    return runs


def store_rows(runs: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label in runs.get("latency", {}):
        lat = runs["latency"][label]
        cpu = runs.get("cpu", {}).get(label, {})
        lone = runs.get("lone", {}).get(label, {}).get("latency_ms", {})
        rows.append(
            {
                "store": label,
                "p50_ms": lat["latency_ms"]["p50"],
                "p95_ms": lat["latency_ms"]["p95"],
                "p99_ms": lat["latency_ms"]["p99"],
                "latency_updates": lat["updates"],
                "lone_p50_ms": lone.get("p50"),
                "lone_p95_ms": lone.get("p95"),
                "load_average_1m": lat.get("load_average_1m"),
                "latency_cpu_ms_per_update": lat["cpu_ms_per_update"],
                "cpu_ms_per_update": cpu.get("cpu_ms_per_update"),
                "cpu_updates_per_s": cpu.get("updates_per_s"),
                "postgres_cpu_ms_per_update": cpu.get("postgres_cpu_ms_per_update"),
                "writes_per_update": cpu.get("sqlite_writes_per_update"),
                "failed_journeys": lat["failed_journeys"] + cpu.get("failed_journeys", 0),
            }
        )
    return rows


def bars(document: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    table = {r["store"]: r for r in document.get("stores_table", [])}
    base = table.get("sqlite")
    for label in [f"pg-sync-{sync}" for sync in SYNC_MODES] + ["pg-sync-off-coordinated"]:
        pg = table.get(label)
        for key, who in (("p50_ms", "customers pausing"), ("lone_p50_ms", "one alone")):
            if not (base and pg) or base[key] is None or pg[key] is None:
                continue
            added = round(pg[key] - base[key], 2)
            rows.append(
                {
                    "bar": f"{label} adds ≤ {P50_BAR_MS} ms at p50 to SQLite's ({who})",
                    "measured": f"{added:+} ms",
                    "met": added <= P50_BAR_MS,
                }
            )
    procs = document.get("processes", {}).get("load", [])
    # Compared behind the proxy alike (cluster_procs: one process is also posted to directly)
    free = {p["processes"]: p for p in procs if p.get("proxied") and not p.get("cpu_cap")}
    capped = {p["processes"]: p for p in procs if p.get("cpu_cap")}
    if 1 in capped and 2 in capped and capped[1]["updates_per_s"]:
        ratio = round(capped[2]["updates_per_s"] / capped[1]["updates_per_s"], 2)
        rows.append(
            {
                "bar": "two processes carry about twice one's updates/s on a CPU-bound load "
                f"(each process capped at {capped[1]['cpu_cap']} of a core)",
                "measured": f"{ratio}×",
                "met": ratio >= 1.8,
            }
        )
    if 1 in free and 2 in free and free[1]["updates_per_s"]:
        ratio = round(free[2]["updates_per_s"] / free[1]["updates_per_s"], 2)
        rows.append(
            {
                "bar": "the same, uncapped, sharing this machine's cores (printed)",
                "measured": f"{ratio}× on {os.cpu_count()} cores",
                "met": ratio >= 1.8,
            }
        )
        one, two = free[1].get("updates_per_bot_cpu_s"), free[2].get("updates_per_bot_cpu_s")
        if one and two:
            rows.append(
                {
                    "bar": "an update costs two processes the bot CPU it costs one "
                    "(updates per bot CPU-second, printed)",
                    "measured": f"{two} against {one} ({round(two / one, 2)}×)",
                    "met": two / one >= 0.9,
                }
            )
    failover = document.get("processes", {}).get("failover", {})
    if failover.get("polling_takeover_worst_s") is not None:
        took = failover["polling_takeover_worst_s"]
        rows.append(
            {
                "bar": "polling taken over within 15 s of the owner's SIGKILL (worst round)",
                "measured": f"{took} s",
                "met": took <= 15.0,
            }
        )
    if failover.get("webhook_first_answer_s") is not None:
        rows.append(
            {
                "bar": "webhook: SIGKILL to the first update the survivor answers (printed)",
                "measured": f"{failover['webhook_first_answer_s']} s median, "
                f"{failover['webhook_first_answer_worst_s']} s worst",
                "met": True,
            }
        )
    return rows


def markdown(document: dict[str, Any]) -> str:
    lines = []
    if document.get("stores_table"):
        lines += [
            "### The bot on SQLite and on PostgreSQL (one process, loopback)",
            "",
            f"{document['settings']['customers']} customers pausing (p50/p95/p99), one alone "
            "without pause (lone), "
            f"{document['settings']['cpu_customers']} without pause (CPU, updates/s)",
            "",
            "| store | p50 ms | p95 ms | p99 ms | lone p50 ms | lone p95 ms | CPU ms/update "
            "(paced) | CPU ms/update (no pause) | PostgreSQL server CPU ms/update (no pause) | "
            "updates/s (no pause) | store writes/update | failed | load avg |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in document["stores_table"]:
            lines.append(
                f"| {r['store']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
                f"{r['lone_p50_ms']} | {r['lone_p95_ms']} | "
                f"{r['latency_cpu_ms_per_update']} | {r['cpu_ms_per_update']} | "
                f"{r['postgres_cpu_ms_per_update'] or ''} | "
                f"{r['cpu_updates_per_s']} | {r['writes_per_update']} | {r['failed_journeys']} | "
                f"{r['load_average_1m']} |"
            )
        lines.append("")
    if document.get("round_trip_ms"):
        trips = ", ".join(f"{k} {v} ms" for k, v in document["round_trip_ms"].items())
        lines += [f"One loopback round trip to PostgreSQL (`SELECT 1`, p50): {trips}.", ""]
    procs = document.get("processes", {})
    if procs.get("load"):
        lines += [
            "### Processes in webhook mode on one PostgreSQL, behind a round-robin proxy",
            "",
            "CPU in seconds a second: the bot processes together, PostgreSQL, the proxy (a "
            "process of its own) and the driver (the fake Bot API, the webhook deliveries and "
            "the customers: one process)",
            "",
            "| processes | proxy | CPU cap | updates | updates/s | p50 ms | p95 ms | bot CPU | "
            "bot CPU ms/update | updates per bot CPU-s | PostgreSQL CPU | proxy CPU | driver CPU | "
            "load avg | failed |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for p in procs["load"]:
            lines.append(
                f"| {p['processes']} | {'yes' if p.get('proxied') else 'no'} | "
                f"{p.get('cpu_cap') or ''} | {p['updates']} | "
                f"{p['updates_per_s']} | {p['p50_ms']} | "
                f"{p['p95_ms']} | {p['bot_cpu_per_s']} | {p['bot_cpu_ms_per_update']} | "
                f"{p.get('updates_per_bot_cpu_s', '')} | {p['postgres_cpu_per_s']} | "
                f"{p.get('proxy_cpu_per_s', '')} | {p['driver_cpu_per_s']} | "
                f"{p['load_average_1m']} | {p['failed']} |"
            )
        lines.append("")
    if procs.get("failover"):
        f = procs["failover"]
        lines += ["### Failover", ""]
        for key, value in f.items():
            lines.append(f"- {key}: {value}")
        lines.append("")
    if document.get("bars"):
        lines += ["### Bars (issue 20)", "", "| bar | measured | met |", "|---|---|---|"]
        for b in document["bars"]:
            lines.append(f"| {b['bar']} | {b['measured']} | {'yes' if b['met'] else 'no'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    document: dict[str, Any] = {
        **report.run_header(args),
    }
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zimun-cluster-")))
        server = stack.enter_context(postgres())
        if server is None:
            skip |= {"stores", "processes", "failover"}
        if "stores" not in skip:
            document["stores"] = stores(args, server, work)
            document["stores_table"] = store_rows(document["stores"])
            _say("stores: one loopback round trip to PostgreSQL, hot and after idling")
            document["round_trip_ms"] = cluster_store.round_trips(server.url())
            _say(f"  {document['round_trip_ms']}")
        if not {"processes", "failover"} <= skip:
            from bench import cluster_procs

            document["processes"] = cluster_procs.measure(args, server, work, skip, _say)
    document["bars"] = bars(document)
    document["elapsed_s"] = round(time.monotonic() - started, 1)
    table = markdown(document)
    json_path = report.save_run(args.out, "cluster", document, table, latest="cluster-latest")
    print()
    print(table)
    print(f"JSON: {json_path}")
    print(f"({document['elapsed_s']} s)")
    return 0


def _say(text: str) -> None:
    print(f"[cluster] {text}", file=sys.stderr, flush=True)


def _short(summary: dict[str, Any]) -> str:
    lat = summary["latency_ms"]
    return (
        f"  {summary['updates']} updates in {summary['wall_s']} s: p50 {lat['p50']} ms, "
        f"p95 {lat['p95']} ms, CPU {summary['cpu_ms_per_update']} ms/update; "
        f"{summary['bookings']} bookings, {summary['failed_journeys']} failed"
    )


if __name__ == "__main__":
    sys.exit(main())
