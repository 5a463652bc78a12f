"""What Telegram and customers throw at the adapter: forged payloads, flood control, refused
calls, stale callback queries, edits that change nothing."""

from __future__ import annotations

import logging

import pytest

from bot.config.chat_tag import chat_tag
from bot.core.screens import Button, Msg, Reply, Screen
from bot.i18n import localizer
from bot.telegram.delivery import deliver
from bot.telegram.errors import APOLOGY
from sandbox.testing import SandboxServer
from tests.telegram.harness import Chat, RunningBot


@pytest.mark.parametrize(
    "forged",
    ["", "abcd.b.zz", "@.o.1.00", "<b>' OR 1=1 --</b>" + "a" * 40],
)
async def test_a_forged_payload_is_refused(
    forged: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.open_booking()
    screen = chat.keyboard
    before = (screen.text, screen.labels)
    calls_before = sandbox.stats.total_requests

    update_id = chat.fake.user_taps(chat.chat_id, screen.message_id, forged)
    await bot.settle()

    answer = bot.fake.answer_to(update_id)
    assert answer is not None and answer.get("text")  # the customer is told, in a toast
    assert chat.keyboard.labels == before[1]  # still on the same step
    assert not sandbox.store.active_holds() and not sandbox.store.appointment_list()
    assert sandbox.stats.count("POST", "/appointments/hold") == 0
    assert sandbox.stats.total_requests - calls_before <= 1  # nothing but maybe a re-read


async def test_flood_control_delays_but_delivers(bot: RunningBot, chat: Chat) -> None:
    await chat.command("start")
    bot.fake.flood(1, retry_after=1, methods=frozenset({"editMessageText"}))
    await chat.tap_index(0)  # Book: the edit to the branch list meets 429 first

    refused = [c for c in bot.fake.calls if c.status == 429]
    assert [c.method for c in refused] == ["editMessageText"]
    assert bot.fake.faults_pending == 0
    assert chat.keyboard.labels  # the branch list arrived after all
    assert len(bot.fake.callback_answers) == 1


async def test_a_refused_reply_gets_an_apology_and_the_chat_goes_on(
    bot: RunningBot, chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    chat.language = "de"
    bot.fake.fail(1, 400, "Bad Request: chat not found", frozenset({"sendMessage"}))
    with caplog.at_level(logging.ERROR, logger="bot.telegram.errors"):
        await chat.command("start")

    [record] = [r for r in caplog.records if r.name == "bot.telegram.errors"]
    message = record.getMessage()
    assert f"chat {chat_tag(1001)}" in message and "BadRequest" in message
    assert "1001" not in message  # the tag, not the id (bot.config.chat_tag)
    apology = chat.latest
    assert apology is not None
    assert apology.text == localizer("de").render(APOLOGY, "html")
    await chat.command("start")
    assert chat.keyboard.labels  # usable again


async def test_stale_callback_queries_are_quiet(
    bot: RunningBot, chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.command("start")
    bot.fake.callback_queries_too_old = True
    with caplog.at_level(logging.WARNING):
        await chat.tap_index(0)
    assert chat.keyboard.labels
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_edit_that_changes_nothing_is_quiet(bot: RunningBot, chat: Chat) -> None:
    await chat.command("start")
    message = chat.keyboard
    assert bot.app is not None
    tapped = await bot.app.bot.edit_message_text(
        message.text,
        chat_id=chat.chat_id,
        message_id=message.message_id,
        parse_mode=message.parse_mode,
        reply_markup=None,
    )
    reply = Reply("en", (Screen((Msg("Same"),), ((Button(Msg("Again"), "x"),),)),))
    await deliver(bot.app.bot, chat.chat_id, reply, tapped)
    await deliver(bot.app.bot, chat.chat_id, reply, tapped)  # "message is not modified"
    assert chat.fake.latest(chat.chat_id).text == "Same"
    assert [c.status for c in bot.fake.calls_of("editMessageText")][-2:] == [200, 400]


async def test_a_message_without_text_gets_an_answer(
    bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.open_booking()
    await chat.pick_slot()  # now the bot asks for a name
    asked = len(bot.fake.messages(chat.chat_id))
    bot.fake.user_sends_location(chat.chat_id, 40.43, -3.70)
    await bot.settle()
    assert len(bot.fake.messages(chat.chat_id)) > asked  # not silence
    hint = chat.latest
    assert hint is not None and hint.text != localizer("en").render(APOLOGY, "html")
    await chat.give_details("Ana García", "ana@example.com")
    await chat.tap_index(0)
    assert len(sandbox.store.appointment_list()) == 1
