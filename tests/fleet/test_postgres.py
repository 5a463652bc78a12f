"""Many businesses in one process on PostgreSQL (BUSINESSES_FILE and DATABASE_URL): each
business's bookings are kept in the one database under its own id, none in a SQLite file, and
the webhook listener's /healthz reads that database."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
from psycopg.rows import dict_row

from bot.core.payload import Action
from sandbox.testing import SandboxServer
from tests.customers import ProcessCustomer
from tests.fakes.bot_api import FakeBots
from tests.faults.harness import wait_until
from tests.postgres import PASSWORD
from tests.process import Launcher, free_port, wait_listening

ANA, BEA = 6001, 6002


def pg_rows(url: str, sql: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql).fetchall()


def test_two_businesses_keep_their_bookings_in_postgresql(
    launcher: Launcher, bots: tuple[FakeBots, str], other_sandbox: SandboxServer, pg_url: str
) -> None:
    fakes, _ = bots
    alpha = fakes.add("alpha", deliver_webhooks=True)
    beta = fakes.add("beta", deliver_webhooks=True)
    launcher.write_businesses(
        {"alpha": launcher.business(alpha), "beta": launcher.business(beta, other_sandbox)}
    )
    port = free_port()
    bot = launcher.start_many(
        [alpha, beta], webhook=True, DATABASE_URL=pg_url, **launcher.webhook_env(port)
    )
    ana, bea = ProcessCustomer(alpha, ANA), ProcessCustomer(beta, BEA)
    ana.book()
    bea.start()
    bea.tap_action(Action.BOOK)  # one branch: straight on to its services
    bea.tap_action(Action.PICK)  # the first service
    bea.pick_day()
    bea.pick_time()
    bea.give_details("Bea López", "bea@example.com")
    bea.confirm()

    query = "SELECT business, chat_id, status FROM bookings ORDER BY business"
    rows = wait_until(lambda: len(pg_rows(pg_url, query)) == 2 and pg_rows(pg_url, query))
    assert [(r["business"], r["chat_id"], r["status"]) for r in rows] == [
        ("alpha", ANA, "confirmed"),
        ("beta", BEA, "confirmed"),
    ]
    assert not launcher.db.exists()
    with httpx.Client(timeout=10) as http:
        wait_listening(http, f"http://127.0.0.1:{port}/healthz")
        assert http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    assert bot.stop() == 0, bot.log
    assert PASSWORD not in bot.log and "Traceback" not in bot.log, bot.log
