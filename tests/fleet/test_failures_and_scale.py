"""A business that cannot start (Zimun refuses its credentials, Telegram its token) is reported
and retried while the others serve; and a process with hundreds of businesses starts."""

from __future__ import annotations

import httpx
import pytest

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
    bot.wait_logged("[locked-out] failed to start: Zimun credentials refused")
    bot.wait_logged("[revoked] failed to start: Telegram rejected")
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
    booked = 'zimun_bot_bookings_total{business="good",kind="booked"} 1.0'
    with httpx.Client(timeout=10) as http:
        metrics = good.wait_for_sync(
            lambda: (text := http.get(f"http://127.0.0.1:{port}/metrics").text) * (booked in text)
        )
    assert 'zimun_bot_updates_handled_total{business="good"}' in metrics
    assert 'zimun_bot_zimun_calls_total{business="good",outcome="ok"}' in metrics
    assert 'zimun_bot_businesses{state="serving"} 1.0' in metrics
    assert 'zimun_bot_businesses{state="failed"} 2.0' in metrics

    # Telegram takes the token again: the next try (after 5 s) brings the business up.
    fakes.restore(revoked)
    bot.wait_logged("[revoked] serving (attempt 2)")
    assert revoked.webhook["url"] == f"http://127.0.0.1:{port}/telegram/revoked"

    assert bot.stop() == 0, bot.log
    log = bot.log
    assert "Traceback" not in log, log
    for secret in ("not-the-secret-at-all", revoked.token, good.token, locked_out.token):
        assert secret not in log


@pytest.mark.parametrize(("webhook", "count"), [(True, 300), (False, 150)])
def test_hundreds_of_businesses_start_in_one_process(
    launcher: Launcher, bots: tuple[FakeBots, str], webhook: bool, count: int
) -> None:
    fakes, _ = bots
    many = [fakes.add(f"shop-{n}", deliver_webhooks=webhook) for n in range(count)]
    launcher.write_businesses({f"shop-{n}": launcher.business(fake) for n, fake in enumerate(many)})
    port = free_port()
    extra = launcher.webhook_env(port) if webhook else {"METRICS_PORT": str(port)}
    bot = launcher.start_many(many, webhook=webhook, **extra)
    bot.wait_logged(f"all {count} businesses serving")
    with httpx.Client(timeout=10) as http:
        wait_listening(http, f"http://127.0.0.1:{port}/metrics")
        health = http.get(f"http://127.0.0.1:{port}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        for fake in (many[0], many[-1]):
            customer = ProcessCustomer(fake, 8001)
            customer.start()
            assert customer.labels()
        # Counted once the update is fully handled, a moment after its reply arrived.
        counted = f'zimun_bot_updates_handled_total{{business="shop-{count - 1}"}} 1.0'
        metrics = many[-1].wait_for_sync(
            lambda: (text := http.get(f"http://127.0.0.1:{port}/metrics").text) * (counted in text)
        )
    assert f'zimun_bot_businesses{{state="serving"}} {count}.0' in metrics
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log


@pytest.mark.parametrize("webhook", [True, False])
def test_a_stop_while_businesses_start_is_a_normal_stop(
    launcher: Launcher, bots: tuple[FakeBots, str], webhook: bool
) -> None:
    fakes, _ = bots
    many = [fakes.add(f"shop-{n}", deliver_webhooks=webhook) for n in range(100)]
    launcher.write_businesses({f"shop-{n}": launcher.business(fake) for n, fake in enumerate(many)})
    extra = launcher.webhook_env(free_port()) if webhook else {}
    bot = launcher.start_many(many[:1], webhook=webhook, **extra)  # the first one serves
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log and "ERROR" not in bot.log, bot.log
