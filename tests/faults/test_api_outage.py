"""The Zimun API down for a while in the middle of bookings: each customer is told, in their own
language, to try again; after recovery they finish; nothing is booked twice and no hold is left
behind (not even the one a customer dropped with /cancel while the API was down)."""

from __future__ import annotations

from bot.chat.engine import UNAVAILABLE
from bot.core.payload import Action
from bot.core.screens import Msg
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import Customer, Launcher, read_rows, wait_until


def told_unavailable(customer: Customer) -> bool:
    expected = localizer(customer.language).render(UNAVAILABLE, "html")
    return any(expected in text for text in customer.texts) and customer.shows(Action.RETRY)


def test_customers_wait_out_an_outage_and_finish(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    bot = launcher.start()
    ana = Customer(fake, 301, "es", "Ana")  # picks a time while the API is down
    dirk = Customer(fake, 302, "de", "Dirk")  # taps Confirm while the API is down
    ilaria = Customer(fake, 303, "it", "Ilaria")  # holds a slot, then /cancel during the outage
    ana.to_times(branch=0)
    dirk.to_times(branch=1)
    dirk.pick_time()
    dirk.give_details("Dirk Weber", "dirk@example.com")
    ilaria.to_times(branch=2)
    ilaria.pick_time()
    assert len(sandbox.store.active_holds()) == 2

    sandbox.faults.fail_next(100_000, 503)  # every API request fails from now on
    ana_time = ana.buttons(Action.TIME)[0]
    fake.user_taps(ana.chat_id, ana.keyboard.message_id, ana_time, language_code="es")
    fake.tap_index(dirk.chat_id, 0, language_code="de")  # ✅ Confirm
    fake.user_sends_command(ilaria.chat_id, "cancel", language_code="it")
    wait_until(lambda: told_unavailable(ana) and told_unavailable(dirk))
    cancelled = localizer("it").render(Msg("OK, nothing was booked."), "html")
    wait_until(lambda: any(cancelled in t for t in ilaria.texts))
    assert not sandbox.store.appointment_list()
    assert len(sandbox.store.active_holds()) == 2  # Dirk's, and Ilaria's that could not go

    sandbox.faults.clear()  # the API is back
    ana.tap(Action.RETRY, until=lambda: ana.shows(Action.USE_NAME))
    ana.give_details("Ana García", "ana@example.com")
    ana.confirm()
    documents = dirk.documents
    dirk.tap(Action.RETRY, until=lambda: dirk.documents > documents)
    ilaria.command("start", until=lambda: not sandbox.store.active_holds())

    appointments = sandbox.store.appointment_list()
    assert sorted(a.contact_email for a in appointments) == ["ana@example.com", "dirk@example.com"]
    assert all(a.status == "confirmed" for a in appointments)
    assert sandbox.stats.count("POST", "/appointments/confirm", 201) == 2  # no duplicate
    assert not sandbox.store.active_holds()  # no orphan
    assert bot.stop() == 0

    rows = read_rows(launcher.db, "SELECT chat_id, appointment_id, status FROM bookings")
    assert sorted((r["chat_id"], r["appointment_id"]) for r in rows) == sorted(
        (302 if a.contact_email.startswith("dirk") else 301, a.id) for a in appointments
    )
    assert not read_rows(launcher.db, "SELECT chat_id FROM conversations WHERE pending = 1")
    log = bot.log
    assert "Traceback" not in log
    assert "ana@example.com" not in log and "Ana García" not in log
