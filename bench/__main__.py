"""`python -m bench`: benchmark the bot (see bench/README.md).

Five parts, each with a fresh sandbox process and a fresh SQLite file:
1. throughput: customers acting without pause at 0 ms API latency, then the echo floor on the
   very same updates; CPU per update, bookings/s, API calls per booking, writes per update;
2. latency: for each API latency and each number of concurrent customers (pausing between
   actions as people do), the latency percentiles; the chart;
3. memory: conversations left mid-booking, RAM per conversation;
4. reconcile: the Zimun calls per hour that noticing changes made at the business costs per
   100 upcoming bookings, for three mixes of how far ahead they are (simulated time).
5. waitlist: the Zimun calls per hour that watching waitlisted days costs, per waitlisted day,
   for four mixes of days and services (simulated time).
6. flood: one chat flooding the bot while the others book, against the same run without it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import reconcile, report, runner, waitlist

RESULTS = Path(__file__).with_name("results")


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--customers",
        type=_ints,
        default=[1, 10, 50, 100, 500],
        help="concurrent customers per latency run (default 1,10,50,100,500)",
    )
    parser.add_argument(
        "--latencies", type=_ints, default=[0, 50], help="Zimun API latencies in ms (default 0,50)"
    )
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="mean seconds a customer pauses between actions (default 3.0; the lone customer "
        "of the 1-customer run does not pause)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds customers keep acting, per latency run (default 10)",
    )
    parser.add_argument(
        "--manage-share",
        type=float,
        default=0.3,
        help="share of bookings followed by a reschedule or a cancel",
    )
    parser.add_argument("--throughput-customers", type=int, default=50)
    parser.add_argument(
        "--throughput-bookings",
        type=int,
        default=4,
        help="bookings per customer in the throughput run",
    )
    parser.add_argument(
        "--memory",
        type=_ints,
        default=[0, 1000, 10000],
        help="open conversations to measure memory at (default 0,1000,10000)",
    )
    parser.add_argument(
        "--memory-depth",
        choices=sorted(runner.DEPTHS),
        default="service",
        help="how far into a booking the memory run's conversations go (default: service, "
        "i.e. /start, Book, a branch; calendar adds a service and an availability call)",
    )
    parser.add_argument(
        "--flood",
        type=int,
        default=400,
        help="updates the flooding chat sends during the flood case's window (default 400)",
    )
    parser.add_argument(
        "--flood-customers",
        type=int,
        default=50,
        help="customers booking during the flood case (default 50)",
    )
    parser.add_argument(
        "--flood-latency", type=int, default=50, help="API latency of the flood case in ms"
    )
    parser.add_argument(
        "--skip",
        default="",
        help="parts to skip: throughput,latency,memory,reconcile,waitlist,flood",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: few customers, short runs, 0 and 500 conversations",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the throughput run with pyinstrument (bench/results/"
        "profile.html and .txt) and skip the other parts",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.customers, args.duration = [1, 10, 50], 4.0
        args.think = 1.0
        args.throughput_customers, args.throughput_bookings = 10, 2
        args.memory = [0, 500]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.profile:
        skip = {"latency", "memory", "reconcile", "waitlist", "flood"}
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    document: dict[str, Any] = {
        **report.run_header(args),
    }
    with tempfile.TemporaryDirectory(prefix="zimun-bench-") as tmp:
        work = Path(tmp)
        # Memory first, while the process's RSS has not yet grown for the other parts.
        if "memory" not in skip and args.memory:
            _say(f"memory: {', '.join(f'{n:,}' for n in args.memory)} open conversations")
            document["memory"] = runner.memory(
                work, sorted(set(args.memory)), depth=args.memory_depth
            )
            document["memory_depth"] = args.memory_depth
        if "throughput" not in skip:
            scenario = runner.Scenario(
                "throughput",
                customers=args.throughput_customers,
                bookings_each=args.throughput_bookings,
                manage_share=0.0,
                echo=True,
                profile=args.out / "profile.html" if args.profile else None,
            )
            _say(f"throughput: {scenario.customers} customers x {scenario.bookings_each} bookings")
            document["throughput"] = report.summarise(runner.run(scenario, work))
            _say(_short(document["throughput"]))
        if "latency" not in skip:
            document["latency"] = []
            for latency_ms in args.latencies:
                for customers in args.customers:
                    scenario = runner.Scenario(
                        f"latency-{latency_ms}ms-{customers}",
                        customers=customers,
                        latency_ms=latency_ms,
                        think=args.think,
                        duration=args.duration,
                        manage_share=args.manage_share,
                    )
                    _say(f"latency: {customers} customers, API {latency_ms} ms")
                    summary = report.summarise(runner.run(scenario, work))
                    document["latency"].append(summary)
                    _say(_short(summary))
        if "reconcile" not in skip:
            _say("reconcile: Zimun calls per hour per 100 upcoming bookings")
            document["reconcile"] = reconcile.measure(work)
        if "waitlist" not in skip:
            _say("waitlist: Zimun calls per hour per waitlisted day")
            document["waitlist"] = waitlist.measure(work)
        if "flood" not in skip and args.flood:
            document["flood"] = _flood(args, work)
    document["peak_rss_bytes"] = runner.peak_rss_bytes()
    document["targets"] = report.targets(document)
    document["elapsed_s"] = round(time.monotonic() - started, 1)
    kind = "profile" if args.profile else "bench"
    table = report.markdown(document)
    # latest.* are the last full measurement, not a profiled one
    latest = None if args.profile else "latest"
    json_path = report.save_run(args.out, kind, document, table, latest=latest)
    chart = None if args.profile else report.chart(document, args.out / "latency.png")
    print()
    print(table)
    print(f"JSON: {json_path}")
    if chart:
        print(f"chart: {chart}")
    if args.profile:
        print(f"profile: {args.out / 'profile.html'} and {args.out / 'profile.txt'}")
    print(f"({document['elapsed_s']} s)")
    return 0


def _flood(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """The same customers with and without a flooding chat, both under flood control."""
    runs: dict[str, Any] = {}
    for name, flood in (("without", 0), ("with", args.flood)):
        scenario = runner.Scenario(
            f"flood-{name}",
            customers=args.flood_customers,
            latency_ms=args.flood_latency,
            think=args.think,
            duration=args.duration,
            manage_share=args.manage_share,
            flood_control=True,
            flood=flood,
        )
        _say(f"flood: {scenario.customers} customers, {name} a chat sending {args.flood} updates")
        result = runner.run(scenario, work)
        runs[name] = report.summarise(result)
        _say(_short(runs[name]))
        if result.flooder is not None:
            runs["flooder"] = result.flooder
            _say(f"  flooder: {result.flooder}")
    return runs


def _say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr, flush=True)


def _short(summary: dict[str, Any]) -> str:
    lat = summary["latency_ms"]
    extra = ""
    if "cpu_ratio_to_echo" in summary:
        echo = summary["echo_floor"]["cpu_ms_per_update"]
        extra = f", echo {echo} ms ({summary['cpu_ratio_to_echo']}x)"
    return (
        f"  {summary['updates']} updates in {summary['wall_s']} s: p50 {lat['p50']} ms, "
        f"p95 {lat['p95']} ms, p99 {lat['p99']} ms, CPU {summary['cpu_ms_per_update']} ms/update"
        f"{extra}; {summary['bookings']} bookings, {summary['failed_journeys']} failed"
    )


if __name__ == "__main__":
    sys.exit(main())
