"""Telegram's messages a second, counted by the store (`take_sends`, bot.store.contract): the
takes of one second add up to the cap and no further, whichever process asks; the second's
last few (the replies' reserve) go to replies only, as many as wait; another bot and another
business count apart. On
PostgreSQL the two "processes" are two stores on one database (the second by the database's
clock); SQLite's one process counts in memory, by its own clock."""

from __future__ import annotations

import asyncio

from bot.store.contract import SendGrant, Store
from tests.backends import Backend
from tests.store.test_coordination import two_processes


async def _in_one_second(*takes: tuple[Store, str, tuple[int, ...]]) -> list[SendGrant]:
    """The takes (store, bot, take_sends' numbers), in order, all in one second of the store's
    clock: when they straddle two, tried again from the start of the next second (which no
    take has touched yet)."""
    for _ in range(10):
        grants = [await store.take_sends(bot, *numbers) for store, bot, numbers in takes]
        if len({g.second for g in grants}) == 1:
            return grants
        await asyncio.sleep(grants[-1].ms_left / 1000 + 0.005)  # the next second
    raise AssertionError("no second held the takes")


async def test_the_takes_of_one_second_add_up_to_the_cap_and_no_further(backend: Backend) -> None:
    a, b = await two_processes(backend)
    grants = await _in_one_second(
        (a, "7", (12, 30)), (b, "7", (12, 30)), (a, "7", (12, 30)), (b, "7", (5, 30))
    )
    assert [g.granted for g in grants] == [12, 12, 6, 0]
    assert [g.used for g in grants] == [12, 24, 30, 30]
    assert all(0 < g.ms_left <= 1000 for g in grants)


async def test_the_replies_reserve_goes_to_replies_only_as_many_as_wait(
    backend: Backend,
) -> None:
    a, b = await two_processes(backend)
    background, two_replies = (30, 10, 0), (30, 10, 2)
    grants = await _in_one_second(
        (a, "7", (25, *background)),  # the first 20 only
        (b, "7", (5, *background)),  # none: the rest is the replies'
        (b, "7", (10, *two_replies)),  # 2: as many replies as wait
        (a, "7", (3, *two_replies)),
        (a, "7", (10, *two_replies)),  # the last 6 of 30: 2 of them
    )
    assert [(g.granted, g.used) for g in grants] == [(20, 20), (0, 20), (2, 22), (2, 24), (2, 26)]
    first = await _in_one_second((b, "8", (10, *two_replies)))
    assert first[0].granted == 10  # below the reserve, a reply's batch is whole


async def test_another_bot_and_another_business_count_apart(backend: Backend) -> None:
    a, b = await two_processes(backend)
    other_business = b.for_business("studio-b")
    grants = await _in_one_second(
        (a, "7", (30, 30)), (b, "8", (30, 30)), (other_business, "7", (30, 30))
    )
    assert [g.granted for g in grants] == [30, 30, 30]
