"""One customer cannot slow the others: a chat flooding the bot is answered up to its budget,
told once (in its language) to slow down, and then skipped while everyone else is served; a
429 from Telegram pauses only the chat that caused it (a button's answer names none: the chat
that tapped); and
replies to customers go before background sends. Through the real Application, the fake Bot
API and the sandbox on loopback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.i18n import localizer
from bot.telegram.budget import SLOW_DOWN, Buckets
from bot.telegram.flood import FairRateLimiter
from tests.telegram.harness import Chat, RunningBot

FLOODER, OTHER = 3001, 3002
BURST = 5


class Clock:
    """The budget's clock, moved by the test (the buckets never refill by themselves)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


CLOCK = Clock()


@pytest.mark.parametrize(
    "bot_options", [{"update_budget": Buckets(BURST, 1.0, clock=CLOCK)}], indirect=False
)
async def test_a_flooding_chat_is_told_once_and_skipped_while_others_are_served(
    bot: RunningBot, bot_options: dict[str, Any]
) -> None:
    flooder = Chat(bot, FLOODER, language="de")
    other = Chat(bot, OTHER, language="it")
    for _ in range(30):
        bot.fake.user_sends_command(FLOODER, "help", language_code="de")
    await other.command("start")  # settles every update so far
    assert other.keyboard.labels

    texts = flooder.texts
    notice = localizer("de").render(SLOW_DOWN, "html")
    assert texts.count(notice) == 1 and texts[-1] == notice  # told once, after its replies
    assert len(texts) == BURST + 1  # the other 24 were skipped unseen

    CLOCK.now += 3600  # an hour later the budget is whole again
    await flooder.command("start")
    assert flooder.keyboard.labels and flooder.texts.count(notice) == 1


async def test_a_429_pauses_only_the_chat_it_names(bot: RunningBot) -> None:
    fake = bot.fake
    fake.flood(1, retry_after=5, methods=frozenset({"sendMessage"}), chat_id=FLOODER)
    fake.user_sends_command(FLOODER, "start", language_code="en")
    await fake.wait_for(lambda: any(c.status == 429 for c in fake.calls))
    fake.user_sends_command(OTHER, "start", language_code="en")
    await fake.wait_for(lambda: fake.latest_keyboard(OTHER))
    assert fake.messages(FLOODER) == []  # still waiting out its 5 s
    await fake.wait_for(lambda: fake.latest_keyboard(FLOODER))
    assert len(fake.messages(FLOODER)) == 1  # sent once, after the pause


async def test_a_429_naming_no_chat_pauses_only_the_chat_that_caused_it(
    bot: RunningBot, chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    """A 429 on answering a button (answerCallbackQuery names no chat) paused every chat:
    another customer's booking went from 1.7 s to 97 s, and the tap ended in a RetryAfter
    traceback at ERROR. Now it pauses the chat that tapped, and is not retried."""
    fake = bot.fake
    await chat.command("start")
    fake.flood(1, retry_after=5, methods=frozenset({"answerCallbackQuery"}))
    fake.tap_index(chat.chat_id, 0, language_code="en")
    await fake.wait_for(lambda: any(c.status == 429 for c in fake.calls))
    [refused] = [c for c in fake.calls if c.status == 429]
    fake.user_sends_command(OTHER, "start", language_code="en")
    await fake.wait_for(lambda: fake.calls_of("sendMessage", OTHER))
    [reply] = fake.calls_of("sendMessage", OTHER)
    assert reply.at < refused.at + 5  # not held back by another chat's pause
    await bot.settle()
    tapper = [c for c in fake.calls if c.chat_id == chat.chat_id and c.at > refused.at]
    assert tapper and min(c.at for c in tapper) >= refused.at + 5  # its own pause
    assert len(fake.calls_of("answerCallbackQuery")) == 1  # not retried
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "bot_options", [{"rate_limiter": FairRateLimiter(overall_per_second=2)}], indirect=False
)
async def test_replies_go_before_background_sends(
    bot: RunningBot, bot_options: dict[str, Any]
) -> None:
    """Eight reminders to eight customers are queued (sent as reminders and notices are:
    outside any update); a reply queued after them still goes out before most of them."""
    assert bot.app is not None
    reminded = range(5001, 5009)
    reminders = [
        asyncio.create_task(bot.app.bot.send_message(chat_id, "reminder")) for chat_id in reminded
    ]
    await bot.fake.wait_for(lambda: len(bot.fake.calls_of("sendMessage")) >= 2)
    bot.fake.user_sends_command(OTHER, "start", language_code="en")
    await asyncio.gather(*reminders)
    await bot.settle()
    order = [c.chat_id for c in bot.fake.calls_of("sendMessage")]
    assert sorted(order) == sorted([*reminded, OTHER])
    assert len(order[order.index(OTHER) + 1 :]) >= 3, order
