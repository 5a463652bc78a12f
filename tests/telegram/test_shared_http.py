"""Many bots over one HTTP client (bot.telegram.shared_http, shared_request): the production
Application books through it, a bot that stops leaves it open for the others, timeouts and
errors reach python-telegram-bot as they do through its own HTTPXRequest, and every client of
the process uses one TLS context."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.telegram.shared_http import SharedHttp
from bot.telegram.shared_request import SharedRequest
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.telegram.harness import Chat, RunningBot

OTHER_TOKEN = "987654321:AAOtherFakeTokenForTests_abcdefghijk"


@pytest.fixture
async def shared() -> AsyncIterator[SharedHttp]:
    async with SharedHttp() as http:
        yield http


@pytest.fixture
def bot_options(shared: SharedHttp) -> dict[str, object]:
    """The `bot` fixture's Application sends through the shared clients."""
    return {"request": shared.bot_request(), "get_updates_request": shared.updates_request()}


@pytest.fixture
def other_fake() -> Iterator[tuple[FakeBotAPI, str]]:
    """A second bot's Bot API (another token, another port)."""
    fake = FakeBotAPI(token=OTHER_TOKEN, username="other_test_bot")
    with fake.serve() as base_url:
        yield fake, base_url


def bot_on(shared: SharedHttp, fake: FakeBotAPI, base_url: str) -> Bot:
    return Bot(
        fake.token,
        base_url=f"{base_url}/bot",
        request=shared.bot_request(),
        get_updates_request=shared.updates_request(),
    )


def count_requests(client: httpx.AsyncClient) -> list[str]:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url.path.rsplit("/", 1)[-1])

    client.event_hooks["request"].append(record)
    return seen


async def test_a_booking_through_the_shared_clients_and_a_restart_on_them(
    bot: RunningBot, chat: Chat, shared: SharedHttp, sandbox: SandboxServer
) -> None:
    sent = count_requests(shared.bot_request().client)
    await chat.book()
    assert len(sandbox.store.appointment_list()) == 1
    assert {"sendMessage", "answerCallbackQuery", "sendDocument"} <= set(sent)

    await bot.restart()  # the old Application's shutdown must not close the shared client
    assert not shared.closed
    await chat.start()
    assert chat.labels()  # the menu came back through the shared client


async def test_bots_share_one_request_and_one_stopping_leaves_the_other_working(
    shared: SharedHttp,
    fake_api: tuple[FakeBotAPI, str],
    other_fake: tuple[FakeBotAPI, str],
) -> None:
    first, second = bot_on(shared, *fake_api), bot_on(shared, *other_fake)
    await first.initialize()
    await second.initialize()
    assert (first.username, second.username) == ("zimun_test_bot", "other_test_bot")
    await first.shutdown()
    await second.send_message(42, "still here")
    assert other_fake[0].texts(42) == ["still here"]
    assert not fake_api[0].texts(42)
    await second.shutdown()
    assert not shared.closed


async def test_a_read_timeout_is_timed_out_and_a_full_pool_is_a_pool_timeout(
    fake_api: tuple[FakeBotAPI, str],
) -> None:
    fake, base_url = fake_api
    async with SharedHttp(connections=1, pool_timeout=0.2) as shared:
        bot = bot_on(shared, fake, base_url)
        await bot.initialize()
        slow = fake.hold_next()
        try:
            with pytest.raises(TimedOut) as read:
                await bot.send_message(7, "slow", read_timeout=0.3)
            assert "Pool timeout" not in str(read.value)
        finally:
            slow.release()

        held = fake.hold_next()
        try:
            first = asyncio.ensure_future(bot.send_message(7, "holds the only connection"))
            assert await asyncio.to_thread(held.wait_entered)
            with pytest.raises(TimedOut, match="Pool timeout"):
                await bot.send_message(7, "waits for a connection")
        finally:
            held.release()
        await first
        await bot.shutdown()


async def test_an_unreachable_bot_api_is_a_network_error(shared: SharedHttp) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bot = Bot(OTHER_TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=shared.bot_request())
    with pytest.raises(NetworkError, match=r"httpx\.ConnectError"):
        await bot.get_me()


async def test_a_long_poll_adds_its_timeout_to_the_read_timeout(
    fake_api: tuple[FakeBotAPI, str],
) -> None:
    """Bot.get_updates reads the request's default read timeout and adds the poll's: a poll
    of 1 s over a 0.1 s read timeout waits its second and returns empty, not TimedOut."""
    fake, base_url = fake_api
    async with SharedHttp() as shared:
        polling = SharedRequest(shared.updates_request().client, read_timeout=0.1)
        bot = Bot(
            fake.token,
            base_url=f"{base_url}/bot",
            request=shared.bot_request(),
            get_updates_request=polling,
        )
        await bot.initialize()
        assert await bot.get_updates(timeout=1) == ()
        await bot.shutdown()


async def test_every_shared_client_uses_one_tls_context() -> None:
    async with SharedHttp() as shared:
        clients = [
            shared.bot_request().client,
            shared.updates_request().client,
            shared.zimun_http("https://zimun.example/api/v1"),
            shared.zimun_http("https://eu.zimun.example/api/v1"),
        ]
        contexts = {id(c._transport._pool._ssl_context) for c in clients}  # type: ignore[attr-defined]
        assert contexts == {id(shared.ssl_context)}
    assert all(c.is_closed for c in clients)
