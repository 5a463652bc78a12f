"""Several processes serving one BUSINESSES_FILE on one PostgreSQL (issues 19 and 20): each
business's bot is polled by one process at a time, the bots spread over the processes (a
process over its share hands bots over), and when a process is SIGKILLed the other polls
every bot, and the customers finish booking, once each."""

from __future__ import annotations

import psycopg

from bot.core.payload import Action
from sandbox.testing import SandboxServer
from tests.customers import ProcessCustomer
from tests.fakes.bot_api import FakeBots
from tests.faults.harness import wait_until
from tests.fleet.conftest import OTHER_BRANCH, bots, bots_options, launcher, other_sandbox  # noqa: F401
from tests.process import Launcher

ANA, BEA = 6001, 6002


def test_a_killed_process_bots_are_polled_by_another(
    launcher: Launcher,  # noqa: F811
    bots: tuple[FakeBots, str],  # noqa: F811
    other_sandbox: SandboxServer,  # noqa: F811
    pg_url: str,
) -> None:
    fakes, _ = bots
    alpha, beta = fakes.add("alpha"), fakes.add("beta")
    launcher.write_businesses(
        {
            "alpha": launcher.business(alpha, BOT_LANGUAGES="en"),
            "beta": launcher.business(beta, other_sandbox, BOT_LANGUAGES="en"),
        }
    )
    first = launcher.start_many([alpha, beta], DATABASE_URL=pg_url)
    second = launcher._spawn({"BUSINESSES_FILE": str(launcher.businesses_path),
                              "DATABASE_URL": pg_url})  # fmt: skip
    # The polling spreads: the first hands one bot over to the second, and keeps the other.
    wait_until(lambda: "polling: handed this bot over" in first.log, within=30)
    wait_until(lambda: second.log.count("this process is the bot's poller") == 1, within=30)
    ana, bea = ProcessCustomer(alpha, ANA), ProcessCustomer(beta, BEA)
    ana.start()
    ana.to_times()

    first.kill()
    wait_until(lambda: second.log.count("this process is the bot's poller") == 2, within=20)
    ana.pick_time()
    ana.give_details("Ana", "ana@example.com")
    ana.confirm()
    bea.start()  # the other bot is polled too
    bea.tap_action(Action.BOOK)
    assert OTHER_BRANCH in bea.reads()
    assert len(launcher.sandbox.store.appointment_list()) == 1
    query = "SELECT business, chat_id FROM bookings"
    with psycopg.connect(pg_url) as conn:
        rows = wait_until(lambda: conn.execute(query).fetchall())
    assert rows == [("alpha", ANA)]
    assert second.stop() == 0, second.log
    assert "Traceback" not in second.log, second.log
