"""Telegram answering 429 (flood control) to a burst of replies: every reply still arrives,
once, and in order within each chat."""

from __future__ import annotations

from bot.core.payload import Action, decode
from tests.fakes.bot_api import ChatMessage, FakeBotAPI
from tests.faults.harness import Launcher, wait_until

CHATS = range(601, 606)
COMMANDS = ("start", "help", "language")


def kind(message: ChatMessage) -> str:
    """Which of the three screens a message is, by what its buttons do."""
    datas = [data for row in message.buttons for _, data in row]
    actions = {p.action for data in datas if (p := decode(data))}
    if Action.PICK in actions:
        return "language"
    if Action.HELP in actions:
        return "start"
    if Action.BOOK in actions:
        return "help"
    return "?"


def test_a_flood_burst_delays_replies_but_loses_and_reorders_none(
    launcher: Launcher, fake: FakeBotAPI
) -> None:
    bot = launcher.start()
    fake.flood(6, retry_after=1, methods=frozenset({"sendMessage"}))
    for command in COMMANDS:  # every chat sends all three before the bot answers any
        for chat in CHATS:
            fake.user_sends_command(chat, command, language_code="en")

    wait_until(lambda: all(len(fake.messages(chat)) >= len(COMMANDS) for chat in CHATS))
    fake.wait_for_sync(lambda: fake.pending_updates == 0)
    for chat in CHATS:
        assert [kind(m) for m in fake.messages(chat)] == list(COMMANDS), fake.describe()
    refused = [c for c in fake.calls if c.status == 429]
    assert len(refused) == 6 and fake.faults_pending == 0
    sent = [c for c in fake.calls_of("sendMessage") if c.status == 200]
    assert len(sent) == len(CHATS) * len(COMMANDS)  # each reply exactly once
    for chat in CHATS:
        order = [c.params.get("text") for c in sent if c.chat_id == chat]
        assert order == [m.text for m in fake.messages(chat)]
    assert bot.stop() == 0
    assert "Traceback" not in bot.log
