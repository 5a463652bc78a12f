"""`python -m bench.fleet`: many businesses in one process (issue 19's bars).

For each fleet size (default 1, 100 and 1,000 businesses) a fresh process (so its memory and
file descriptors are its own, under `ulimit -n 1024`) serves N businesses in webhook mode:

- one sandbox process serves every business's credentials (a client each, one organization),
  at `--latency` ms per API call; the businesses reach it through the one shared Zimun pool;
- every business's bot has its own token and its own in-process Bot API (bench/fleet_api.py),
  reached through the shared SharedRequest and httpx client, without sockets; its updates are
  delivered as a webhook delivers them (the JSON body parsed, an Update put on the
  Application's queue);
- the businesses are built by `build_fleet` (bench/fleet_builders.py), the one function to
  change when the way a process builds its businesses changes.

Measured, in order: the time until every business serves; RSS, open file descriptors and a
full garbage collection's pause once idle; the CPU the idle fleet spends per second; then
customers (`--customers`, spread over the businesses round-robin) walk unmeasured a random
number of steps into a booking, then book for `--duration` seconds pausing `--think` seconds on
average between actions (about 100 updates a second in all): CPU per update and reply latency
(p50/p95/p99, from the moment the update is posted to the bot's last Bot API call for it), and
how late the event loop ran (a machine shared with other work shows there). Memory per
business is the RSS above the one-business run, divided by the businesses added; the first
size is the reference.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results")
FD_LIMIT = 1024  # the bar: `ulimit -n 1024` is enough for 1,000 businesses


@dataclass(frozen=True)
class FleetScenario:
    businesses: int
    customers: int = 1000
    think: float = 10.0  # mean seconds between a customer's actions: ~100 updates/s in all
    duration: float = 20.0  # seconds of measured load
    latency_ms: int = 50
    idle: float = 30.0  # seconds of the idle measurement: a round of every business's scans
    manage_share: float = 0.3
    builder: str = "process"  # bench.fleet_builders.BUILDERS
    open_days: int | None = 14  # the businesses' booking window at the sandbox


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__)
    parser.add_argument(
        "--businesses",
        type=lambda v: [int(x) for x in v.split(",") if x.strip()],
        default=[1, 100, 1000],
        help="fleet sizes (default 1,100,1000; the first is the reference)",
    )
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--think", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--latency", type=int, default=50, help="Zimun API latency in ms")
    parser.add_argument(
        "--idle",
        type=float,
        default=30.0,
        help="seconds of the idle measurement (default 30: every business's background scans "
        "run once in it)",
    )
    parser.add_argument(
        "--open-days",
        type=int,
        default=14,
        help="days ahead the sandbox's businesses open for booking (default 14; 0: no limit). "
        "Each business caches its own calendars, so a fleet asks Zimun for many more of them "
        "than one business does; a 91-day calendar is ~310 KB and the one sandbox process "
        "answers about 30 a second, which at 100 businesses and more made it the bottleneck",
    )
    parser.add_argument(
        "--builder",
        choices=("process", "today"),
        default="process",
        help="how the businesses are built: as python -m bot does with BUSINESSES_FILE "
        "(default), or N copies of the one-business Application (issue 19's prototype)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 1, 20 and 100 businesses, 200 customers, 6 s of load",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.businesses, args.customers, args.think = [1, 20, 100], 200, 2.0
        args.duration, args.idle = 6.0, 5.0
    return args


# ---- one fleet size, in its own process ------------------------------------------------------


def measure(scenario: FleetScenario) -> dict[str, Any]:
    """Run one fleet size in a fresh process; its figures."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_child, args=(child, scenario), name="fleet-bench")
    process.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:
        result = {"error": f"the benchmark process died (exit {process.exitcode})"}
    process.join()
    parent.close()
    if isinstance(result, BaseException):
        raise result
    return result


def _child(conn: Any, scenario: FleetScenario) -> None:
    try:
        _limit_fds()
        conn.send(asyncio.run(_run(scenario)))
    except BaseException as exc:
        conn.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        conn.close()


def _limit_fds() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= FD_LIMIT:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, hard))


async def _run(scenario: FleetScenario) -> dict[str, Any]:
    from bench.fleet_builders import build_fleet
    from bench.runner import NOW, clock_from
    from bench.sandbox_process import SandboxProcess
    from bot.store.storage import Storage
    from bot.wiring import tune_gc

    figures: dict[str, Any] = {"businesses": scenario.businesses}
    with (
        tempfile.TemporaryDirectory(prefix="zimun-fleet-") as tmp,
        SandboxProcess(
            latency_ms=scenario.latency_ms,
            now=NOW,
            clients=scenario.businesses,
            open_days=scenario.open_days,
        ) as sandbox,
    ):
        assert sandbox.info is not None
        gc.collect()
        _trim()
        figures["rss_before_bytes"] = rss_bytes()
        figures["fds_before"] = open_fds()
        storage = Storage(str(Path(tmp) / "fleet.db"), now=clock_from(NOW))
        fleet = build_fleet(
            sandbox.info,
            storage,
            scenario.businesses,
            now=clock_from(NOW),
            builder=scenario.builder,
        )
        try:
            started = time.perf_counter()
            await fleet.start()
            figures["all_serving_s"] = round(time.perf_counter() - started, 2)
            figures["serving"] = fleet.serving()
            figures.update(_at_rest())
            tune_gc()  # as python -m bot does once built
            cpu = time.process_time()
            await asyncio.sleep(scenario.idle)
            idle_cpu = time.process_time() - cpu
            figures["idle_cpu_ms_per_s"] = round(1000 * idle_cpu / scenario.idle, 3)
            figures["fds_idle"] = open_fds()
            figures.update(await _load(fleet, scenario, sandbox, spread=True))
            figures["fds_after_load"] = open_fds()
            if scenario.businesses > 1:
                # The same traffic on one business of the fleet: what hosting the others costs
                # that business, apart from their colder caches.
                figures["one_active"] = await _load(fleet, scenario, sandbox, spread=False)
            figures["rss_after_load_bytes"] = rss_bytes()
        finally:
            await fleet.stop()
            storage.close()
            gc.unfreeze()
    return figures


def _at_rest() -> dict[str, Any]:
    """RSS, open descriptors and one full collection's pause, once every business serves."""
    gc.collect()
    started = time.perf_counter()
    gc.collect()
    pause = time.perf_counter() - started
    _trim()
    return {
        "rss_serving_bytes": rss_bytes(),
        "fds_serving": open_fds(),
        "full_gc_ms": round(1000 * pause, 2),
        "gc_objects": len(gc.get_objects()),
    }


async def _load(
    fleet: Any, scenario: FleetScenario, sandbox: Any, *, spread: bool
) -> dict[str, Any]:
    """Customers booking over every business: first each walks, without pause and unmeasured,
    a random number of steps into a booking (so that the window sees every step of a journey
    in its share: holds, confirmations and calendars, not only greetings); then, for
    `scenario.duration` seconds, they act pausing between actions as people do. `spread`:
    customer i talks to business i mod N; otherwise all to the first business."""
    from bench.customers import Samples, Window, customer
    from bench.report import ms, percentile

    samples = Samples()
    window = Window(scenario.customers, scenario.duration)
    task = asyncio.gather(
        *(
            customer(
                fleet.api(i % scenario.businesses if spread else 0),
                (10_000 if spread else 1_000_000) + i,
                samples,
                think=scenario.think,
                manage_share=scenario.manage_share,
                window=window,
            )
            for i in range(scenario.customers)
        )
    )
    await window.opened.wait()
    sandbox.reset_stats()
    sandbox_cpu = sandbox.cpu_seconds()
    lag = LoopLag()
    cpu, wall, updates = time.process_time(), time.perf_counter(), samples.updates
    await asyncio.sleep(scenario.duration)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    updates = samples.updates - updates
    lags = lag.stop()
    sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
    calls = sum(sandbox.stats()["requests"].values())
    await task  # the customers stop at their next action
    lat = samples.latencies
    return {
        # Each business caches its own catalog and calendars (they are its own): the more
        # businesses share the traffic, the more of it asks Zimun.
        "zimun_calls_per_update": round(calls / max(updates, 1), 3),
        "sandbox_cpu_utilisation": round(sandbox_cpu / wall, 3),
        "updates": updates,
        "wall_s": round(wall, 2),
        "updates_per_s": round(updates / wall, 1),
        "bookings": samples.bookings,
        "failed_journeys": samples.failures,
        "cpu_ms_per_update": round(1000 * cpu / max(updates, 1), 3),
        "bot_cpu_utilisation": round(cpu / wall, 3),
        "latency_ms": {
            "p50": ms(percentile(lat, 50)),
            "p95": ms(percentile(lat, 95)),
            "p99": ms(percentile(lat, 99)),
        },
        "loop_lag_ms": {"p99": ms(percentile(lags, 99)), "max": ms(max(lags, default=0.0))},
        "load_average": round(os.getloadavg()[0], 2),
    }


class LoopLag:
    """How late the event loop wakes a 10 ms sleep: how long it was blocked (a busy process,
    a garbage collection, or a machine shared with other work)."""

    TICK = 0.01

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.lags.append(max(0.0, time.perf_counter() - started - self.TICK))

    def stop(self) -> list[float]:
        self._task.cancel()
        return self.lags


# ---- measures ----------------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# ---- the report ----------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-business figures against the first (reference) run, and the bars."""
    base = runs[0]
    for run in runs:
        added = run["businesses"] - base["businesses"]
        run["rss_per_business_bytes"] = (
            round((run["rss_serving_bytes"] - base["rss_serving_bytes"]) / added) if added else None
        )
        run["fds_per_business"] = (
            round((run["fds_idle"] - base["fds_idle"]) / added, 4) if added else None
        )
        run["idle_cpu_ms_per_s_per_business"] = round(
            run["idle_cpu_ms_per_s"] / run["businesses"], 4
        )
        for phase in (run, run.get("one_active")):
            if phase is None:
                continue
            phase["cpu_ratio"] = round(phase["cpu_ms_per_update"] / base["cpu_ms_per_update"], 2)
            p95, base_p95 = phase["latency_ms"]["p95"], base["latency_ms"]["p95"]
            phase["p95_ratio"] = round(p95 / base_p95, 2) if p95 and base_p95 else None
    biggest = runs[-1]
    return {
        "all serving within 60 s": biggest["all_serving_s"] <= 60,
        "memory <= 2 MB per business": (biggest["rss_per_business_bytes"] or 0) <= 2 * 2**20,
        "fds <= 0.1 per business": (biggest["fds_per_business"] or 0) <= 0.1,
        f"fds within ulimit -n {FD_LIMIT}": biggest["fds_after_load"] < FD_LIMIT,
        "CPU per update <= 1.2x (spread)": biggest["cpu_ratio"] <= 1.2,
        "p95 <= 1.5x (spread)": (biggest["p95_ratio"] or 0) <= 1.5,
        **(
            {
                "CPU per update <= 1.2x (one active)": one["cpu_ratio"] <= 1.2,
                "p95 <= 1.5x (one active)": (one["p95_ratio"] or 0) <= 1.5,
            }
            if (one := biggest.get("one_active"))
            else {}
        ),
    }


def markdown(document: dict[str, Any]) -> str:
    runs = document["runs"]
    settings = document["settings"]
    mb = 2**20
    lines = [
        f"Fleet, webhook mode, Zimun API {settings['latency']} ms; "
        f"{document['machine']['cpus']} cores",
        "",
        "| businesses | all serving | RSS serving | RSS / business | fds idle | fds / business "
        "| fds after load | full GC | idle CPU / business |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        per = r["rss_per_business_bytes"]
        lines.append(
            f"| {r['businesses']:,} | {r['all_serving_s']} s | {r['rss_serving_bytes'] / mb:.1f} MB"
            f" | {'—' if per is None else f'{per / mb:.2f} MB'} | {r['fds_idle']}"
            f" | {'—' if r['fds_per_business'] is None else r['fds_per_business']}"
            f" | {r['fds_after_load']} | {r['full_gc_ms']} ms"
            f" | {r['idle_cpu_ms_per_s_per_business']} ms/s |"
        )
    lines += [
        "",
        f"{settings['customers']} customers, ~{settings['customers'] / settings['think']:.0f} "
        f"updates/s, {settings['duration']} s; spread: customer i talks to business i mod N; "
        "one active: all talk to one business of the fleet",
        "",
        "| businesses | traffic | updates/s | CPU / update | p50 | p95 | p99 "
        "| Zimun calls / update | sandbox CPU | loop lag p99 | load avg |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        phases = [("spread", r)] + ([("one active", r["one_active"])] if "one_active" in r else [])
        for name, p in phases:
            lat = p["latency_ms"]
            lines.append(
                f"| {r['businesses']:,} | {name} | {p['updates_per_s']}"
                f" | {p['cpu_ms_per_update']} ms ({p['cpu_ratio']}x)"
                f" | {lat['p50']} ms | {lat['p95']} ms ({p['p95_ratio']}x) | {lat['p99']} ms"
                f" | {p['zimun_calls_per_update']} | {p['sandbox_cpu_utilisation']:.0%}"
                f" | {p['loop_lag_ms']['p99']} ms | {p['load_average']} |"
            )
    lines += ["", "| bar (largest fleet) | met |", "|---|---|"]
    lines += [f"| {bar} | {'yes' if ok else 'NO'} |" for bar, ok in document["bars"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from bench import report

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    document: dict[str, Any] = {
        **report.run_header(args),
        "runs": [],
    }
    for size in args.businesses:
        scenario = FleetScenario(
            size,
            customers=args.customers,
            think=args.think,
            duration=args.duration,
            latency_ms=args.latency,
            idle=args.idle,
            builder=args.builder,
            open_days=args.open_days or None,
        )
        _say(f"fleet: {size:,} businesses")
        run = measure(scenario)
        if "error" in run:
            raise SystemExit(f"fleet of {size}: {run['error']}")
        run["scenario"] = asdict(scenario)
        document["runs"].append(run)
        lat = run["latency_ms"]
        _say(
            f"  all serving in {run['all_serving_s']} s, RSS {run['rss_serving_bytes'] >> 20} MB,"
            f" fds {run['fds_idle']}, CPU {run['cpu_ms_per_update']} ms/update,"
            f" p95 {lat['p95']} ms, {run['updates']} updates"
        )
    document["bars"] = summarise(document["runs"])
    document["elapsed_s"] = round(time.monotonic() - started, 1)
    table = markdown(document)
    path = report.save_run(args.out, "fleet", document, table, latest="fleet-latest")
    print()
    print(table)
    print(f"JSON: {path}")
    print(f"({document['elapsed_s']} s)")
    return 0


def _say(text: str) -> None:
    print(f"[bench.fleet] {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
