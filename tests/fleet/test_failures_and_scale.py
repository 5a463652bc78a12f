"""A business that cannot start (Zimun refuses its credentials, Telegram its token) is reported
and retried while the others serve; and a process with hundreds of businesses starts."""

from __future__ import annotations

import httpx

from tests.customers import ProcessCustomer
from tests.fakes.bot_api import FakeBots
from tests.process import Launcher, free_port, wait_listening


def test_a_business_zimun_or_telegram_refuses_is_reported_and_the_others_book(
    launcher: Launcher, bots: tuple[FakeBots, str]
) -> None:
    fakes, _ = bots
    good, locked_out, revoked = (fakes.add(name) for name in ("good", "locked", "revoked"))
    fakes.revoke(revoked)  # Telegram answers 401 to its token
    launcher.write_businesses(
        {
            "good": launcher.business(good),
            "locked-out": launcher.business(
                locked_out, ZIMUN_CLIENT_SECRET="not-the-secret-at-all"
            ),
            "revoked": launcher.business(revoked),
        }
    )
    port = free_port()
    bot = launcher.start_many([good], webhook=True, **launcher.webhook_env(port))
    bot.wait_logged("business locked-out failed to start: Zimun credentials refused")
    bot.wait_logged("business revoked failed to start: Telegram rejected")
    with httpx.Client(timeout=10) as http:
        health_url = f"http://127.0.0.1:{port}/healthz"
        wait_listening(http, health_url)
        health = http.get(health_url)
        assert (health.status_code, health.json()) == (503, {"status": "failed"})
        metrics = http.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'business="locked-out"' in metrics and 'state="failed"' in metrics

    good.deliver_webhooks = True
    ana = ProcessCustomer(good, 7001)
    ana.book()
    assert len(launcher.sandbox.store.appointment_list()) == 1
    assert not locked_out.webhook and not locked_out.messages(7001)
    with httpx.Client(timeout=10) as http:
        metrics = http.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'zimun_bot_bookings_total{business="good",kind="booked"} 1.0' in metrics
    assert 'zimun_bot_updates_handled_total{business="good"}' in metrics
    assert 'zimun_bot_zimun_calls_total{business="good",outcome="ok"}' in metrics
    assert 'zimun_bot_businesses{state="serving"} 1.0' in metrics
    assert 'zimun_bot_businesses{state="failed"} 2.0' in metrics

    assert bot.stop() == 0, bot.log
    log = bot.log
    assert "Traceback" not in log, log
    for secret in ("not-the-secret-at-all", revoked.token, good.token, locked_out.token):
        assert secret not in log


def test_hundreds_of_businesses_start_in_one_process(
    launcher: Launcher, bots: tuple[FakeBots, str]
) -> None:
    fakes, _ = bots
    many = [fakes.add(f"shop-{n}", deliver_webhooks=True) for n in range(300)]
    launcher.write_businesses({f"shop-{n}": launcher.business(fake) for n, fake in enumerate(many)})
    port = free_port()
    bot = launcher.start_many(many, webhook=True, **launcher.webhook_env(port))
    with httpx.Client(timeout=10) as http:
        health_url = f"http://127.0.0.1:{port}/healthz"
        wait_listening(http, health_url)
        fakes.bots[many[0].token].wait_for_sync(lambda: http.get(health_url).status_code == 200)
    for fake in (many[0], many[-1]):
        customer = ProcessCustomer(fake, 8001)
        customer.start()
        assert customer.labels()
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log
