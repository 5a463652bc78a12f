"""The adapter's pieces of several processes, one bot (bot.telegram.cluster), each with two
"processes" (two stores on one PostgreSQL): a chat's updates take turns across them, an update
posted to both webhooks is queued by one, a 429 seen by one pauses the other, the scans run in
the holder of the jobs role only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime

import httpx
import pytest
from telegram import Chat, Message, Update
from telegram.ext import Application

from bot.store.postgres import PostgresStore, open_postgres
from bot.telegram.cluster import Cluster, JobsGate, SharedPauses, TurnAdmission
from bot.telegram.webhook import SECRET_HEADER, webhook_app
from tests.clock import MONDAY

SECRET = "s" * 32


@pytest.fixture
async def stores(pg_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a = await open_postgres(pg_url, now=lambda: MONDAY)
    b = await open_postgres(pg_url, now=lambda: MONDAY)
    yield a, b
    await a.close()
    await b.close()


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type="private")
    message = Message(message_id=update_id, date=datetime.now(UTC), chat=chat, text="hi")
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


async def test_an_update_posted_to_every_process_is_queued_by_one(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    apps = [Application.builder().token("1:x").build() for _ in stores]
    clusters = [Cluster(store, "", "1") for store in stores]
    body = json.dumps(_update(77, 5).to_dict())
    answers = []
    for app, cluster in zip(apps, clusters, strict=True):
        web = webhook_app(app, "/hook", SECRET, None, take=cluster.take)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://bot"
        ) as http:
            answer = await http.post("/hook", content=body, headers={SECRET_HEADER: SECRET})
            answers.append(answer.status_code)
    assert answers == [200, 200]  # both acknowledged: Telegram stops sending it
    assert sorted(app.update_queue.qsize() for app in apps) == [0, 1]


async def test_a_webhook_that_cannot_record_an_update_asks_for_it_again(
    stores: tuple[PostgresStore, PostgresStore],
) -> None:
    app = Application.builder().token("1:x").build()
    failures = [RuntimeError("database away")]

    async def take(update: Update) -> bool:
        if failures:
            raise failures.pop()
        return True

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
