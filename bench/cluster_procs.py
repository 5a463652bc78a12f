"""Part 2 of bench/cluster.py (issue 20): `python -m bot` processes sharing one PostgreSQL.

What runs, all on loopback:
- the sandbox in its own process (bench/sandbox_process.py), its clock at runner.NOW; the bot
  processes' wall clock starts there too (libfaketime, tests/clock.py);
- the fake Bot API over HTTP in a thread of this process (tests/fakes/bot_api.py), delivering
  each update to the webhook as Telegram does (one POST at a time, in order, retried unless
  answered 200);
- for more than one process, the round-robin stand-in for the load balancer
  (tests/cluster/proxy.py) in front of their webhooks; one process is posted to directly;
- N `python -m bot` processes configured only by their environment (for the load through
  bench/unthrottled_bot.py: Telegram's flood control off, as in the main benchmark):
  DATABASE_URL (a fresh database per run), WEBHOOK_URL, WEBHOOK_SECRET, WEBHOOK_LISTEN and
  WEBHOOK_PORT, LOG_LEVEL=WARNING;
- customers (tests/customers.py's ProcessCustomer, one thread each) browsing without pause:
  /start, Book, a branch, a service, a day (the free times on screen), again and again, on
  varied branches, services and days. No booking is made: the load is the bot's CPU
  (rendering, python-telegram-bot, the store), not Zimun's one calendar of free places.

Measured: updates handled a second (customers' completed actions / window), the time each
action took as the customer saw it (its wait polls every 10 ms), the bot processes' CPU
(/proc/<pid>/stat) per second and per update, PostgreSQL's and this process's. Failover is
bench/failover.py's (the coordination's own measurement), run from here.

Several processes need the coordination of issue 20 (bot.telegram.cluster, tests/cluster/proxy.py);
on a tree without it only one process is measured and failover is skipped, with a line saying so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import runner
from bench.sandbox_process import SandboxInfo, SandboxProcess

ROOT = Path(__file__).resolve().parents[1]
PATH = "/telegram-hook"
SECRET = "Kq3x9-Zr7_wPm2Lt8Vb4Nc6Hd1Jf5Gs0Ty"
STARTUP = 60.0
TICKS = os.sysconf("SC_CLK_TCK")
UNTHROTTLED = "bench.unthrottled_bot"  # python -m bot without flood control, for the load

Say = Callable[[str], None]


def coordinated() -> bool:
    """Whether this tree has the coordination of several processes (issue 20)."""
    try:
        return (
            importlib.util.find_spec("bot.telegram.cluster") is not None
            and importlib.util.find_spec("tests.cluster.proxy") is not None
        )
    except ModuleNotFoundError:
        return False


def bot_env(api_base: str, token: str, info: SandboxInfo, workdir: Path, **extra: str) -> dict:
    """The environment of one bot process (tests/process.py's bot_env, on the bench's sandbox)."""
    from tests.clock import pinned_env
    from tests.process import BOT_PREFIXES

    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_PREFIXES)}
    env = pinned_env(env, runner.NOW)
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_BASE_URL=f"{api_base}/bot",
        ZIMUN_CLIENT_ID=info.client_id,
        ZIMUN_CLIENT_SECRET=info.client_secret,
        ZIMUN_BASE_URL=info.base_url,
        ZIMUN_TOKEN_URL=info.token_url,
        BOT_DB_PATH=str(workdir / "unused.db"),
        LOG_LEVEL="WARNING",
        REMINDER_OFFSETS="",
        MAX_UPCOMING_PER_CUSTOMER="0",
        MAX_BOOKINGS_PER_DAY="0",
    )
    env.update(extra)
    return env


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log_path: Path
    backend: str = ""

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def cpu(self) -> float:
        """User plus system CPU seconds of the process so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def wait_logged(self, text: str, within: float = STARTUP) -> float:
        """Until `text` is in the log; the monotonic time it was seen."""
        deadline = time.monotonic() + within
        while text not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{text!r} not logged:\n{self.log[-2000:]}")
            time.sleep(0.01)
        return time.monotonic()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _stat_cpu(pid: int | str) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) of a process from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def postgres_cpu(server: Any) -> float:
    """CPU seconds of this run's PostgreSQL so far: the postmaster's own and its ended
    children's (reaped: cutime, cstime), plus its live children's."""
    postmaster = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
    with open(f"/proc/{postmaster}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / TICKS
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent, used = _stat_cpu(entry)
        except (OSError, IndexError, ValueError):
            continue
        if parent == postmaster:
            total += used
    return total


class Cluster:
    """The fake Bot API, the sandbox and the bot processes of one measurement."""

    def __init__(self, stack: ExitStack, info: SandboxInfo, workdir: Path) -> None:
        from tests.fakes.bot_api import FakeBotAPI

        self.info = info
        self.workdir = workdir
        self.fake = FakeBotAPI()
        self.api_base = stack.enter_context(self.fake.serve())
        self.procs: list[Proc] = []
        stack.callback(self.stop_all)

    def spawn(self, module: str = "bot", **extra: str) -> Proc:
        """`python -m <module>` (bot, or bench.unthrottled_bot) with the bot's environment."""
        log_path = self.workdir / f"bot-{len(self.procs) + 1}.log"
        env = bot_env(self.api_base, self.fake.token, self.info, self.workdir, **extra)
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module],
                env=env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(process, log_path)
        self.procs.append(proc)
        return proc

    def webhook(
        self, database_url: str, webhook_url: str | None = None, module: str = "bot"
    ) -> Proc:
        """A webhook process on a port of its own; returns once it answers HTTP."""
        from tests.process import free_port

        port = free_port()
        proc_url = f"http://127.0.0.1:{port}"
        proc = self.spawn(
            module,
            DATABASE_URL=database_url,
            WEBHOOK_URL=(webhook_url or proc_url) + PATH,
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            WEBHOOK_PORT=str(port),
        )
        proc.backend = proc_url
        deadline = time.monotonic() + STARTUP
        with httpx.Client(timeout=5) as http:
            while True:
                try:
                    http.get(proc_url + "/healthz")
                    break
                except httpx.TransportError:
                    if proc.process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the bot did not listen:\n{proc.log[-2000:]}") from None
                    time.sleep(0.05)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()


class ParallelWebhooks:
    """Telegram's webhook delivery with several connections at once (Telegram's
    `max_connections`, 40 by default) instead of the test fake's one POST at a time, which
    would cap every number of processes at one round trip through the proxy per update. Each
    customer has one update in flight at a time, so a chat's order is kept all the same."""

    def __init__(self, fake: Any, connections: int = 40) -> None:
        self.fake = fake
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connections = connections
        self._threads: list[threading.Thread] = []
        fake._deliver_soon = self._deliver_soon  # the fake's own hook, on this instance only

    def _deliver_soon(self) -> None:
        fake = self.fake
        with fake._lock:
            while fake._updates:
                self.queue.put(fake._updates.popleft())
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._send, daemon=True, name=f"webhook-{n}")
                    for n in range(self.connections)
                ]
                for thread in self._threads:
                    thread.start()

    def _send(self) -> None:
        fake = self.fake
        with httpx.Client(timeout=10) as http:
            while not fake._closing:
                try:
                    update = self.queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                posted = fake.post_to_webhook(http, update)
                if posted is None:  # no webhook set yet
                    time.sleep(0.05)
                if not posted:
                    self.queue.put(update)


# ---- the load --------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the customers did inside the measured window."""

    opened: float = 0.0
    closes: float = 0.0
    actions: int = 0
    failures: int = 0
    times: list[float] | None = None

    def __post_init__(self) -> None:
        self.times = []
        self._lock = threading.Lock()

    def add(self, started: float, ended: float) -> None:
        if self.opened <= started and ended <= self.closes:
            with self._lock:
                self.actions += 1
                assert self.times is not None
                self.times.append(ended - started)


def _browse(fake: Any, chat_id: int, tally: Tally, stop: threading.Event) -> None:
    """One customer, until `stop`: to the free times of a day, from /start, again and again."""
    from tests.customers import ProcessCustomer

    customer = ProcessCustomer(fake, chat_id, ("en", "es", "it", "de")[chat_id % 4], "Cliente")
    original = customer.act
    rng = random.Random(chat_id)

    def timed(*args: Any, **kwargs: Any) -> int:
        started = time.monotonic()
        update = original(*args, **kwargs)
        tally.add(started, time.monotonic())
        return update

    customer.act = timed  # type: ignore[method-assign]
    while not stop.is_set():
        try:
            customer.to_times(
                branch=rng.randrange(2), service=rng.randrange(2), day=rng.randrange(4)
            )
        except (AssertionError, TimeoutError):
            tally.failures += 1


@contextmanager
def customers(fake: Any, count: int, first_chat: int) -> Iterator[Tally]:
    """`count` customers browsing in threads while the block runs."""
    tally = Tally(opened=float("inf"), closes=float("inf"))
    stop = threading.Event()
    # Many threads hand each update to one another (customer, delivery, the fake's server):
    # with the default 5 ms switch interval each hand-off may wait that long for the GIL.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    threads = [
        threading.Thread(target=_browse, args=(fake, first_chat + n, tally, stop), daemon=True)
        for n in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield tally
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        sys.setswitchinterval(switch)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))]


@contextmanager
def proxy_process(workdir: Path, port: int, backends: list[str]) -> Iterator[Proc]:
    """The round-robin proxy in a process of its own (bench/proxy_process.py) on `port`, in
    front of `backends`; yields it once it answers HTTP (its base URL is `backend`)."""
    log_path = workdir / "proxy.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.proxy_process", str(port), *backends],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proc = Proc(process, log_path, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + STARTUP
        with httpx.Client(timeout=5) as http:
            while True:
                try:
                    http.get(proc.backend + "/")
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"the proxy did not listen:\n{proc.log[-2000:]}"
                        ) from None
                    time.sleep(0.05)
        yield proc
    finally:
        proc.stop()


def load(
    args: argparse.Namespace,
    server: Any,
    work: Path,
    processes: int,
    say: Say,
    proxied: bool | None = None,
    cap: float | None = None,
) -> dict[str, Any]:
    """`processes` webhook processes on one fresh database, customers browsing for the window;
    behind the round-robin proxy (in its own process) when `proxied` (default: for more than
    one process), else posted to directly; each allowed `cap` of a core if given
    (bench/cpu_cap.py)."""
    from bench.cluster import fresh_database
    from bench.cpu_cap import cpu_capped

    proxied = processes > 1 if proxied is None else proxied
    name = f"load_{processes}{'_proxied' if proxied else ''}{f'_cap{cap}' if cap else ''}"
    name = name.replace(".", "_")
    url = fresh_database(server, name, "off")
    with ExitStack() as stack:
        sandbox = stack.enter_context(SandboxProcess(latency_ms=0, now=runner.NOW))
        assert sandbox.info is not None
        cluster = Cluster(stack, sandbox.info, work / name)
        cluster.workdir.mkdir(parents=True, exist_ok=True)
        cluster.fake.deliver_webhooks = True
        ParallelWebhooks(cluster.fake)
        proxy: Proc | None = None
        if not proxied:
            procs = [cluster.webhook(url, module=UNTHROTTLED) for _ in range(processes)]
        else:
            # Each process is told the proxy's URL (its setWebhook); the proxy starts once
            # their ports are known. The fake Bot API delivers to the last URL set.
            from tests.process import free_port

            port = free_port()
            proxy_url = f"http://127.0.0.1:{port}"
            procs = [cluster.webhook(url, proxy_url, UNTHROTTLED) for _ in range(processes)]
            backends = [p.backend for p in procs]
            proxy = stack.enter_context(proxy_process(cluster.workdir, port, backends))
            assert proxy.backend == proxy_url
        if cap:
            stack.enter_context(cpu_capped([p.process.pid for p in procs], cap))
        warm = max(3.0, args.load_duration / 3)
        with customers(cluster.fake, args.load_customers, 10_000) as tally:
            time.sleep(warm)  # every customer past its first calendar: caches warm
            cpu = [p.cpu() for p in procs]
            proxy_cpu = proxy.cpu() if proxy else 0.0
            sandbox_cpu = sandbox.cpu_seconds()
            driver_cpu, pg_cpu = time.process_time(), postgres_cpu(server)
            tally.opened = time.monotonic()
            tally.closes = tally.opened + args.load_duration
            time.sleep(args.load_duration)
            used = sum(p.cpu() - c for p, c in zip(procs, cpu, strict=True))
            proxy_used = proxy.cpu() - proxy_cpu if proxy else 0.0
            sandbox_used = sandbox.cpu_seconds() - sandbox_cpu
            driver_used = time.process_time() - driver_cpu
            pg_used = postgres_cpu(server) - pg_cpu
            load_avg = os.getloadavg()[0]
        errors = sum(p.log.count("Traceback") for p in procs)
    times = tally.times or []
    updates = tally.actions
    row = {
        "processes": processes,
        "proxied": proxied,
        "cpu_cap": cap,
        "customers": args.load_customers,
        "window_s": args.load_duration,
        "updates": updates,
        "updates_per_s": round(updates / args.load_duration, 1),
        "p50_ms": round(1000 * statistics.median(times), 1) if times else None,
        "p95_ms": round(1000 * (_percentile(times, 95) or 0), 1) if times else None,
        "bot_cpu_per_s": round(used / args.load_duration, 2),
        "bot_cpu_ms_per_update": round(1000 * used / updates, 2) if updates else None,
        # updates a second of the bot processes' own CPU: flat when an update costs the same
        "updates_per_bot_cpu_s": round(updates / used, 1) if used else None,
        "sandbox_cpu_per_s": round(sandbox_used / args.load_duration, 2),
        "postgres_cpu_per_s": round(pg_used / args.load_duration, 2),
        "proxy_cpu_per_s": round(proxy_used / args.load_duration, 2),
        # this process: the fake Bot API, the webhook deliveries and the customers
        "driver_cpu_per_s": round(driver_used / args.load_duration, 2),
        "load_average_1m": round(load_avg, 2),
        "failed": tally.failures,
        "tracebacks": errors,
    }
    say(
        f"  {processes} process(es){' behind the proxy' if proxied else ''}"
        f"{f', each capped at {cap} of a core' if cap else ''}: "
        f"{row['updates_per_s']} updates/s, p50 {row['p50_ms']} ms, "
        f"bot CPU {row['bot_cpu_per_s']} s/s ({row['bot_cpu_ms_per_update']} ms/update, "
        f"{row['updates_per_bot_cpu_s']} updates/CPU-s), PostgreSQL {row['postgres_cpu_per_s']} "
        f"s/s, proxy {row['proxy_cpu_per_s']} s/s, driver {row['driver_cpu_per_s']} s/s, "
        f"{row['failed']} failed"
    )
    return row


def capped_runs(
    args: argparse.Namespace, server: Any, work: Path, counts: list[int], say: Say
) -> list[dict[str, Any]]:
    """The same load with each process capped at `--cpu-cap` of a core, all behind the proxy:
    a machine's worth of CPU each, so that the bot's CPU bounds the load (bench/cpu_cap.py)."""
    from bench.cpu_cap import unavailable

    if not args.cpu_cap or len(counts) < 2:
        return []
    if (why := unavailable()) is not None:
        say(f"processes capped at {args.cpu_cap} of a core: skipped ({why})")
        return []
    rows = []
    for n in counts:
        say(f"processes: {n} webhook process(es) behind the proxy, each capped at {args.cpu_cap}")
        rows.append(load(args, server, work, n, say, True, args.cpu_cap))
    return rows


def measure(
    args: argparse.Namespace, server: Any, work: Path, skip: set[str], say: Say
) -> dict[str, Any]:
    """The processes part and the failover part of bench/cluster.py."""
    out: dict[str, Any] = {"cpus": os.cpu_count()}
    several = coordinated()
    counts = [n for n in args.processes if n == 1 or several]
    if not several and any(n > 1 for n in args.processes):
        say("processes: no coordination of several processes in this tree: one process only")
        out["note"] = "no bot.telegram.cluster in this tree: one process measured"
    if "processes" not in skip:
        out["load"] = []
        # One process posted to directly, then every count behind the proxy (one process too:
        # the comparison of 1 and 2 then changes the number of processes only).
        runs = [(1, False)] if 1 in counts else []
        runs += [(n, True) for n in counts if n > 1 or several]
        for n, proxied in runs:
            how = " behind the proxy" if proxied else ""
            say(f"processes: {n} webhook process(es){how}, {args.load_customers} customers")
            out["load"].append(load(args, server, work, n, say, proxied))
        out["load"] += capped_runs(args, server, work, counts if several else [], say)
    if "failover" not in skip and several:
        from bench import failover  # the coordination's own measurement (issue 20)

        say(f"failover: {args.failover_rounds} round(s) of bench/failover.py")
        out["failover"] = failover.measure(server, args.failover_rounds)
        say(f"  {out['failover']}")
    return out
