"""Races: two customers for the last place of a slot, and one customer tapping Confirm twice."""

from __future__ import annotations

from sandbox.testing import SandboxServer
from tests.telegram.harness import DAY_RE, TIME_RE, Chat, RunningBot

CONSULTATION = 1  # the second service of the seed: one place per slot


async def test_two_customers_race_for_the_last_place(
    bot: RunningBot, sandbox: SandboxServer
) -> None:
    ana, ben = Chat(bot, 2001, "es", "Ana"), Chat(bot, 2002, "es", "Ben")
    for customer in (ana, ben):
        await customer.open_booking()
        await customer.tap_index(0)  # the first branch
        await customer.tap_index(CONSULTATION)
        await customer.tap_where(lambda label: bool(DAY_RE.match(label)))

    # Both see the same first time free, and both tap it before the bot handles either.
    first_time = lambda label: bool(TIME_RE.match(label))  # noqa: E731
    raced = await ana.tap_where(first_time, settle=False)
    assert await ben.tap_where(first_time, settle=False) == raced
    await bot.settle()

    assert len(sandbox.store.active_holds()) == 1
    assert sandbox.stats.count("POST", "/appointments/hold", 201) == 1
    winner, loser = sorted((ana, ben), key=lambda c: _shows_times(c))
    assert not _shows_times(winner)  # on to the name step, the time held
    # The loser was told and offered fresh times, without the one that went.
    assert _shows_times(loser)
    assert raced not in loser.keyboard.labels
    assert loser.keyboard.text != winner.keyboard.text
    assert all(c.status == 200 for c in bot.fake.calls)


async def test_a_double_tap_on_confirm_books_once(
    bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.open_booking()
    await chat.pick_slot()
    await chat.give_details("Ana García", "ana@example.com")
    summary = chat.keyboard
    _, confirm = summary.buttons[0][0]
    chat.fake.user_taps(chat.chat_id, summary.message_id, confirm)
    chat.fake.user_taps(chat.chat_id, summary.message_id, confirm)
    await bot.settle()

    assert len(sandbox.store.appointment_list()) == 1
    assert sandbox.stats.count("POST", "/appointments/confirm") == 1
    assert len(bot.fake.documents(chat.chat_id)) == 1  # one confirmation, one calendar file
    assert len(bot.fake.callback_answers) == sum(
        1 for u in bot.fake.updates if "callback_query" in u
    )


def _shows_times(chat: Chat) -> bool:
    return any(TIME_RE.match(label) for label in chat.keyboard.labels)
