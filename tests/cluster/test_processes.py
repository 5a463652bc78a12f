"""Several `python -m bot` processes, one bot, one PostgreSQL (issue 20), as an operator runs
them: customers book through the fake Bot API and the sandbox while a process is SIGKILLed or
restarted; every customer finishes, the sandbox holds exactly one appointment per customer and
PostgreSQL one confirmed booking each, and no update is handled twice.

Webhook mode: a loopback round-robin proxy (tests/cluster/proxy.py) stands in for the load
balancer; the fake Bot API posts each update to it, as Telegram posts to WEBHOOK_URL.
Polling mode: only one process polls; when it dies another takes over within 15 s.

Skipped without PostgreSQL (tests/postgres.py), except under CI=true."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from bot.core.payload import Action
from sandbox.testing import SandboxServer
from tests.cluster.proxy import RoundRobin, serve_proxy
from tests.customers import ProcessCustomer as Customer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import wait_until
from tests.process import BotProcess, Launcher, free_port, wait_listening

SECRET = "Kq3x9-Zr7_wPm2Lt8Vb4Nc6Hd1Jf5Gs0Ty"
PATH = "/telegram-hook"
TAKEOVER = 15.0  # seconds: the bound on a polling takeover


def pg_rows(url: str, sql: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(sql).fetchall()


def _settled(pg_url: str, sandbox: SandboxServer, customers: list[Customer]) -> None:
    """One appointment per customer at Zimun, one confirmed booking each in PostgreSQL."""
    appointments = sandbox.store.appointment_list()
    assert len(appointments) == len(customers), [a.id for a in appointments]
    query = "SELECT chat_id, appointment_id, status FROM bookings"
    # written once the confirmation was delivered (Conversation.delivered), just after it
    rows = wait_until(lambda: len(found := pg_rows(pg_url, query)) >= len(customers) and found)
    assert sorted(r["chat_id"] for r in rows) == sorted(c.chat_id for c in customers)
    assert {r["appointment_id"] for r in rows} == {a.id for a in appointments}
    assert {r["status"] for r in rows} == {"confirmed"}


def _handled_once(fake: FakeBotAPI, pg_url: str, logs: list[str]) -> None:
    """Every update was taken by exactly one process (deliveries is unique by update), and a
    second delivery, if any, was dropped (logged), never handled."""
    taken = {r["update_id"] for r in pg_rows(pg_url, "SELECT update_id FROM deliveries")}
    assert taken == {u["update_id"] for u in fake.updates}
    for log in logs:
        assert "Traceback" not in log, log


# ---- webhook mode behind a load balancer ----------------------------------------------------


@pytest.fixture
def balancer() -> Iterator[tuple[RoundRobin, str]]:
    proxy = RoundRobin([])
    with serve_proxy(proxy) as url:
        yield proxy, url


def _webhook_process(launcher: Launcher, pg_url: str, proxy_url: str) -> tuple[BotProcess, str]:
    port = free_port()
    bot = launcher._spawn(
        {
            "DATABASE_URL": pg_url,
            "WEBHOOK_URL": proxy_url + PATH,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
    )
    backend = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=5) as http:
        wait_listening(http, backend + "/healthz")
    return bot, backend


def two_webhook_processes(
    launcher: Launcher, fake: FakeBotAPI, pg_url: str, proxy_url: str
) -> tuple[tuple[BotProcess, str], tuple[BotProcess, str]]:
    """Telegram posting its updates, and two webhook processes of one bot on `pg_url` with
    `proxy_url` as their public address (each with its own backend URL, not yet behind it)."""
    fake.deliver_webhooks = True
    return (
        _webhook_process(launcher, pg_url, proxy_url),
        _webhook_process(launcher, pg_url, proxy_url),
    )


def test_two_webhook_processes_one_killed_midway_every_customer_books_once(
    launcher: Launcher,
    fake_api: tuple[FakeBotAPI, str],
    sandbox: SandboxServer,
    pg_url: str,
    balancer: tuple[RoundRobin, str],
) -> None:
    fake, _ = fake_api
    proxy, proxy_url = balancer
    (first, first_url), (second, second_url) = two_webhook_processes(
        launcher, fake, pg_url, proxy_url
    )
    proxy.backends[:] = [first_url, second_url]
    customers = [Customer(fake, 700 + n, "en", f"Cliente {n}") for n in range(4)]
    for n, customer in enumerate(customers):  # each on a day of their own: no 409s to re-pick
        customer.start()
        customer.to_times(day=n)
    for customer in customers[:2]:
        customer.finish(customer.first_name, f"c{customer.chat_id}@example.com")
    assert proxy.answered[first_url] and proxy.answered[second_url]  # both served

    first.kill()  # mid-way: two customers still to pick and confirm
    for customer in customers[2:]:
        customer.finish(customer.first_name, f"c{customer.chat_id}@example.com")
    _settled(pg_url, sandbox, customers)
    _handled_once(fake, pg_url, [first.log, second.log])
    assert second.stop() == 0


def test_an_update_whose_process_is_killed_while_handling_it_is_handled_by_another(
    launcher: Launcher,
    fake_api: tuple[FakeBotAPI, str],
    sandbox: SandboxServer,
    pg_url: str,
    balancer: tuple[RoundRobin, str],
) -> None:
    """The Confirm tap reaches the first process, which is killed with the confirm at Zimun:
    Telegram had no 200 for the tap, so it sends it again, and the other process handles it
    (the same idempotency key: one appointment), and the customer is told once."""
    fake, _ = fake_api
    proxy, proxy_url = balancer
    (first, first_url), (second, second_url) = two_webhook_processes(
        launcher, fake, pg_url, proxy_url
    )
    proxy.backends[:] = [first_url]
    ana = Customer(fake, 951, "en", "Ana")
    ana.start()
    ana.to_times(day=1)
    ana.pick_time()
    ana.give_details("Ana", "ana@example.com")

    gate = sandbox.faults.block_next("/appointments/confirm")
    tap = fake.user_taps(ana.chat_id, ana.keyboard.message_id, ana.buttons(Action.CONFIRM)[0])
    assert gate.wait_entered(30)  # the first process is handling the tap
    assert fake.served[tap] == 0  # ... and has not answered Telegram
    proxy.backends[:] = [first_url, second_url]
    first.kill()
    gate.release()  # Zimun books it now, answering a process that is gone
    wait_until(lambda: ana.documents == 1)
    wait_until(lambda: fake.served[tap] == 1)  # answered by the other process, once handled
    _settled(pg_url, sandbox, [ana])
    _handled_once(fake, pg_url, [first.log, second.log])
    assert sum(a.id in text for a in sandbox.store.appointment_list() for text in ana.texts) == 1
    assert fake.served[tap] == 1  # never answered twice
    assert second.stop() == 0


def test_a_rolling_restart_interrupts_no_conversation(
    launcher: Launcher,
    fake_api: tuple[FakeBotAPI, str],
    sandbox: SandboxServer,
    pg_url: str,
    balancer: tuple[RoundRobin, str],
) -> None:
    fake, _ = fake_api
    proxy, proxy_url = balancer
    fake.deliver_webhooks = True
    old, old_url = _webhook_process(launcher, pg_url, proxy_url)
    proxy.backends[:] = [old_url]
    ana = Customer(fake, 801, "en", "Ana")
    ana.start()
    ana.to_times(day=1)
    new, new_url = _webhook_process(launcher, pg_url, proxy_url)  # start the new one ...
    proxy.backends[:] = [old_url, new_url]
    ana.pick_time()
    assert old.stop() == 0  # ... then SIGTERM the old
    ana.give_details("Ana", "ana@example.com")
    ana.confirm()
    _settled(pg_url, sandbox, [ana])
    _handled_once(fake, pg_url, [old.log, new.log])
    assert new.stop() == 0


# ---- polling mode ---------------------------------------------------------------------------


def test_polling_moves_to_another_process_within_15_s_of_a_kill(
    launcher: Launcher, fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, pg_url: str
) -> None:
    fake, _ = fake_api
    poller = launcher.start(DATABASE_URL=pg_url)  # returns once it polls
    poller.wait_logged("this process is the bot's poller")
    standby = launcher._spawn({"DATABASE_URL": pg_url})
    standby.wait_logged("another process polls this bot")
    ana = Customer(fake, 901, "en", "Ana")
    ana.start()
    ana.to_times(day=1)

    killed = time.monotonic()
    poller.kill()
    standby.wait_logged("this process is the bot's poller", within=TAKEOVER + 5)
    takeover = time.monotonic() - killed
    print(f"polling takeover after SIGKILL: {takeover:.1f} s")
    assert takeover < TAKEOVER
    ana.pick_time()
    ana.give_details("Ana", "ana@example.com")
    ana.confirm()
    _settled(pg_url, sandbox, [ana])
    _handled_once(fake, pg_url, [poller.log, standby.log])
    assert standby.stop() == 0


def test_an_update_handled_again_after_a_kill_past_its_reply_keeps_the_customers_buttons(
    launcher: Launcher, fake_api: tuple[FakeBotAPI, str], sandbox: SandboxServer, pg_url: str
) -> None:
    """The day tap's reply (the free times) reached the customer, and the process was killed
    before it recorded the update as handled: the next poller handles the tap again, from the
    state the tap found, with the same draws (bot.core.draws). The time the customer taps on
    the screen they already have is taken, not refused as an old button."""
    fake, _ = fake_api
    first = launcher.start(DATABASE_URL=pg_url)
    ana = Customer(fake, 961, "en", "Ana")
    ana.start()
    ana.to_times(day=1)
    ana.tap_action(Action.BACK, until=lambda: ana.shows(Action.DAY))
    shown = fake.hold_next(ana.chat_id, after=True)
    fake.user_taps(ana.chat_id, ana.keyboard.message_id, ana.buttons(Action.DAY)[0])
    assert shown.wait_entered(30), fake.describe()
    first.kill()
    shown.lose()
    assert ana.buttons(Action.TIME), fake.describe()  # the customer sees the free times
    time_tap = ana.buttons(Action.TIME)[0]
    fake.user_taps(ana.chat_id, ana.keyboard.message_id, time_tap)  # waits for a poller

    second = launcher.start(DATABASE_URL=pg_url)
    wait_until(lambda: ana.shows(Action.USE_NAME), within=30)
    ana.give_details("Ana", "ana@example.com")
    ana.confirm()
    _settled(pg_url, sandbox, [ana])
    assert len(sandbox.store.active_holds()) == 0
    assert "Traceback" not in second.log, second.log
    assert second.stop() == 0
