"""`python -m bot` as operators run it: a subprocess configured only by environment variables,
polling the fake Bot API and booking against the sandbox, stopped with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx

from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.process import bot_env, free_port, wait_listening
from tests.telegram.harness import DAY_RE, TIME_RE

CHAT = 4242


class Customer:
    """Acts in the chat and waits for what the bot shows next (no access to the bot's insides)."""

    def __init__(self, fake: FakeBotAPI):
        self.fake = fake

    def _snapshot(self) -> tuple[Any, ...]:
        return tuple((m.message_id, m.edits) for m in self.fake.messages(CHAT))

    def _after(self, act: Callable[[], object], until: Callable[[], object] | None = None) -> None:
        before = self._snapshot()
        act()
        self.fake.wait_for_sync(until or (lambda: self._snapshot() != before), within=20)

    def command(self, name: str) -> None:
        self._after(lambda: self.fake.user_sends_command(CHAT, name, language_code="es"))

    def send(self, text: str) -> None:
        self._after(lambda: self.fake.user_sends_text(CHAT, text, language_code="es"))

    def tap(self, matches: Callable[[str], bool] = lambda label: True) -> None:
        keyboard = self.fake.latest_keyboard(CHAT)
        assert keyboard is not None, self.fake.describe()
        data = next(d for row in keyboard.buttons for label, d in row if matches(label))
        self._after(lambda: self.fake.user_taps(CHAT, keyboard.message_id, data))


def test_the_bot_process_books_and_stops_cleanly_on_sigterm(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    fake, base_url = fake_api
    env = bot_env(fake, base_url, sandbox, tmp_path / "bot.db")
    log_path = tmp_path / "bot.log"
    bot = start_bot(env, tmp_path, log_path, fake)
    try:
        customer = Customer(fake)
        customer.command("start")
        customer.tap()  # Book an appointment
        customer.tap()  # the first branch
        customer.tap()  # the first service
        customer.tap(lambda label: bool(DAY_RE.match(label)))
        customer.tap(lambda label: bool(TIME_RE.match(label)))
        customer.send("Ana García")
        customer.send("ana@example.com")
        customer._after(
            lambda: fake.tap_index(CHAT, 0, language_code="es"),  # Confirm
            until=lambda: fake.documents(CHAT),
        )
        [appointment] = sandbox.store.appointment_list()
        assert appointment.contact_email == "ana@example.com"

        # One more update, in flight when the stop signal comes.
        messages_before = len(fake.messages(CHAT))
        update_id = fake.user_sends_command(CHAT, "mybookings", language_code="es")
        fake.wait_for_sync(lambda: fake.served[update_id] >= 1)
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, log_path.read_text()
    finally:
        stop(bot)

    # Either the bot finished it before exiting and confirmed it to Telegram, or it never took
    # it in and left it unconfirmed, for the next start: handled once, never lost.
    answered = len(fake.messages(CHAT)) > messages_before
    assert fake.pending_updates == (0 if answered else 1)
    restarted = start_bot(env, tmp_path, tmp_path / "bot2.log", fake)
    try:
        fake.wait_for_sync(lambda: len(fake.messages(CHAT)) > messages_before)
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=30) == 0
    finally:
        stop(restarted)

    assert len(fake.messages(CHAT)) == messages_before + 1  # one reply to /mybookings
    assert fake.pending_updates == 0
    assert len(sandbox.store.appointment_list()) == 1
    for log in (log_path, tmp_path / "bot2.log"):
        output = log.read_text()
        assert "Traceback" not in output, output
        assert fake.token not in output and fake.token.split(":")[1] not in output
        assert "ana@example.com" not in output and "Ana García" not in output
        assert "storage closed" in output


def start_bot(env: dict[str, str], cwd: Path, log_path: Path, fake: FakeBotAPI) -> Popen[bytes]:
    """`python -m bot`, ready once it polls (python-telegram-bot deletes any webhook first)."""
    polled = len(fake.calls_of("deleteWebhook"))
    with log_path.open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"], env=env, cwd=cwd, stdout=log, stderr=log
        )
    try:
        fake.wait_for_sync(
            lambda: len(fake.calls_of("deleteWebhook")) > polled or bot.poll() is not None, 30
        )
    except TimeoutError:
        stop(bot)
        raise
    assert bot.poll() is None, log_path.read_text()
    return bot


def stop(bot: Popen[bytes]) -> None:
    if bot.poll() is None:
        bot.kill()
        bot.wait()


def test_webhook_mode_checks_the_secret_on_every_request(
    fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    fake, base_url = fake_api
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = bot_env(
        fake,
        base_url,
        sandbox,
        tmp_path / "bot.db",
        WEBHOOK_URL=url,
        WEBHOOK_SECRET="s3cret-Token_1-0123456789abcdefghijk",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stdout=log, stderr=log
        )
    try:
        fake.wait_for_sync(lambda: fake.webhook or bot.poll() is not None, 30)
        assert bot.poll() is None, log_path.read_text()
        assert fake.webhook["url"] == url
        assert fake.webhook["secret_token"] == "s3cret-Token_1-0123456789abcdefghijk"

        fake.user_sends_command(CHAT, "start", language_code="it")
        update = fake.updates[-1]
        with httpx.Client(timeout=10) as http:
            wait_listening(http, url)
            forged = http.post(url, json=update, headers={SECRET_HEADER: "guess"})
            missing = http.post(url, json=update)
            assert (forged.status_code, missing.status_code) == (403, 403)
            assert not fake.messages(CHAT)

            accepted = http.post(
                url, json=update, headers={SECRET_HEADER: "s3cret-Token_1-0123456789abcdefghijk"}
            )
            assert accepted.status_code == 200
        fake.wait_for_sync(lambda: fake.latest_keyboard(CHAT))
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, log_path.read_text()
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    output = log_path.read_text()
    assert "Traceback" not in output, output
    assert "s3cret-Token_1-0123456789abcdefghijk" not in output and fake.token not in output


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
