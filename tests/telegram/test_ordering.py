"""PerChatOrdering: a chat's updates run one at a time in arrival order, chats run in parallel,
and a chat's lane is gone once its updates are done."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.telegram.ordering import PerChatOrdering

USER = User(id=1, first_name="A", is_bot=False)


def message_update(update_id: int, chat_id: int) -> Update:
    chat = Chat(id=chat_id, type="private")
    return Update(update_id, message=Message(update_id, None, chat, from_user=USER, text="x"))


async def test_one_chat_in_order_many_chats_at_once() -> None:
    processor = PerChatOrdering(max_concurrent_updates=4)  # small: the semaphore is contended
    log: list[tuple[int, int]] = []
    running: dict[int, int] = {}
    overlap_across_chats = 0
    release = asyncio.Event()

    async def work(update_id: int, chat_id: int) -> None:
        nonlocal overlap_across_chats
        running[chat_id] = running.get(chat_id, 0) + 1
        assert running[chat_id] == 1, "two updates of one chat ran at the same time"
        overlap_across_chats = max(overlap_across_chats, sum(1 for n in running.values() if n))
        if update_id <= 3:
            await release.wait()  # the first updates are slow: later ones queue up behind them
        await asyncio.sleep(0)
        log.append((chat_id, update_id))
        running[chat_id] -= 1

    async with processor:
        tasks = []
        for update_id in range(1, 61):
            chat_id = update_id % 3
            update = message_update(update_id, chat_id)
            tasks.append(
                asyncio.create_task(processor.process_update(update, work(update_id, chat_id)))
            )
        await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*tasks)

    assert len(log) == 60
    for chat_id in range(3):
        ids = [u for c, u in log if c == chat_id]
        assert ids == sorted(ids)
        assert len(ids) == 20
    assert overlap_across_chats > 1  # different chats did run concurrently
    assert processor.busy_chats == 0  # lanes are dropped when idle


async def test_a_failing_update_does_not_block_its_chat() -> None:
    processor = PerChatOrdering(max_concurrent_updates=8)
    done: list[int] = []

    async def boom() -> None:
        raise RuntimeError("engine failed")

    async def fine() -> None:
        done.append(2)

    async with processor:
        first = asyncio.create_task(processor.process_update(message_update(1, 5), boom()))
        second = asyncio.create_task(processor.process_update(message_update(2, 5), fine()))
        results = await asyncio.gather(first, second, return_exceptions=True)

    assert isinstance(results[0], RuntimeError)
    assert done == [2]
    assert processor.busy_chats == 0


async def test_updates_waiting_for_their_chat_hold_no_slot() -> None:
    """A flooding chat's queued updates must not take the slots other chats need: with two
    slots, 50 updates of one chat stuck behind its first still leave room for another chat."""
    processor = PerChatOrdering(max_concurrent_updates=2)
    release = asyncio.Event()
    done: list[int] = []

    async def stuck(update_id: int) -> None:
        await release.wait()
        done.append(update_id)

    async def other() -> None:
        done.append(0)

    async with processor:
        flood = [
            asyncio.create_task(processor.process_update(message_update(n, 7), stuck(n)))
            for n in range(1, 51)
        ]
        lone = asyncio.create_task(processor.process_update(message_update(51, 8), other()))
        finished, _ = await asyncio.wait({lone}, timeout=30)
        assert lone in finished and done == [0]  # served while the flood is still stuck
        release.set()
        await asyncio.gather(*flood)
    assert done == [0, *range(1, 51)]
