"""Figures from scenario results: the JSON document, the markdown tables, the chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.runner import Result

DEPTH_NAMES = {
    "location": "/start, Book: the branch list on screen",
    "service": "/start, Book, a branch: the service list on screen",
    "calendar": "/start, Book, a branch, a service: the calendar on screen",
}
TARGET_CPU_RATIO = 3.0
TARGET_P95_RATIO = 2.0
TARGET_CALLS_PER_BOOKING = 3.0  # availability, hold, confirm (issue 9)
TARGET_BYTES_PER_CONVERSATION = 2048
TARGET_FLOOD_P95_RATIO = 1.5


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def summarise(result: Result) -> dict[str, Any]:
    """One scenario as a JSON-friendly mapping."""
    s = result.samples
    sc = result.scenario
    updates = max(s.updates, 1)
    bookings = max(s.bookings, 1)
    client_calls: dict[str, int] = result.client.get("calls", {})
    conflicts = result.sandbox.get("responses", {}).get("POST /appointments/hold 409", 0)
    sandbox_calls: dict[str, int] = result.sandbox.get("requests", {})
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "customers": sc.customers,
        "api_latency_ms": sc.latency_ms,
        "think_s": sc.think,
        "wall_s": round(result.wall, 3),
        "updates": s.updates,
        "bookings": s.bookings,
        "reschedules": s.reschedules,
        "cancels": s.cancels,
        "failed_journeys": s.failures,
        "updates_per_s": round(s.updates / result.wall, 1) if result.wall else None,
        "bookings_per_s": round(s.bookings / result.wall, 2) if result.wall else None,
        "latency_ms": {
            "p50": ms(percentile(s.latencies, 50)),
            "p95": ms(percentile(s.latencies, 95)),
            "p99": ms(percentile(s.latencies, 99)),
            "max": ms(max(s.latencies, default=None) if s.latencies else None),
        },
        "cpu_ms_per_update": round(1000 * result.cpu / updates, 3),
        "bot_cpu_utilisation": round(result.cpu / result.wall, 3) if result.wall else None,
        "sandbox_cpu_ms_per_update": round(1000 * result.sandbox_cpu / updates, 3),
        "sqlite_writes_per_update": round(result.writes / updates, 3),
        "api_calls_per_booking": {k: round(v / bookings, 3) for k, v in client_calls.items()},
        "api_calls_per_booking_total": round(sum(client_calls.values()) / bookings, 3),
        # A time someone else took just before (409) costs the hold and a fresh list of times.
        "slot_conflicts": conflicts,
        "api_calls_per_booking_without_conflicts": round(
            (sum(client_calls.values()) - 2 * conflicts) / bookings, 3
        ),
        "sandbox_requests": sandbox_calls,
        "sandbox_responses": result.sandbox.get("responses", {}),
        "token_requests": {
            "client": result.client.get("token_requests"),
            "sandbox": result.sandbox.get("token_requests"),
        },
        "client_retries": result.client.get("retries"),
        "bot_api_calls_per_update": {
            k: round(v / updates, 3) for k, v in sorted(result.bot_api_calls.items()) if v
        },
        "sandbox_store": result.store,
    }
    if result.echo_cpu is not None and result.echo_updates:
        echo = 1000 * result.echo_cpu / result.echo_updates
        summary["echo_floor"] = {
            "updates": result.echo_updates,
            "cpu_ms_per_update": round(echo, 3),
            "latency_ms_p50": ms(percentile(result.echo_latencies, 50)),
            "latency_ms_p95": ms(percentile(result.echo_latencies, 95)),
        }
        summary["cpu_ratio_to_echo"] = round(summary["cpu_ms_per_update"] / echo, 2)
    return summary


def targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 5 with the measured figure and whether it is met."""
    rows: list[dict[str, Any]] = []
    throughput = document.get("throughput")
    if throughput and "cpu_ratio_to_echo" in throughput:
        ratio = throughput["cpu_ratio_to_echo"]
        rows.append(
            _target(
                "CPU per update vs echo floor",
                f"≤ {TARGET_CPU_RATIO}×",
                ratio,
                ratio <= TARGET_CPU_RATIO,
                f"{ratio}×",
            )
        )
    latency = [s for s in document.get("latency", []) if s["api_latency_ms"] == 50]
    single = next((s for s in latency if s["customers"] == 1), None)
    biggest = max(latency, key=lambda s: s["customers"], default=None)
    if single and biggest and biggest is not single and single["latency_ms"]["p95"]:
        ratio = round(biggest["latency_ms"]["p95"] / single["latency_ms"]["p95"], 2)
        rows.append(
            _target(
                f"p95 at {biggest['customers']} customers vs 1 (50 ms API)",
                f"< {TARGET_P95_RATIO}×",
                ratio,
                ratio < TARGET_P95_RATIO,
                f"{biggest['latency_ms']['p95']} ms vs {single['latency_ms']['p95']} ms = {ratio}×",
            )
        )
    if throughput:
        calls = throughput["api_calls_per_booking_total"]
        clean = throughput["api_calls_per_booking_without_conflicts"]
        conflicts = throughput["slot_conflicts"]
        shown = (
            f"{clean:g}"
            if not conflicts
            else f"{clean:g} ({calls:g} with {conflicts} slot conflicts)"
        )
        rows.append(
            _target(
                "API calls per booking (warm caches, month changes included)",
                f"≤ {TARGET_CALLS_PER_BOOKING:g}",
                clean,
                clean <= TARGET_CALLS_PER_BOOKING,
                shown,
            )
        )
        tokens = throughput["token_requests"]["sandbox"]
        rows.append(
            _target(
                "token requests in one token lifetime",
                "1 (0 once warm)",
                tokens,
                tokens == 0,
                f"{tokens} during the run (1 at warm-up)",
            )
        )
    flood = document.get("flood")
    if flood and "with" in flood and "without" in flood:
        calm, flooded = flood["without"]["latency_ms"]["p95"], flood["with"]["latency_ms"]["p95"]
        if calm and flooded:
            ratio = round(flooded / calm, 2)
            rows.append(
                _target(
                    f"p95 of {flood['with']['customers']} customers, one chat flooding vs none",
                    f"≤ {TARGET_FLOOD_P95_RATIO}×",
                    ratio,
                    ratio <= TARGET_FLOOD_P95_RATIO,
                    f"{flooded} ms vs {calm} ms = {ratio}×",
                )
            )
    memory = document.get("memory")
    if memory:
        last = memory[-1]
        per = last.get("traced_per_conversation")
        if per is not None:
            rows.append(
                _target(
                    f"RAM per idle conversation ({last['conversations']:,} open)",
                    f"< {TARGET_BYTES_PER_CONVERSATION} B",
                    round(per),
                    per < TARGET_BYTES_PER_CONVERSATION,
                    f"{per:.0f} B Python heap, {last['rss_per_conversation']:.0f} B RSS",
                )
            )
    return rows


def _target(name: str, goal: str, value: Any, met: bool, shown: str) -> dict[str, Any]:
    return {"target": name, "goal": goal, "value": value, "met": met, "shown": shown}


def markdown(document: dict[str, Any]) -> str:
    lines: list[str] = []
    throughput = document.get("throughput")
    if throughput:
        echo = throughput.get("echo_floor", {})
        lines += [
            f"Throughput (latency 0 ms, {throughput['customers']} customers acting without pause, "
            f"{throughput['updates']} updates):",
            "",
            "| figure | bot | echo floor | ratio |",
            "|---|---:|---:|---:|",
            f"| updates/s | {throughput['updates_per_s']} | | |",
            f"| bookings/s | {throughput['bookings_per_s']} | | |",
            f"| CPU per update | {throughput['cpu_ms_per_update']} ms | "
            f"{echo.get('cpu_ms_per_update', '–')} ms | "
            f"{throughput.get('cpu_ratio_to_echo', '–')}× |",
            f"| latency p50 / p95 | {throughput['latency_ms']['p50']} / "
            f"{throughput['latency_ms']['p95']} ms | {echo.get('latency_ms_p50', '–')} / "
            f"{echo.get('latency_ms_p95', '–')} ms | |",
            f"| SQLite writes per update | {throughput['sqlite_writes_per_update']} | | |",
            f"| Zimun API calls per booking | {throughput['api_calls_per_booking_total']} "
            f"({_calls(throughput['api_calls_per_booking'])}) | | |",
            f"| token requests during the run | {throughput['token_requests']['sandbox']} | | |",
            "",
        ]
    latency = document.get("latency", [])
    if latency:
        lines += [
            "Latency per update (update available → last Bot API call for it), customers "
            f"pausing ~{latency[0]['think_s']} s between actions:",
            "",
            "| API latency | customers | updates/s | p50 ms | p95 ms | p99 ms | CPU ms/update "
            "| bot CPU busy | bookings | failed |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in latency:
            lat = s["latency_ms"]
            lines.append(
                f"| {s['api_latency_ms']} ms | {s['customers']} | {s['updates_per_s']} | "
                f"{lat['p50']} | {lat['p95']} | {lat['p99']} | {s['cpu_ms_per_update']} | "
                f"{round(100 * (s['bot_cpu_utilisation'] or 0))}% | {s['bookings']} | "
                f"{s['failed_journeys']} |"
            )
        lines.append("")
    memory = document.get("memory")
    if memory:
        lines += [
            "Memory with conversations left mid-booking "
            f"({DEPTH_NAMES.get(document.get('memory_depth', ''), 'mid-booking')}), measured "
            "first in the run:",
            "",
            "| open conversations | RSS | Python heap (traced) | per conversation (heap / RSS) "
            "| SQLite file | lanes in RAM |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for m in memory:
            per = (
                f"{m['traced_per_conversation']:.0f} B / {m['rss_per_conversation']:.0f} B"
                if m["traced_per_conversation"] is not None
                else "–"
            )
            lines.append(
                f"| {m['conversations']:,} | {m['rss_bytes'] / 2**20:.1f} MiB | "
                f"{m['traced_bytes'] / 2**10:.0f} KiB | {per} | "
                f"{m['db_bytes'] / 2**20:.1f} MiB | {m['lanes_in_memory']} |"
            )
        lines.append("")
    checks = document.get("reconcile")
    if checks:
        lines += [
            "Noticing changes made at the business: Zimun calls (GET /appointments/{id}) per "
            "hour, per 100 upcoming bookings (one simulated hour of scans every 30 s; formula: "
            "15 per booking within 24 h + 60/55 per booking further out; cap "
            f"{checks[0]['cap_per_hour']:,} per hour):",
            "",
            "| upcoming bookings | within 24 h / further | measured per hour | formula |",
            "|---|---:|---:|---:|",
        ]
        for c in checks:
            lines.append(
                f"| {c['mix']} ({c['bookings']} booked) | {c['within_24h']} / "
                f"{c['further_out']} | {c['calls_per_hour_per_100']:g} | "
                f"{c['formula_per_100']:g} |"
            )
        lines.append("")
    watched = document.get("waitlist")
    if watched:
        lines += [
            "Watching waitlisted days: Zimun calls (GET /availability) per hour (one simulated "
            "hour of scans every 30 s, full days, "
            f"{watched[0]['customers'] // max(1, watched[0]['waitlisted_days'])} customers "
            "waiting per day; formula: 15 per (service, branch) with a day within 7 days + 2 per "
            f"one with all days further out; cap {watched[0]['cap_per_hour']:,} per hour):",
            "",
            "| waitlisted days | days | pairs near / far | measured per hour | per day | formula |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for w in watched:
            lines.append(
                f"| {w['mix']} | {w['waitlisted_days']} | {w['pairs_near']} / {w['pairs_far']} | "
                f"{w['calls_per_hour']} | {w['calls_per_hour_per_day']:g} | "
                f"{w['formula_per_hour']:g} |"
            )
        lines.append("")
    flood = document.get("flood")
    if flood and "with" in flood and "without" in flood:
        lines += _flood_lines(flood)
    if "peak_rss_bytes" in document:
        lines += [
            f"Peak RSS of the benchmark process: {document['peak_rss_bytes'] / 2**20:.0f} MiB",
            "",
        ]
    rows = targets(document)
    if rows:
        lines += ["| target | goal | measured | met |", "|---|---|---|---|"]
        for row in rows:
            lines.append(
                f"| {row['target']} | {row['goal']} | {row['shown']} | "
                f"{'yes' if row['met'] else '**no**'} |"
            )
        lines.append("")
    return "\n".join(lines)


def _flood_lines(flood: dict[str, Any]) -> list[str]:
    calm, flooded = flood["without"], flood["with"]
    lines = [
        f"Flood (flood control on, API latency {calm['api_latency_ms']} ms, {calm['customers']} "
        f"customers pausing ~{calm['think_s']} s between actions):",
        "",
        "| run | updates of the others | p50 ms | p95 ms | p99 ms | bookings | failed |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in (("no flood", calm), ("one chat flooding", flooded)):
        lat = s["latency_ms"]
        lines.append(
            f"| {name} | {s['updates']} | {lat['p50']} | {lat['p95']} | {lat['p99']} | "
            f"{s['bookings']} | {s['failed_journeys']} |"
        )
    flooder = flood.get("flooder")
    if flooder:
        lines += [
            "",
            f"The flooding chat sent {flooder['sent']} updates: {flooder['answered']} answered, "
            f"{flooder['notices']} slow-down notice, {flooder['skipped']} skipped by its budget.",
        ]
    return [*lines, ""]


def _calls(per_booking: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in sorted(per_booking.items(), key=lambda kv: -kv[1]))


def chart(document: dict[str, Any], path: Path) -> Path | None:
    """Latency percentiles against concurrent customers, one panel per API latency."""
    latency = document.get("latency", [])
    if not latency:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_latency: dict[int, list[dict[str, Any]]] = {}
    for s in latency:
        by_latency.setdefault(s["api_latency_ms"], []).append(s)
    fig, axes = plt.subplots(1, len(by_latency), figsize=(6 * len(by_latency), 4.2), squeeze=False)
    for ax, (api_ms, rows) in zip(axes[0], sorted(by_latency.items()), strict=True):
        rows.sort(key=lambda s: s["customers"])
        xs = [s["customers"] for s in rows]
        for key, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
            ax.plot(xs, [s["latency_ms"][key] for s in rows], style, label=key)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel("concurrent customers")
        ax.set_ylabel("latency per update (ms)")
        ax.set_title(f"Zimun API latency {api_ms} ms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Bot-side latency per update (update in → last Bot API call out)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---- one run's record: its header and its files ----------------------------------------------


def run_header(args: object) -> dict[str, Any]:
    """The head of a results document: which code ran, on what, with which settings. No
    date: bench/ reads no wall clock (the file system dates the file; the commit names the
    code)."""
    import os
    import platform
    import subprocess

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    settings = vars(args)
    return {
        "commit": commit or None,
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()},
    }


def save_run(
    out: Path, kind: str, document: dict[str, Any], table: str, *, latest: str | None
) -> Path:
    """`<kind>-<n>.json`, n one more than the highest of `kind` in `out` (runs numbered, not
    stamped), and, with `latest`, `<latest>.json` and `<latest>.md` beside it; the JSON
    file's path."""
    taken = (p.stem.removeprefix(f"{kind}-") for p in out.glob(f"{kind}-*.json"))
    number = 1 + max((int(n) for n in taken if n.isdigit()), default=0)
    path = out / f"{kind}-{number}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if latest is not None:
        (out / f"{latest}.json").write_text(path.read_text())
        (out / f"{latest}.md").write_text(table + "\n")
    return path
