"""The process-wide cap on updates handled at once: one semaphore shared by every business's
update processor (on top of each business's per-chat ordering), so a thousand bots cannot
together run a thousand times the one bot's limit; each update's time goes to the metrics."""

from __future__ import annotations

import asyncio

from bot.telegram.ordering import PerChatOrdering
from tests.telegram.test_ordering import message_update


async def test_the_cap_on_updates_at_once_spans_every_business() -> None:
    slots = asyncio.Semaphore(3)
    timings: list[float] = []
    businesses = [
        PerChatOrdering(3, slots=slots, observe=timings.append) for _ in range(4)
    ]  # each alone would run 3 at once: 12 together without the shared slots
    running, most = 0, 0
    release = asyncio.Event()

    async def work() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    tasks = [
        asyncio.create_task(business.process_update(message_update(n, n), work()))
        for n in range(1, 21)
        for business in businesses
    ]
    await asyncio.sleep(0.05)
    assert most == 3  # three of the eighty, whichever business they belong to
    release.set()
    await asyncio.gather(*tasks)
    assert most == 3 and len(timings) == 80
