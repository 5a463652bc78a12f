"""/privacy explains, /forget deletes every row about the customer (after asking, releasing any
hold, leaving their appointments at the business alone), and an email is kept only with the
customer's consent. Through the real bot, the fake Bot API and the sandbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.core.screens import Msg
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat
from tests.waitlist.steps import SATURDAY, fill_day, join

EMAIL = "zoraida.q@example.org"


def label(key: str, language: str = "en", **values: object) -> str:
    return localizer(language).render(Msg(key, **values), "plain")  # type: ignore[arg-type]


async def test_privacy_says_what_is_stored_in_the_customers_language(
    ops: OpsBot, chat: Chat
) -> None:
    chat.language = "it"
    await chat.command("privacy")
    screen = chat.latest
    assert screen is not None and screen.text is not None
    expected = localizer("it").render(
        Msg("• Your email for next time, only if you ask me to remember it."), "html"
    )
    assert expected in screen.text
    assert "90" in screen.text  # how long bookings are kept
    assert "/forget" in screen.text
    assert label("🗑 Delete my data", "it") in screen.labels
    await chat.tap(label("🗑 Delete my data", "it"))
    assert label("Yes, delete everything", "it") in chat.keyboard.labels


async def test_forget_deletes_every_row_of_the_customer_and_nothing_else(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    other = Chat(ops, chat_id=2002, first_name="Bea")
    await other.book(name="Bea", email="bea@example.org", day=2)
    await chat.book(name="Zoraida", email=EMAIL, day=2)
    [mine] = [a for a in sandbox.store.appointment_list() if a.contact_email == EMAIL]
    sandbox.store.reschedule(mine.id, mine.start + timedelta(days=2))  # at the business
    await chat.command("mybookings")  # noticed: a notice to the customer is recorded
    await chat.command("language")
    await chat.tap_index(1)  # a stored language
    walk_ins = fill_day(sandbox, SATURDAY)
    await join(chat, SATURDAY)  # a day on the waiting list
    await chat.open_booking()  # and a booking in progress: a hold and a conversation state
    await chat.pick_slot(day=3)
    assert len(sandbox.store.active_holds()) == 1
    before = ops.rows_of(chat.chat_id)
    assert all(before.values()), before  # something in every table
    others_before = ops.rows_of(other.chat_id)

    await chat.command("forget")
    confirm = chat.latest
    assert confirm is not None and confirm.text is not None
    assert label("Yes, delete everything", "es") in confirm.labels  # language chosen above
    not_cancelled = localizer("es").render(
        Msg(
            "This doesn't cancel your appointments at the business: to cancel one, use My "
            "appointments first."
        ),
        "html",
    )
    assert not_cancelled in confirm.text
    assert ops.rows_of(chat.chat_id)["bookings"] == 1  # nothing deleted before the yes
    await chat.tap_index(0)  # Yes, delete everything

    assert ops.rows_of(chat.chat_id) == dict.fromkeys(before, 0)
    assert ops.rows_of(other.chat_id) == others_before
    assert not sandbox.store.active_holds()  # the hold was released first
    assert all(a.status == "confirmed" for a in sandbox.store.appointment_list())
    assert len(sandbox.store.appointment_list()) == 2 + len(walk_ins)
    # The anonymous statistics keep no trace of who it was.
    columns = {row[1] for row in ops.db.db.execute("PRAGMA table_info(funnel)").fetchall()}
    assert not columns & {"user_id", "chat_id", "name", "email"}

    # The chat goes on as for a newcomer, and the reminder of the forgotten booking is gone.
    await chat.command("start")
    assert chat.latest is not None and chat.keyboard.labels
    booking_start = max(a.start for a in sandbox.store.appointment_list())
    sandbox.clock.set(booking_start - timedelta(hours=2, seconds=-1))
    await ops.scan()
    assert ops.reminders_in(chat.chat_id) == []


async def test_no_means_nothing_is_deleted(ops: OpsBot, chat: Chat) -> None:
    await chat.book(day=2)
    before = ops.rows_of(chat.chat_id)
    await chat.command("forget")
    await chat.tap_index(1)  # No, keep it
    assert ops.rows_of(chat.chat_id)["bookings"] == before["bookings"] == 1
    assert ops.rows_of(chat.chat_id)["reminders"] == before["reminders"]


async def test_the_typed_email_is_cleared_after_confirmation_and_kept_only_with_consent(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.open_booking()
    await chat.pick_slot(day=2)
    await chat.give_details("Zoraida", EMAIL)
    summary = chat.keyboard
    assert label("☐ Remember my email") in summary.labels
    await chat.tap(label("☐ Remember my email"))
    assert label("☑ Remember my email") in chat.keyboard.labels
    await chat.tap_index(0)  # Confirm
    assert sandbox.store.appointment_list()[0].contact_email == EMAIL
    assert EMAIL not in _conversation_state(ops, chat)  # the draft is gone
    assert ops.db.get_prefs(chat.chat_id) == {"email": EMAIL, "email_consent": True}

    # Next time: one tap uses it, and the question is not asked again.
    await chat.open_booking()
    await chat.pick_slot(day=3)
    await chat.send("Zoraida")
    await chat.tap(label("Use {email}", email=EMAIL))
    assert not any("Remember my email" in b for b in chat.keyboard.labels)
    await chat.tap_index(0)  # Confirm
    assert [a.contact_email for a in sandbox.store.appointment_list()] == [EMAIL, EMAIL]

    await chat.command("forget")
    await chat.tap_index(0)
    assert ops.db.get_prefs(chat.chat_id) == {}


async def test_without_consent_the_email_is_not_kept_and_not_asked_again(
    ops: OpsBot, chat: Chat
) -> None:
    await chat.book(email=EMAIL, day=2)  # Confirm without ticking the box
    assert ops.db.get_prefs(chat.chat_id) == {"email_consent": False}
    assert EMAIL not in _conversation_state(ops, chat)
    await chat.open_booking()
    await chat.pick_slot(day=3)
    await chat.send("Zoraida")
    assert not any(EMAIL in b for b in chat.keyboard.labels)  # no "Use ..." offer
    await chat.send(EMAIL)
    assert not any("Remember my email" in b for b in chat.keyboard.labels)


@pytest.mark.parametrize("language", ["de"])
async def test_privacy_and_forget_are_in_the_command_menu(ops: OpsBot, language: str) -> None:
    commands = {c["command"]: c["description"] for c in ops.fake.private_commands[language]}
    assert commands["privacy"] == label("What I store about you", language)
    assert commands["forget"] == label("Delete everything I store about you", language)
    assert "stats" not in commands


def _conversation_state(ops: OpsBot, chat: Chat) -> str:
    row = ops.db.load_conversation(chat.chat_id)
    return json.dumps(row.state) if row else ""
