"""`python -m bot` with DATABASE_URL, as an operator runs it: a customer books end to end over
the fake Bot API and the sandbox, and what the bot keeps is in PostgreSQL (read there, past
the bot), not in a SQLite file; after a restart the customer's booking is still theirs; and
`check` names the database without its password, in its output and in the bot's log.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from bot.core.payload import Action
from sandbox.testing import SandboxServer
from tests.customers import ProcessCustomer as Customer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import wait_until
from tests.postgres import PASSWORD
from tests.process import Launcher, free_port, wait_listening


def pg_rows(url: str, sql: str) -> list[dict[str, Any]]:
    """Rows read straight from PostgreSQL (the bot may still be running)."""
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql).fetchall()


def test_the_bot_books_into_postgresql_and_finds_it_after_a_restart(
    launcher: Launcher, fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, pg_url: str
) -> None:
    fake, _ = fake_api
    bot = launcher.start(DATABASE_URL=pg_url, REMINDER_OFFSETS="24h,2h")
    ana = Customer(fake, 501, "es", "Ana")
    ana.start()
    ana.book("Ana García", "ana@example.com", day=1)  # tomorrow: both reminders ahead

    [appointment] = sandbox.store.appointment_list()
    # written once the confirmation was delivered (Conversation.delivered), just after it
    query = "SELECT id, appointment_id, status, chat_id FROM bookings"
    [row] = wait_until(lambda: pg_rows(pg_url, query))
    assert row["appointment_id"] == appointment.id and row["status"] == "confirmed"
    assert row["chat_id"] == ana.chat_id
    reminders = pg_rows(pg_url, "SELECT booking_id, offset_minutes FROM reminders")
    assert sorted(r["offset_minutes"] for r in reminders) == [120, 1440]
    [conversation] = pg_rows(pg_url, "SELECT chat_id, pending FROM conversations")
    assert conversation["chat_id"] == ana.chat_id and not conversation["pending"]
    funnel = {r["event"] for r in pg_rows(pg_url, "SELECT DISTINCT event FROM funnel")}
    assert {"started", "confirmed"} <= funnel
    assert not launcher.db.exists()  # no SQLite file beside it
    assert bot.stop() == 0

    again = launcher.start(DATABASE_URL=pg_url, REMINDER_OFFSETS="24h,2h")
    ana.command("mybookings")
    assert ana.can(Action.OPEN_BOOKING)  # the booking, read back from PostgreSQL
    assert again.stop() == 0
    assert len(sandbox.store.appointment_list()) == 1
    for process in (bot, again):
        assert PASSWORD not in process.log
        assert "Traceback" not in process.log


def test_check_names_the_database_and_never_its_password(launcher: Launcher, pg_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=launcher.env(DATABASE_URL=pg_url),
        cwd=launcher.workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    database = pg_url.rsplit("/", 1)[1]
    assert f"/{database} reachable" in output or f"/{database} readable" in output, output
    assert PASSWORD not in output
    assert not launcher.db.exists()  # `check` creates nothing


def test_an_unreachable_database_stops_the_start_with_one_line_and_no_password(
    launcher: Launcher, pg_url: str
) -> None:
    wrong = pg_url.replace("/test_", "/missing_")
    done = launcher.run_until_exit(DATABASE_URL=wrong)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "DATABASE_URL" in output and "missing_" in output, output
    assert PASSWORD not in output and "Traceback" not in output


def test_in_webhook_mode_the_bot_books_into_postgresql_and_healthz_reads_it(
    launcher: Launcher, fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, pg_url: str
) -> None:
    fake, _ = fake_api
    fake.deliver_webhooks = True
    port = free_port()
    bot = launcher._spawn({"DATABASE_URL": pg_url, **launcher.webhook_env(port)})
    launcher.wait_serving(bot, fake, webhook=True)
    bea = Customer(fake, 502, "it", "Bea")
    bea.book("Bea Rossi", "bea@example.com")
    [row] = wait_until(lambda: pg_rows(pg_url, "SELECT chat_id, status FROM bookings"))
    assert (row["chat_id"], row["status"]) == (bea.chat_id, "confirmed")
    with httpx.Client(timeout=10) as http:
        wait_listening(http, f"http://127.0.0.1:{port}/healthz")
        health = http.get(f"http://127.0.0.1:{port}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert bot.stop() == 0, bot.log
    assert PASSWORD not in bot.log and "Traceback" not in bot.log, bot.log
    assert not launcher.db.exists()
