"""The adapter's pieces of several processes, one bot (bot.telegram.cluster), each with two
"processes" (two stores on one PostgreSQL): a chat's updates take turns across them (the lower
update first when both ask at once), an update
posted to both webhooks is handled by one and answered once handled, one whose process died
unanswered is handled by the other, a 429 seen by one pauses the other, the scans run in
the holder of the jobs role only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import psycopg
import pytest
from telegram import Chat, Message, Update
from telegram.ext import Application

from bot.store import pg_locks
from bot.store.pg_locks import UpdateKeys
from bot.store.postgres import PostgresStore, open_postgres
from bot.telegram.cluster import Cluster, JobsGate, SharedPauses, TurnAdmission
from bot.telegram.ordering import PerChatOrdering
from bot.telegram.webhook import SECRET_HEADER, webhook_app
from tests.clock import MONDAY

SECRET = "s" * 32


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type="private")
    message = Message(message_id=update_id, date=MONDAY, chat=chat, text="hi")
    return Update(update_id=update_id, message=message)


async def test_a_chats_updates_take_turns_across_processes(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = (TurnAdmission(store) for store in stores)
    order: list[str] = []
    first_in, other_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        order.append("1 in")
        first_in.set()
        await other_done.wait()
        await asyncio.sleep(0.05)  # room for the second to (wrongly) start
        order.append("1 out")

    async def second() -> None:
        order.append("2")

    async def other_chat() -> None:
        order.append("other")
        other_done.set()

    one = asyncio.create_task(a.admit(_update(1, 5), first()))  # type: ignore[arg-type]
    await first_in.wait()
    two = b.admit(_update(2, 5), second())
    three = b.admit(_update(3, 6), other_chat())
    assert two is not None and three is not None
    await asyncio.gather(one, two, three)
    assert order == ["1 in", "other", "1 out", "2"]


class Process:
    """One "process" of the bot for the webhook: an Application (not started: no Bot API)
    whose queue is drained into PerChatOrdering with the cluster's admission, as
    python-telegram-bot's own loop does; `handle` is what handling an update does."""

    def __init__(self, store: PostgresStore, handle: Callable[[Update], Awaitable[None]]):
        self.app = Application.builder().token("1:x").build()
        self.cluster = Cluster(store, "", "1")
        self.ordering = PerChatOrdering(admission=self.cluster.admission(None))
        self.web = webhook_app(self.app, "/hook", SECRET, None, take=self.cluster.take)
        self._handle = handle
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        while True:
            update = await self.app.update_queue.get()
            work = self.ordering.do_process_update(update, self._handle(update))
            task = asyncio.create_task(work)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def post(self, update: Update) -> int:
        body = json.dumps(update.to_dict())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.web), base_url="http://bot"
        ) as http:
            answer = await http.post("/hook", content=body, headers={SECRET_HEADER: SECRET})
            return answer.status_code

    async def kill(self) -> None:
        """As a SIGKILL: every task stops where it is, the database session goes."""
        for task in (self.draining, *self.tasks):
            task.cancel()
        await asyncio.gather(self.draining, *self.tasks, return_exceptions=True)
        await self.cluster.store.close()


async def test_an_update_posted_to_every_process_is_handled_by_one_and_answered_after(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    handled: list[int] = []

    async def handle(update: Update) -> None:
        await asyncio.sleep(0.05)  # room for the other delivery to (wrongly) start it too
        handled.append(update.update_id)

    a, b = (Process(store, handle) for store in stores)

    async def deliver(process: Process) -> tuple[int, list[int]]:
        status = await process.post(_update(77, 5))
        return status, list(handled)  # what was handled when the answer came

    answers = await asyncio.gather(*(deliver(p) for p in (a, b, a)))
    assert answers == [(200, [77])] * 3  # every delivery acknowledged, once it was handled
    assert handled == [77]
    assert await stores[0].delivered(77)
    assert await a.post(_update(77, 5)) == 200  # a later retry: not handled again
    assert handled == [77]
    for process in (a, b):
        process.draining.cancel()


async def test_an_update_whose_process_died_before_handling_it_is_handled_by_another(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    inside, handled = asyncio.Event(), []

    async def hang(update: Update) -> None:
        inside.set()
        await asyncio.Event().wait()  # killed mid-way

    async def handle(update: Update) -> None:
        handled.append(update.update_id)

    doomed, survivor = Process(stores[0], hang), Process(stores[1], handle)
    request = asyncio.create_task(doomed.post(_update(88, 5)))
    await inside.wait()
    assert not request.done()  # not answered: Telegram has no 200 for it
    request.cancel()  # (its connection breaks with the process)
    await doomed.kill()
    assert await survivor.post(_update(88, 5)) == 200  # Telegram's retry, to the other
    assert handled == [88]
    assert await stores[1].delivered(88)
    survivor.draining.cancel()


async def test_a_webhook_that_cannot_take_an_update_asks_for_it_again(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    app = Application.builder().token("1:x").build()
    failures = [RuntimeError("database away")]

    async def take(app: Application, update: Update) -> None:
        if failures:
            raise failures.pop()
        await app.update_queue.put(update)

    web = webhook_app(app, "/hook", SECRET, None, take=take)
    body = json.dumps(_update(78, 5).to_dict())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://bot"
    ) as http:
        first = await http.post("/hook", content=body, headers={SECRET_HEADER: SECRET})
        again = await http.post("/hook", content=body, headers={SECRET_HEADER: SECRET})
    assert (first.status_code, again.status_code) == (503, 200)
    assert app.update_queue.qsize() == 1  # the redelivery is handled


async def test_a_429_in_one_process_pauses_that_chat_in_the_other(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = (SharedPauses(store, "111") for store in stores)
    a.pause(5, 30.0)
    await asyncio.gather(*a._writing)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(b.wait(5), 0.2)  # still paused, by the other's 429
    await asyncio.wait_for(b.wait(6), 5)  # another chat goes on


async def test_the_scans_run_in_the_jobs_holder_only(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = (JobsGate(store, "studio") for store in stores)
    assert await a() and not await b()
    assert await a()  # still the holder at the next scan
    await a.role.release()  # (the holder stops)
    assert await b() and not await a()


async def test_a_page_request_takes_its_turn_with_the_chats_updates_across_processes(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    chat, page = (TurnAdmission(store) for store in stores)
    order: list[str] = []
    inside = asyncio.Event()

    async def update() -> None:
        order.append("update in")
        inside.set()
        await asyncio.sleep(0.05)  # room for the page's request to (wrongly) start
        order.append("update out")

    async def request() -> bool:
        order.append("page")
        return True

    def own_lane(chat_id: int, work: Awaitable[bool]) -> Awaitable[bool]:
        return work  # this process has nothing else of the chat queued

    handled = asyncio.create_task(chat.admit(_update(1, 5), update()))  # type: ignore[arg-type]
    await inside.wait()
    assert await page.after(own_lane)(5, request())
    await handled
    assert order == ["update in", "update out", "page"]


async def _marks(url: str, count: int) -> None:
    """Until `count` updates are marked as asking for their chat's turn (bounded)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for _ in range(500):
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
            )
            row = await cursor.fetchone()
            if row is not None and row[0] >= count:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"{count} updates never asked for their turn")


async def test_a_chats_lower_update_goes_first_when_two_processes_ask_at_once(
    stores: tuple[PostgresStore, PostgresStore], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes receive a chat's updates 10 and 11 the other way round while a third
    holds the chat: 10 goes first once it is free, whichever asked first."""
    monkeypatch.setattr(pg_locks, "ORDER_WAIT", 60.0)  # a lost order would hang, not pass
    a, b = (TurnAdmission(store) for store in stores)
    third = await open_postgres(pg_url, now=lambda: MONDAY)
    order: list[int] = []

    async def handle(update_id: int) -> None:
        order.append(update_id)

    try:
        async with third.chat_turn(5):  # a third process is handling the chat
            later = asyncio.ensure_future(b.admit(_update(11, 5), handle(11)))  # type: ignore[arg-type]
            await _marks(pg_url, 1)
            earlier = asyncio.ensure_future(a.admit(_update(10, 5), handle(10)))  # type: ignore[arg-type]
            await _marks(pg_url, 2)
        await asyncio.gather(later, earlier)
    finally:
        await third.close()
    assert order == [10, 11]
    assert await stores[0].delivered(10) and await stores[1].delivered(11)


async def test_a_dead_processs_lower_update_does_not_hold_the_chat_back(
    stores: tuple[PostgresStore, PostgresStore], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that asked for update 10's turn and died (its session ends) leaves 11 free
    to go at once: the mark was its session's."""
    monkeypatch.setattr(pg_locks, "ORDER_WAIT", 60.0)
    admission = TurnAdmission(stores[0])
    chat, update = UpdateKeys.of("", 5, 10).mark  # type: ignore[misc]
    started = asyncio.Event()

    async def handle() -> None:
        started.set()

    dead = await psycopg.AsyncConnection.connect(pg_url, autocommit=True)
    await dead.execute("SELECT pg_advisory_lock(%s, %s)", (chat, update))
    handled = asyncio.ensure_future(admission.admit(_update(11, 5), handle()))  # type: ignore[arg-type]
    await _marks(pg_url, 2)  # 11 asks too, and gives way to 10
    await asyncio.sleep(0.1)
    assert not started.is_set()
    await dead.close()  # the process of 10 dies before it got the turn
    await handled
    assert started.is_set() and await stores[1].delivered(11)


async def test_a_polled_bots_updates_take_their_turns_unmarked(
    stores: tuple[PostgresStore, PostgresStore], pg_url: str
) -> None:
    """One poller fetches a polled bot's updates in Telegram's order: none needs to show the
    other processes it is asking (a mark), which a webhook's update does."""
    seen: list[int] = []

    async def count_marks() -> None:
        async with await psycopg.AsyncConnection.connect(pg_url) as conn:
            cursor = await conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
            )
            row = await cursor.fetchone()
            seen.append(row[0] if row else -1)

    for update_id, polled in ((20, True), (21, False)):
        admission = Cluster(stores[0], "", "1", polled=polled).admission(None)
        await admission.admit(_update(update_id, 5), count_marks())  # type: ignore[misc]
    assert seen == [0, 1]
    assert await stores[1].delivered(20) and await stores[1].delivered(21)
