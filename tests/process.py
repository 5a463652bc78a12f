"""Helpers for tests that run `python -m bot` as operators do: a subprocess configured only by
environment variables, talking to a fake Bot API and the sandbox on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sandbox.testing import SandboxServer
from tests.clock import pinned_env
from tests.customers import WAIT
from tests.fakes.bot_api import FakeBotAPI

ROOT = Path(__file__).resolve().parents[1]
WEBHOOK_SECRET = "s3cret-Token_1-0123456789abcdefghijk"

# The bot's own variables: none may leak in from the machine running the tests.
BOT_PREFIXES = (
    "TELEGRAM_",
    "ZIMUN_",
    "BOT_",
    "WEBHOOK_",
    "ADMIN_",
    "REMINDER_",
    "LOG_",
    "DATABASE_URL",
    # The operator's words and rules.
    "BUSINESS_NAME",
    "CONTACT",
    "HIDE_",
    "BOOKING_",
    "CHANGE_CUTOFF",
    "ALLOW_",
    "MESSAGES_DIR",
    # Many businesses in one process.
    "BUSINESSES_FILE",
    "METRICS_PORT",
)


def bot_env(
    fake: FakeBotAPI, base_url: str, sandbox: SandboxServer, db: Path, **extra: str
) -> dict[str, str]:
    """The environment of a bot process against `fake` (served at `base_url`) and `sandbox`.

    Reminders are off unless `extra` sets REMINDER_OFFSETS: one sent on its own schedule would
    be taken for the answer a test waits for (reminders have their own tests). The process's
    clock starts where the sandbox's stands (tests/clock.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_PREFIXES)}
    env = pinned_env(env, sandbox.clock.now())
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_BASE_URL=f"{base_url}/bot",
        ZIMUN_CLIENT_ID=sandbox.client_id,
        ZIMUN_CLIENT_SECRET=sandbox.client_secret,
        ZIMUN_BASE_URL=sandbox.base_url,
        ZIMUN_TOKEN_URL=sandbox.token_url,
        BOT_DB_PATH=str(db),
        LOG_LEVEL="INFO",
        REMINDER_OFFSETS="",
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(http: httpx.Client, url: str, within: float = WAIT) -> None:
    """Until something answers HTTP at `url` (any status): the server is up."""
    deadline = time.monotonic() + within
    while True:
        try:
            http.get(url)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@dataclass
class BotProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_logged(self, text: str, after: int = 0, within: float = WAIT) -> None:
        """Until `text` is in the log (past its first `after` characters); fails if the
        process ended first."""
        deadline = time.monotonic() + within
        while text not in self.log[after:]:
            assert self.process.poll() is None, self.log
            assert time.monotonic() < deadline, f"{text!r} not logged:\n{self.log}"
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or closed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(WAIT)

    def stop(self) -> int:
        """SIGTERM, as an operator stops it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@dataclass
class Launcher:
    """Starts `python -m bot` processes for one test and stops whatever is left at the end."""

    fake: FakeBotAPI
    base_url: str
    sandbox: SandboxServer
    workdir: Path
    started: list[BotProcess] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.workdir / "bot.db"

    def env(self, **extra: str) -> dict[str, str]:
        return bot_env(self.fake, self.base_url, self.sandbox, self.db, **extra)

    def start(self, **extra: str) -> BotProcess:
        """A bot that polls: returns once python-telegram-bot has asked for updates, which it
        does after the webhook is deleted, the resumed conversations had their answer and the
        Application runs. (Returning at the deletion, a stop signal sent at once could land
        in the middle of python-telegram-bot's bootstrap, which logs the interrupted request
        with a traceback: a test that passed or failed by how busy the machine was.)"""
        calls = len(self.fake.calls)
        bot = self._spawn(extra)
        process = bot.process
        self.fake.wait_for_sync(lambda: self._polls_since(calls) or process.poll() is not None)
        assert process.poll() is None, bot.log
        return bot

    def _spawn(self, extra: Mapping[str, str]) -> BotProcess:
        log_path = self.workdir / f"bot-{len(self.started) + 1}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                env=self.env(**extra),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        bot = BotProcess(process, log_path)
        self.started.append(bot)
        return bot

    # ---- many businesses in one process (BUSINESSES_FILE) ------------------------------------

    @property
    def businesses_path(self) -> Path:
        return self.workdir / "businesses.toml"

    def business(
        self, fake: FakeBotAPI, sandbox: SandboxServer | None = None, **settings: str
    ) -> dict[str, str]:
        """The table of a business served by the bot `fake` (on this launcher's Bot API)
        against `sandbox` (the launcher's by default), plus `settings`."""
        zimun = sandbox or self.sandbox
        return {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_BASE_URL": f"{self.base_url}/bot",
            "ZIMUN_CLIENT_ID": zimun.client_id,
            "ZIMUN_CLIENT_SECRET": zimun.client_secret,
            "ZIMUN_BASE_URL": zimun.base_url,
            "ZIMUN_TOKEN_URL": zimun.token_url,
            **settings,
        }

    def write_businesses(self, businesses: Mapping[str, Mapping[str, str]]) -> Path:
        """(Re)write BUSINESSES_FILE: one [businesses.<id>] table each (string values)."""
        lines: list[str] = []
        for business_id, table in businesses.items():
            lines.append(f"[businesses.{business_id}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
            lines.append("")
        self.businesses_path.write_text("\n".join(lines))
        return self.businesses_path

    def webhook_env(self, port: int, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
        """Webhook mode on 127.0.0.1:`port` (business <id> at /telegram/<id>)."""
        return {
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }

    def start_many(
        self, serving: Sequence[FakeBotAPI], *, webhook: bool = False, **extra: str
    ) -> BotProcess:
        """`python -m bot` serving BUSINESSES_FILE (written first with `write_businesses`):
        returns once each bot of `serving` asks for updates (or, with `webhook`, has its
        webhook set and answers)."""
        bot = self._spawn({"BUSINESSES_FILE": str(self.businesses_path), **extra})
        for fake in serving:
            self.wait_serving(bot, fake, webhook=webhook)
        return bot

    def wait_serving(self, bot: BotProcess, fake: FakeBotAPI, *, webhook: bool = False) -> None:
        """Until the process serves the bot `fake` (polls it, or set its webhook)."""
        if webhook:
            fake.wait_for_sync(lambda: fake.webhook.get("url") or bot.process.poll() is not None)
        else:
            fake.wait_for_sync(lambda: fake.polled_at or bot.process.poll() is not None)
        assert bot.process.poll() is None, bot.log

    def hang_up(self, bot: BotProcess) -> None:
        """SIGHUP: the process re-reads BUSINESSES_FILE."""
        bot.process.send_signal(signal.SIGHUP)

    def _polls_since(self, calls: int) -> bool:
        """Since call number `calls`, the webhook was deleted and then updates were asked for."""
        deleted = [c.at for c in self.fake.calls[calls:] if c.method == "deleteWebhook"]
        polled = self.fake.polled_at
        return bool(deleted) and polled is not None and polled > deleted[0]

    def run_until_exit(self, **extra: str) -> subprocess.CompletedProcess[str]:
        """For start-up failures: the process must end by itself."""
        return subprocess.run(
            [sys.executable, "-m", "bot"],
            env=self.env(**extra),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )

    def stop_all(self) -> None:
        for bot in self.started:
            if bot.process.poll() is None:
                bot.process.kill()
                bot.process.wait()
