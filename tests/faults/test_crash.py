"""The bot killed with SIGKILL while its confirm is in flight (sent, not yet answered), then
started again: the confirm it remembered is finished with the same idempotency key, so exactly
one appointment exists, and the customer is told it is booked."""

from __future__ import annotations

from bot.core.payload import Action
from bot.core.screens import Msg
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import Customer, Launcher, read_rows, wait_until

BOOKED = "✅ <b>Booked!</b> Your reference is {reference}."


def test_sigkill_between_confirm_and_its_answer(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    bot = launcher.start()
    ana = Customer(fake, 401, "it", "Ana")
    ana.to_times()
    ana.pick_time()
    ana.give_details("Ana Rossi", "ana@example.com")

    gate = sandbox.faults.block_next("/appointments/confirm")
    confirm = ana.buttons(Action.CONFIRM)[0]
    fake.user_taps(ana.chat_id, ana.keyboard.message_id, confirm, language_code="it")
    assert gate.wait_entered(30)  # the confirm reached Zimun; its answer is held back
    bot.kill()
    gate.release()  # Zimun books it now, answering a bot that is gone
    wait_until(lambda: sandbox.store.appointment_list())
    [pending] = read_rows(launcher.db, "SELECT chat_id FROM conversations WHERE pending = 1")
    assert pending["chat_id"] == ana.chat_id  # the bot had written down what it was doing
    assert ana.documents == 0  # the customer has not been told anything yet

    restarted = launcher.start()
    wait_until(lambda: ana.documents == 1)

    [appointment] = sandbox.store.appointment_list()
    assert appointment.status == "confirmed" and appointment.contact_email == "ana@example.com"
    assert sandbox.stats.count("POST", "/appointments/confirm", 201) >= 1
    assert sum(appointment.id in text for text in ana.texts) == 1  # told once, with its reference
    assert ana.fake.documents(ana.chat_id)[0].filename.endswith(".ics")
    assert not sandbox.store.active_holds()

    # The Confirm tap the killed bot had taken: handled again or not, never booked twice.
    fake.wait_for_sync(lambda: fake.pending_updates == 0, 30)
    ana.command("mybookings")
    assert len(sandbox.store.appointment_list()) == 1
    assert restarted.stop() == 0
    [row] = read_rows(launcher.db, "SELECT appointment_id, status FROM bookings")
    assert row == {"appointment_id": appointment.id, "status": "confirmed"}
    assert not read_rows(launcher.db, "SELECT chat_id FROM conversations WHERE pending = 1")
    assert "Traceback" not in restarted.log

    # The confirmation resumed outside any update is still in the customer's language.
    italian = localizer("it").render(Msg(BOOKED, reference=appointment.id), "html")
    assert any(italian in text for text in ana.texts)
