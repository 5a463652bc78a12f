"""Issue 18, item 1 (fast Zimun): the bot killed with SIGKILL after Zimun answered a confirm, a
reschedule or a cancel but before the customer's reply reached Telegram (a gate on the fake Bot
API holds that reply), then started again.

Before, the killed bot had already saved the chat as done and told the staff chat; the
customer never got "Booked!", the .ics or "Rescheduled!", not even after the restart. Now the
change stays written down as in flight until its reply is delivered: the restart repeats the
call with the same idempotency key (Zimun replays its answer), the customer is told once, as
their own change, and the staff chat hears of it once, after the customer, as the customer's.
"""

from __future__ import annotations

import pytest

from bot.core.payload import Action
from bot.core.screens import Msg
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import BotProcess, Customer, Launcher, read_rows, wait_until

STAFF = -100500
OUTSIDE = "Changed outside the bot (front desk, website or Zimun); the bot tells the customer."


def en(key: str, **values: object) -> str:
    return localizer("en").render(Msg(key, **values), "html")  # type: ignore[arg-type]


def staff_texts(fake: FakeBotAPI) -> list[str]:
    return [m.text or "" for m in fake.messages(STAFF)]


def errors(bot: BotProcess) -> list[str]:
    """The bot's error lines, but python-telegram-bot's own at a stop right after a start (its
    last getUpdates may still hold the only connection: "Pool timeout", suppressed by it)."""
    return [
        line
        for line in bot.log.splitlines()
        if " ERROR " in line and "telegram.ext.Updater" not in line
    ]


def pending_chats(launcher: Launcher) -> list[int]:
    rows = read_rows(launcher.db, "SELECT chat_id FROM conversations WHERE pending = 1")
    return [row["chat_id"] for row in rows]


def kill_before_reply(bot: BotProcess, fake: FakeBotAPI, ana: Customer, action: Action) -> None:
    """Tap `action`; once Zimun has answered and the bot sends the reply, kill the bot before
    Telegram receives it (the reply is lost with the process)."""
    reply = fake.hold_next(ana.chat_id)
    [button] = ana.buttons(action)
    fake.user_taps(ana.chat_id, ana.keyboard.message_id, button, language_code="en")
    assert reply.wait_entered(30), fake.describe()
    bot.kill()
    reply.lose()


def booked(launcher: Launcher, fake: FakeBotAPI) -> tuple[BotProcess, Customer]:
    bot = launcher.start(ADMIN_CHAT_ID=str(STAFF))
    ana = Customer(fake, 402, "en", "Ana")
    ana.book("Ana Rossi", "ana@example.com")
    fake.wait_for_sync(lambda: len(staff_texts(fake)) == 1, 30)
    return bot, ana


def test_a_confirm_answered_but_not_told_is_told_after_the_restart(
    launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    bot = launcher.start(ADMIN_CHAT_ID=str(STAFF))
    ana = Customer(fake, 401, "en", "Ana")
    ana.to_times()
    ana.pick_time()
    ana.give_details("Ana Rossi", "ana@example.com")

    kill_before_reply(bot, fake, ana, Action.CONFIRM)
    [appointment] = sandbox.store.appointment_list()  # Zimun booked it
    assert pending_chats(launcher) == [ana.chat_id]  # still written down as in flight
    assert not read_rows(launcher.db, "SELECT id FROM bookings")
    assert staff_texts(fake) == []  # the staff hear of it after the customer, not before
    assert ana.documents == 0

    restarted = launcher.start(ADMIN_CHAT_ID=str(STAFF))
    wait_until(lambda: ana.documents == 1)
    fake.wait_for_sync(lambda: staff_texts(fake), 30)
    assert len(sandbox.store.appointment_list()) == 1  # the same key: never booked twice
    confirmation = en("✅ <b>Booked!</b> Your reference is {reference}.", reference=appointment.id)
    assert sum(confirmation in text for text in ana.texts) == 1
    assert fake.documents(ana.chat_id)[0].filename.endswith(".ics")
    fake.wait_for_sync(lambda: fake.pending_updates == 0, 30)
    assert restarted.stop() == 0  # queued staff notices are sent before the stop completes
    [notice] = staff_texts(fake)
    assert notice.startswith("🆕 <b>New appointment:</b> ") and appointment.id in notice
    assert pending_chats(launcher) == []
    [row] = read_rows(launcher.db, "SELECT appointment_id, status FROM bookings")
    assert row == {"appointment_id": appointment.id, "status": "confirmed"}
    assert errors(restarted) == [], restarted.log


CHANGES = {
    # kind: (what the customer is told, the staff notice's start)
    "reschedule": ("✅ <b>Rescheduled!</b>", "🔁 <b>Rescheduled:</b> "),
    "cancel": (en("Your appointment is cancelled."), "🗑 <b>Cancelled:</b> "),
}


@pytest.mark.parametrize("kind", list(CHANGES))
def test_a_change_answered_but_not_told_is_the_customers_after_the_restart(
    kind: str, launcher: Launcher, fake: FakeBotAPI, sandbox: SandboxServer
) -> None:
    told, staff_head = CHANGES[kind]
    bot, ana = booked(launcher, fake)
    [appointment] = sandbox.store.appointment_list()
    booked_as = (appointment.start, appointment.status)  # the store changes it in place
    ana.command("mybookings", until=lambda: ana.shows(Action.OPEN_BOOKING))
    ana.tap(Action.OPEN_BOOKING, until=lambda: ana.shows(Action.RESCHEDULE))
    if kind == "reschedule":
        ana.tap(Action.RESCHEDULE, until=lambda: ana.shows(Action.DAY))
        ana.pick_day(1)
        ana.tap(Action.TIME, 2, until=lambda: ana.shows(Action.YES))
    else:
        ana.tap(Action.CANCEL_BOOKING, until=lambda: ana.shows(Action.YES))
    before = len(ana.texts)

    kill_before_reply(bot, fake, ana, Action.YES)
    [changed] = sandbox.store.appointment_list()
    assert changed.id == appointment.id
    assert (changed.start, changed.status) != booked_as  # Zimun made the change
    assert pending_chats(launcher) == [ana.chat_id]
    assert len(staff_texts(fake)) == 1  # only the booking's own notice so far

    restarted = launcher.start(ADMIN_CHAT_ID=str(STAFF))
    wait_until(lambda: any(told in text for text in ana.texts[before:]))
    fake.wait_for_sync(lambda: fake.pending_updates == 0, 30)
    assert restarted.stop() == 0
    assert sum(told in text for text in ana.texts) == 1  # told once, as their own
    business = ("has rescheduled your appointment", "has cancelled your appointment")
    assert not any(word in text for text in ana.texts for word in business)
    assert not read_rows(launcher.db, "SELECT id FROM notices")
    [_, notice] = staff_texts(fake)
    assert notice.startswith(staff_head) and appointment.id in notice
    assert en(OUTSIDE) not in notice  # the customer's change, not the business's
    assert pending_chats(launcher) == []
    [row] = read_rows(launcher.db, "SELECT start, status FROM bookings")
    assert row["status"] == changed.status
    assert errors(restarted) == [], restarted.log
