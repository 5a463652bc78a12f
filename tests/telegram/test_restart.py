"""The bot stops and starts again in the middle of a booking: the customer goes on where they
were, and nothing they sent while it was down is lost or handled twice."""

from __future__ import annotations

from sandbox.testing import SandboxServer
from tests.telegram.harness import DAY_RE, Chat, RunningBot


async def test_a_restart_in_the_middle_of_a_booking(
    bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.open_booking()
    await chat.pick_slot()  # a time is held; the bot now asks for the name
    [hold] = sandbox.store.active_holds()
    asking_for_name = chat.keyboard.text

    await bot.stop()
    chat.fake.user_sends_text(chat.chat_id, "Ana García")  # typed while the bot is down
    await bot.start()  # a new Application, storage and client over the same database
    await bot.settle()

    assert chat.latest is not None and chat.latest.text != asking_for_name
    await chat.send("ana@example.com")
    await chat.tap_index(0)  # Confirm

    [appointment] = sandbox.store.appointment_list()
    assert appointment.hold_id == hold.hold_id  # the same held time, not a new one
    assert appointment.contact_name == "Ana García"
    assert len(chat.fake.documents(chat.chat_id)) == 1
    # Each update was handed to a bot that handled it exactly once.
    assert bot.processed == chat.fake.last_update_id
    assert chat.fake.pending_updates == 0


async def test_old_buttons_still_work_after_a_restart(bot: RunningBot, chat: Chat) -> None:
    await chat.open_booking()
    await bot.restart()
    await chat.tap_index(0)  # a branch, on the list the previous process drew
    await chat.tap_index(0)  # a service
    assert any(DAY_RE.match(label) for label in chat.keyboard.labels)  # the calendar
