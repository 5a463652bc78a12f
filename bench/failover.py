"""Failover of several `python -m bot` processes on one PostgreSQL (issue 20), measured:

- polling: from the poller's SIGKILL to the standby's taking the polling role, and to the
  first update (sent right after the kill) answered by the standby;
- webhook (two processes behind the loopback round-robin proxy of tests/cluster): from one
  process's SIGKILL to the first update sent after it answered by the survivor.

Everything on loopback: a PostgreSQL of its own (the machine's binaries, durable defaults),
the sandbox, the fake Bot API, real processes. `python -m bench.failover [--rounds N]`."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from sandbox.config import SandboxConfig
from sandbox.testing import serve_sandbox
from tests.clock import MONDAY
from tests.cluster.proxy import RoundRobin, serve_proxy
from tests.cluster.test_processes import PATH, SECRET
from tests.fakes.bot_api import FakeBotAPI
from tests.postgres import PostgresServer, find_bindir, running_postgres
from tests.process import BotProcess, Launcher, free_port, wait_listening


def _answered(fake: FakeBotAPI, chat_id: int, before: int) -> bool:
    return len(fake.messages(chat_id)) > before


def _until(done: Callable[[], bool], within: float = 60.0) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > within:
            raise TimeoutError("never happened")
        time.sleep(0.005)
    return time.monotonic()


def polling_round(
    launcher: Launcher, fake: FakeBotAPI, url: str, chat_id: int
) -> tuple[float, float]:
    poller = launcher.start(DATABASE_URL=url)
    standby = launcher._spawn({"DATABASE_URL": url})
    standby.wait_logged("another process polls this bot")
    mark = len(standby.log)
    before = len(fake.messages(chat_id))
    killed = time.monotonic()
    poller.kill()
    fake.user_sends_command(chat_id, "start")
    role = _until(lambda: "this process is the bot's poller" in standby.log[mark:]) - killed
    answered = _until(lambda: _answered(fake, chat_id, before)) - killed
    standby.stop()
    return role, answered


def webhook_round(launcher: Launcher, fake: FakeBotAPI, url: str, chat_id: int) -> float:
    proxy = RoundRobin([])
    with serve_proxy(proxy) as proxy_url:
        processes: list[tuple[BotProcess, str]] = []
        for _ in range(2):
            port = free_port()
            bot = launcher._spawn({
                "DATABASE_URL": url, "WEBHOOK_URL": proxy_url + PATH, "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(port),
            })  # fmt: skip
            backend = f"http://127.0.0.1:{port}"
            with httpx.Client(timeout=5) as http:
                wait_listening(http, backend + "/healthz")
            processes.append((bot, backend))
        proxy.backends[:] = [backend for _, backend in processes]
        before = len(fake.messages(chat_id))
        killed = time.monotonic()
        processes[0][0].kill()
        fake.user_sends_command(chat_id, "start")
        answered = _until(lambda: _answered(fake, chat_id, before)) - killed
        processes[1][0].stop()
        fake.webhook = {}
    return answered


def measure(server: PostgresServer, rounds: int) -> dict[str, float]:
    """`rounds` rounds of each failover on `server` (a PostgreSQL of the caller's): median and
    worst seconds from the SIGKILL. bench/cluster.py runs it beside its other parts."""
    roles, polled, hooked = [], [], []
    with ExitStack() as stack:
        sandbox = stack.enter_context(serve_sandbox(SandboxConfig(now=MONDAY, freeze_clock=True)))
        for n in range(rounds):
            database = f"failover_{n}"
            server.admin(f"CREATE DATABASE {database}")
            fake = FakeBotAPI()
            base_url = stack.enter_context(fake.serve())
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            launcher = Launcher(fake, base_url, sandbox, workdir)
            try:
                role, answered = polling_round(launcher, fake, server.url(database), 900 + n)
                roles.append(role)
                polled.append(answered)
                fake.deliver_webhooks = True
                hooked.append(webhook_round(launcher, fake, server.url(database), 950 + n))
            finally:
                launcher.stop_all()
    figures: dict[str, float] = {"rounds": rounds}
    for name, values in (
        ("polling_takeover", roles),
        ("polling_first_answer", polled),
        ("webhook_first_answer", hooked),
    ):
        figures[f"{name}_s"] = round(statistics.median(values), 2)
        figures[f"{name}_worst_s"] = round(max(values), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bindir = find_bindir()
    if bindir is None:
        print("failover: no PostgreSQL binaries (initdb, pg_ctl) here; skipped")
        return
    with running_postgres(bindir, durable=True) as server:
        figures = measure(server, args.rounds)

    def row(name: str, key: str) -> str:
        return f"| {name} | {figures[key + '_s']:.2f} | {figures[key + '_worst_s']:.2f} |"

    print(f"failover, {args.rounds} rounds (seconds from SIGKILL; median, worst):")
    print("| what | median s | worst s |\n|---|---:|---:|")
    print(row("polling: the standby holds the polling role", "polling_takeover"))
    print(row("polling: first update after the kill answered", "polling_first_answer"))
    print(
        row("webhook: first update after the kill answered (round robin)", "webhook_first_answer")
    )


if __name__ == "__main__":
    main()
