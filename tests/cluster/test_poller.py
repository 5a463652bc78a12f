"""One poller per bot across processes (issue 20), over real HTTP to the fake Bot API: two
"processes" (two Applications, each with its own store on one PostgreSQL) run OwnedPoller;
only the holder of `poll:` polls, every update reaches exactly one of them, and when the
holder dies (its session ends with it) the other takes over and goes on from the stored
offset: nothing lost, nothing twice.

The pieces that decide once (first_delivery) and hold the roles are the store's, tested on
both databases in tests/store/test_coordination.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from telegram import Update
from telegram.ext import Application

from bot.store.postgres import PostgresStore, open_postgres
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.cluster import Handled, OwnedPoller, bot_key
from bot.telegram.urls import bot_api_urls
from tests.clock import MONDAY
from tests.fakes.bot_api import FakeBotAPI


async def _until(done: Callable[[], bool], within: float = 30.0) -> None:
    """Wait for `done` (a bound on a hang, not a measure of speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not done():
        assert loop.time() < deadline, "never happened"
        await asyncio.sleep(0.02)


class Process:
    """One bot process as far as polling goes: its Application, store and poller."""

    def __init__(self, app: Application, store: PostgresStore, poller: OwnedPoller) -> None:
        self.app, self.store, self.poller = app, store, poller
        self.received: list[int] = []

    def drain(self) -> list[int]:
        while not self.app.update_queue.empty():
            update = self.app.update_queue.get_nowait()
            assert isinstance(update, Update)
            self.received.append(update.update_id)
        return self.received


async def _process(
    fake: FakeBotAPI, base_url: str, url: str, handled: Handled | None = None
) -> Process:
    urls = bot_api_urls(f"{base_url}/bot")
    app = Application.builder().token(fake.token).base_url(urls.api).build()
    await app.initialize()
    store = await open_postgres(url, now=lambda: MONDAY)
    poller = OwnedPoller(
        app,
        store,
        business="",
        bot=bot_key(fake.token),
        allowed_updates=list(ALLOWED_UPDATES),
        long_poll=1,
        retry=0.2,
        handled=handled,
    )
    poller.start()
    return Process(app, store, poller)


async def test_one_poller_and_a_takeover_that_loses_and_doubles_nothing(
    fake_api: tuple[FakeBotAPI, str], pg_url: str
) -> None:
    fake, base_url = fake_api
    a, b = await _process(fake, base_url, pg_url), await _process(fake, base_url, pg_url)
    both = (a, b)
    sent = [fake.user_sends_text(100 + n, f"hello {n}") for n in range(5)]
    await _until(lambda: len(a.drain()) + len(b.drain()) == len(sent))
    owner, other = (a, b) if a.poller.role.held else (b, a)
    assert owner.poller.role.held and not other.poller.role.held
    assert other.received == [] and other.poller.batches == 0  # never polled
    assert owner.received == sent

    # The owner dies: its task stops mid-poll, its database sessions end (as a SIGKILL's do).
    assert owner.poller._task is not None
    owner.poller._task.cancel()
    await owner.store.close()
    more = [fake.user_sends_text(200 + n, f"again {n}") for n in range(5)]
    await _until(lambda: other.poller.role.held and len(other.drain()) == len(more))
    assert other.received == more  # from the stored offset on: none again, none missing
    assert sorted(owner.received + other.received) == sent + more

    await other.poller.stop()  # hands the role over: a new process may take it at once
    assert not other.poller.role.held
    third = await _process(fake, base_url, pg_url)
    last = fake.user_sends_text(300, "still there?")
    await _until(lambda: third.drain() == [last])
    await third.poller.stop()
    for process in (*both, third):
        await process.app.shutdown()
    await other.store.close()
    await third.store.close()


async def test_a_batch_cut_short_by_the_owners_death_is_fetched_again_by_the_next_poller(
    fake_api: tuple[FakeBotAPI, str], pg_url: str
) -> None:
    """Handling its updates in their turns (as `python -m bot` does in a cluster), the owner
    keeps a batch in the store before confirming it to Telegram: the owner dies while
    handling it, and the next poller takes it from the store before it polls."""
    fake, base_url = fake_api
    first_handled = Handled()
    a = await _process(fake, base_url, pg_url, handled=first_handled)
    sent = fake.user_sends_text(100, "book me")
    await _until(lambda: a.drain() == [sent])  # fetched, queued, its handling under way

    assert a.poller._task is not None  # the owner dies before the update is handled
    a.poller._task.cancel()
    await a.store.close()
    second_handled = Handled()
    b = await _process(fake, base_url, pg_url, handled=second_handled)
    await _until(lambda: b.poller.role.held and b.drain() == [sent])  # fetched again
    second_handled.done(sent, True)  # handled by the survivor
    later = fake.user_sends_text(101, "hello?")
    await _until(lambda: b.drain() == [sent, later])  # the batch confirmed, the next one in
    second_handled.done(later, True)
    await b.poller.stop()
    for process in (a, b):
        await process.app.shutdown()
    await b.store.close()


async def test_a_slow_update_does_not_hold_the_next_batch_back(
    fake_api: tuple[FakeBotAPI, str], pg_url: str
) -> None:
    """The batch kept, the poller confirms it and polls on while its updates are handled: a
    chat's slow update (a Zimun call that takes seconds) does not keep the other customers'
    updates from being fetched."""
    fake, base_url = fake_api
    handled = Handled()
    a = await _process(fake, base_url, pg_url, handled=handled)
    slow = fake.user_sends_text(100, "book me")
    await _until(lambda: a.drain() == [slow])  # under way, not handled
    other = fake.user_sends_text(101, "hello")  # another customer
    await _until(lambda: a.drain() == [slow, other])
    handled.done(slow, True)
    handled.done(other, True)
    await a.poller.stop()
    await a.app.shutdown()
    await a.store.close()
