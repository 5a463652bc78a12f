"""Two businesses in one process (BUSINESSES_FILE): each its own catalog, language, customers
and bookings; a customer of both sees two separate worlds, and one business's buttons never act
in the other's chat. Webhook mode: each business at its own path with its own secret."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.core.payload import Action, booking_data, decode
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.customers import ProcessCustomer
from tests.fakes.bot_api import SECRET_HEADER, FakeBots
from tests.fleet.conftest import OTHER_BRANCH
from tests.process import WEBHOOK_SECRET, Launcher, free_port, wait_listening

ANA = 5001  # one Telegram user, customer of both businesses
BRANCH_OF_ALPHA = "Madrid – Chamberí"


def seen(customer: ProcessCustomer) -> str:
    """Everything the customer was shown in that chat: texts and button labels."""
    return " ".join(
        [*(m.text or m.caption or "" for m in customer.messages)]
        + [label for m in customer.messages for label in m.labels]
    )


def test_a_customer_of_two_businesses_sees_two_worlds(
    launcher: Launcher, bots: tuple[FakeBots, str], other_sandbox: SandboxServer
) -> None:
    fakes, _ = bots
    alpha, beta = fakes.add("alpha"), fakes.add("beta")
    launcher.write_businesses(
        {
            "alpha": launcher.business(alpha, BOT_LANGUAGES="en"),
            "beta": launcher.business(beta, other_sandbox, BOT_LANGUAGES="es"),
        }
    )
    bot = launcher.start_many([alpha, beta])
    in_alpha, in_beta = ProcessCustomer(alpha, ANA), ProcessCustomer(beta, ANA)

    in_alpha.book()
    in_beta.start()
    assert any(localizer("es").gettext("Book an appointment") in x for x in in_beta.labels())
    in_beta.tap_action(Action.BOOK)  # one branch: straight on to its services or calendar
    assert OTHER_BRANCH in seen(in_beta) and BRANCH_OF_ALPHA not in seen(in_beta)
    assert OTHER_BRANCH not in seen(in_alpha)
    assert len(launcher.sandbox.store.appointment_list()) == 1
    assert not other_sandbox.store.appointment_list()

    # My bookings: alpha lists Ana's booking, beta none.
    in_alpha.start()
    in_alpha.tap_action(Action.MY_BOOKINGS)
    [opened] = in_alpha.buttons(Action.OPEN_BOOKING)
    in_beta.start()
    in_beta.tap_action(Action.MY_BOOKINGS)
    assert not in_beta.buttons(Action.OPEN_BOOKING)

    # Alpha's booking-scoped buttons, forged in beta's chat by the same user: refused.
    payload = decode(opened)
    assert payload is not None and payload.arg is not None
    for forged in (opened, booking_data(Action.CANCEL_BOOKING, payload.arg)):
        answer = in_beta.tap_answered(forged)
        assert answer.get("text")
    assert BRANCH_OF_ALPHA not in seen(in_beta)
    [appointment] = launcher.sandbox.store.appointment_list()
    assert appointment.status != "cancelled"
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log
    assert alpha.token not in bot.log and beta.token not in bot.log
    # Each business's lines name it (the per-update line, here).
    assert "bot.updates: [alpha] update " in bot.log
    assert "bot.updates: [beta] update " in bot.log


def test_webhook_mode_serves_each_business_at_its_path_with_its_secret(
    launcher: Launcher, bots: tuple[FakeBots, str], other_sandbox: SandboxServer
) -> None:
    from bot.config.businesses import derived_webhook_secret

    fakes, _ = bots
    alpha = fakes.add("alpha", deliver_webhooks=True)
    beta = fakes.add("beta", deliver_webhooks=True)
    launcher.write_businesses(
        {
            "alpha": launcher.business(alpha),
            "beta": launcher.business(beta, other_sandbox, BOT_LANGUAGES="es"),
        }
    )
    port = free_port()
    bot = launcher.start_many([alpha, beta], webhook=True, **launcher.webhook_env(port))
    base = f"http://127.0.0.1:{port}/telegram"
    assert alpha.webhook["url"] == f"{base}/alpha" and beta.webhook["url"] == f"{base}/beta"
    secrets = {alpha.webhook["secret_token"], beta.webhook["secret_token"], WEBHOOK_SECRET}
    assert len(secrets) == 3
    assert beta.webhook["secret_token"] == derived_webhook_secret(WEBHOOK_SECRET, "beta")

    in_alpha, in_beta = ProcessCustomer(alpha, ANA), ProcessCustomer(beta, ANA)
    in_alpha.book()
    in_beta.start()
    in_beta.tap_action(Action.BOOK)
    assert OTHER_BRANCH in seen(in_beta) and BRANCH_OF_ALPHA not in seen(in_beta)
    assert len(launcher.sandbox.store.appointment_list()) == 1

    update = beta.updates[-1]
    with httpx.Client(timeout=10) as http:
        wait_listening(http, f"http://127.0.0.1:{port}/healthz")
        alpha_secret = {SECRET_HEADER: alpha.webhook["secret_token"]}
        assert http.post(f"{base}/beta", json=update, headers=alpha_secret).status_code == 403
        assert http.post(f"{base}/beta", json=update).status_code == 403
        assert http.post(f"{base}/gamma", json=update, headers=alpha_secret).status_code == 404
        assert http.post(base, json=update, headers=alpha_secret).status_code in (404, 405)
        health = http.get(f"http://127.0.0.1:{port}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert bot.stop() == 0, bot.log
    assert "Traceback" not in bot.log, bot.log
    for secret in secrets:
        assert secret not in bot.log


def test_each_business_speaks_its_own_words(
    launcher: Launcher, bots: tuple[FakeBots, str], tmp_path: Path
) -> None:
    """MESSAGES_DIR per business: each bot's rewording, in its own chats only."""
    fakes, _ = bots
    alpha, beta, gamma = fakes.add("alpha"), fakes.add("beta"), fakes.add("gamma")
    folders = {}
    for name, label in (("alpha", "Book with Alpha"), ("beta", "Book with Beta")):
        folder = folders[name] = tmp_path / f"words-{name}"
        folder.mkdir()
        (folder / "en.po").write_text(
            'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            f'msgid "📅 Book an appointment"\nmsgstr "{label}"\n'
        )
    launcher.write_businesses(
        {
            "alpha": launcher.business(alpha, MESSAGES_DIR=str(folders["alpha"])),
            "beta": launcher.business(beta, MESSAGES_DIR=str(folders["beta"])),
            "gamma": launcher.business(gamma),
        }
    )
    bot = launcher.start_many([alpha, beta, gamma])
    seen_by = {}
    for fake in (alpha, beta, gamma):
        customer = ProcessCustomer(fake, ANA)
        customer.start()
        seen_by[fake.username] = " ".join(customer.labels())
    assert "Book with Alpha" in seen_by["alpha_bot"] and "Beta" not in seen_by["alpha_bot"]
    assert "Book with Beta" in seen_by["beta_bot"] and "Alpha" not in seen_by["beta_bot"]
    assert "Book an appointment" in seen_by["gamma_bot"]
    assert bot.stop() == 0, bot.log
