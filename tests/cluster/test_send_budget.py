"""Telegram's 30 messages a second hold for the bot as a whole (issue 20): two processes of one
bot (two stores on one PostgreSQL, each with its own FairRateLimiter) sending as fast as they
can never pass 30 in any one of the database's seconds, read back from the database; two bots
do not share; background sends leave the replies' reserve in every second, and a reply is
sent at once while they wait for the next; replies go first; with the database
away a process sends on a share of its own, and counts in the shared budget again once the
database answers. No timed assertion: the runs last a pinned number of the database's
seconds, and what is checked is counted."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from typing import Any

import psycopg
import pytest

from bot.store.contract import SendGrant
from bot.store.postgres import PostgresStore
from bot.telegram.cluster import Cluster
from bot.telegram.flood import RESERVE, FairRateLimiter, replying_to
from bot.telegram.shared_budget import SharedFairQueue
from tests.cluster.proxy import RoundRobin
from tests.cluster.test_processes import balancer, pg_rows, two_webhook_processes  # noqa: F401
from tests.fakes.bot_api import FakeBotAPI
from tests.faults.harness import wait_until
from tests.process import Launcher

WINDOWS = 4  # the database's seconds each run sends through (after its first, partial one)
SENDERS = 8  # tasks per process sending one message after the other
_chats = itertools.count(10_000)


class Process:
    """One process's limiter of one bot, and what it sent, by the database's second its
    token was from."""

    def __init__(self, store: PostgresStore, bot: str) -> None:
        self.queue = Cluster(store, "", bot).send_queue()
        self.limiter = FairRateLimiter(queue=self.queue)
        self.sent: Counter[int] = Counter()

    async def _send(self) -> None:
        second = self.queue.second
        assert second is not None
        self.sent[second] += 1

    async def send(self, *, reply: bool) -> None:
        """One message: a reply to a chat of its own (each within its share: served as a
        reply) or a background send (a reminder's: outside any update)."""
        chat = next(_chats)
        with replying_to(chat if reply else None):
            await self.limiter.process_request(
                self._send, (), {}, "sendMessage", {"chat_id": chat}, None
            )

    async def flood(self, stop: asyncio.Event, *, reply: bool) -> None:
        async def sender() -> None:
            while not stop.is_set():
                await self.send(reply=reply)

        await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def _run(processes: list[Process], *, reply: bool = True) -> None:
    """Every process floods until the sends have gone through WINDOWS of the database's seconds
    after the first one seen."""
    stop = asyncio.Event()

    async def watch() -> None:
        while True:
            seconds = {s for p in processes for s in p.sent}
            if len(seconds) > WINDOWS:
                stop.set()
                return
            await asyncio.sleep(0.01)

    await asyncio.gather(watch(), *(p.flood(stop, reply=reply) for p in processes))


def _windows(url: str, bot: str) -> dict[int, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT second, used FROM send_budget WHERE bot = %s ORDER BY second", (bot,)
        ).fetchall()
    return {second: used for second, used in rows}


async def test_two_processes_of_one_bot_never_pass_30_in_a_second_of_the_database(
    stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    a, b = Process(stores[0], "1"), Process(stores[1], "1")
    await _run([a, b])
    windows = _windows(pg_url, "1")
    assert len(windows) > WINDOWS
    assert max(windows.values()) <= 30, windows
    together = a.sent + b.sent
    for second, sent in together.items():  # what each second's tokens were used for
        assert sent <= windows[second], (second, sent, windows[second])
    assert a.sent and b.sent  # both sent
    for process in (a, b):
        assert process.queue.spent <= process.queue.granted
        assert process.queue.takes < process.queue.spent  # batches: under a round trip a send


async def test_background_sends_leave_the_replies_reserve_in_every_second(
    stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    a, b = Process(stores[0], "1"), Process(stores[1], "1")
    await _run([a, b], reply=False)
    windows = _windows(pg_url, "1")
    assert max(windows.values()) <= 30 - RESERVE, windows
    # ... and a reply still finds a token in a second the background sends used up.
    full = await stores[0].take_sends("1", 30, 30, int(RESERVE), 0)
    reply = await stores[1].take_sends("1", 3, 30, int(RESERVE), 1)
    assert full.used == 30 - RESERVE
    assert reply.granted == 1 or reply.second != full.second


async def test_two_bots_do_not_share_a_budget(
    stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    one, two = Process(stores[0], "1"), Process(stores[1], "2")
    await _run([one, two])
    first, second = _windows(pg_url, "1"), _windows(pg_url, "2")
    for windows, process in ((first, one), (second, two)):
        assert max(windows.values()) <= 30
        for at, sent in process.sent.items():
            assert sent <= windows[at]
    # A bot whose second is used up leaves another bot's second whole.
    for _ in range(10):  # until both takes fall in one second, that second new to bot 2
        full = await stores[0].take_sends("1", 30, 30)
        other = await stores[1].take_sends("2", 30, 30)
        if full.second == other.second and other.used == other.granted:
            break
        await asyncio.sleep(other.ms_left / 1000 + 0.005)  # the next second
    assert full.second == other.second and full.used == 30
    assert other.granted == 30


async def test_replies_go_before_background_sends_with_the_shared_budget(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    """Sixty reminders queued (background: 20 of a second's 30 at most); a reply queued after
    them goes out before most of them: the order inside a process is FairRateLimiter's."""
    limiter = FairRateLimiter(queue=Cluster(stores[0], "", "1").send_queue())
    order: list[int] = []
    started = asyncio.Event()

    async def send(chat: int, *, reply: bool) -> None:
        async def call() -> None:
            order.append(chat)
            if len(order) >= 2:
                started.set()

        with replying_to(chat if reply else None):
            await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)

    reminders = [asyncio.create_task(send(chat, reply=False)) for chat in range(1, 61)]
    await started.wait()
    await send(999, reply=True)
    await asyncio.gather(*reminders)
    assert sorted(order) == [*range(1, 61), 999]
    assert len(order[order.index(999) + 1 :]) >= 30, order


class AwayStore:
    """A store whose database does not answer (`hang`) or fails, until `back` is set."""

    def __init__(self, *, hang: bool) -> None:
        self.hang = hang
        self.back = False
        self.calls = 0
        self._second = 0

    async def peers(self) -> int:
        return 3

    async def take_sends(
        self, bot: str, want: int, cap: int, reserved: int = 0, replies: int = 0
    ) -> SendGrant:
        self.calls += 1
        if not self.back:
            if self.hang:
                await asyncio.Event().wait()
            raise OSError("connection refused")
        self._second += 1
        return SendGrant(self._second, want, want, 1000)


@pytest.mark.parametrize("hang", [False, True], ids=["failing", "not answering"])
async def test_with_the_database_away_a_process_sends_on_its_own_share_and_says_so_once(
    hang: bool, caplog: pytest.LogCaptureFixture
) -> None:
    store = AwayStore(hang=hang)
    queue = SharedFairQueue(store, "1", take_timeout=0.05, retry_seconds=0.05)  # type: ignore[arg-type]
    limiter = FairRateLimiter(queue=queue)
    sent: list[int] = []

    async def send(chat: int) -> None:
        async def call() -> None:
            sent.append(chat)

        await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)

    with caplog.at_level(logging.INFO, logger="bot.telegram.shared_budget"):
        await asyncio.gather(*(send(chat) for chat in range(1, 9)))
        assert sorted(sent) == list(range(1, 9))  # sent all the same
        assert queue.fallbacks == 1
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()

        store.back = True
        await asyncio.sleep(0.06)  # past the retry: the next send asks the database again
        calls = store.calls
        await asyncio.gather(*(send(chat) for chat in range(9, 12)))
        assert store.calls > calls and not queue._local
        assert any("answers again" in r.getMessage() for r in caplog.records)


# ---- through two `python -m bot` processes ------------------------------------------------


def test_two_bot_processes_count_their_messages_in_one_budget(
    launcher: Launcher,
    fake_api: tuple[FakeBotAPI, str],
    pg_url: str,
    balancer: tuple[RoundRobin, str],  # noqa: F811
) -> None:
    """Customers' /start spread by the load balancer over two webhook processes: every reply
    went out through the bot's count in PostgreSQL (each of its messages was counted there,
    at most 30 in any of the database's seconds), from both processes."""
    fake, _ = fake_api
    proxy, proxy_url = balancer
    (first, first_url), (second, second_url) = two_webhook_processes(
        launcher, fake, pg_url, proxy_url
    )
    proxy.backends[:] = [first_url, second_url]
    chats = range(900, 940)  # more than one second's 30 replies
    for chat in chats:
        fake.user_sends_command(chat, "start", language_code="en")
    wait_until(lambda: all(fake.latest(chat) is not None for chat in chats), within=60)
    assert proxy.answered[first_url] and proxy.answered[second_url]  # both served

    to_chats = [c for c in fake.calls if c.chat_id is not None and c.status == 200]
    query = f"SELECT second, used FROM send_budget WHERE bot = '{fake.bot_id}'"
    windows = {r["second"]: r["used"] for r in pg_rows(pg_url, query)}
    assert windows and max(windows.values()) <= 30, windows
    assert sum(windows.values()) >= len(to_chats) >= len(chats)  # every message was counted
    for process in (first, second):
        assert process.stop() == 0
        assert "Traceback" not in process.log


class OneLongSecond:
    """A budget whose one second lasts a minute (no PostgreSQL): what is spent stays spent."""

    def __init__(self) -> None:
        self.used = 0

    async def peers(self) -> int:
        return 1

    async def take_sends(
        self, bot: str, want: int, cap: int, reserved: int = 0, replies: int = 0
    ) -> SendGrant:
        new = max(self.used, min(cap, self.used + want, max(self.used, cap - reserved) + replies))
        granted, self.used = new - self.used, new
        return SendGrant(1, granted, new, 60_000)


class Watched(SharedFairQueue):
    """Says when it starts waiting for the next second."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleeping = asyncio.Event()

    async def _sleep(self, priority: int, seconds: float) -> None:
        self.sleeping.set()
        await super()._sleep(priority, seconds)


async def test_a_reply_is_sent_at_once_while_background_sends_wait_for_the_next_second() -> None:
    """Background sends used their 20 of the second and wait for the next (a minute away here);
    a reply queued meanwhile takes one of the replies' 10 at once."""
    store = OneLongSecond()
    queue = Watched(store, "1")  # type: ignore[arg-type]
    limiter = FairRateLimiter(queue=queue)
    sent: list[int] = []

    async def send(chat: int, *, reply: bool) -> None:
        async def call() -> None:
            sent.append(chat)

        with replying_to(chat if reply else None):
            await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat}, None)

    reminders = [asyncio.create_task(send(chat, reply=False)) for chat in range(1, 26)]
    await queue.sleeping.wait()  # the 21st waits for the next second
    await asyncio.wait_for(send(999, reply=True), 30)  # a guard: waiting a minute is the bug
    assert sent[:20] == list(range(1, 21)) and sent[20:] == [999]
    assert store.used == 21  # the reply took one token, not a batch of the replies' reserve
    for task in reminders:
        task.cancel()
    await asyncio.gather(*reminders, return_exceptions=True)
