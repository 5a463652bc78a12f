"""Telegram's messages a second, counted by the store (`take_sends`, bot.store.contract): the
takes of one second add up to the cap and no further, whichever process asks; a background
cap below a second's count grants nothing; another bot and another business count apart. On
PostgreSQL the two "processes" are two stores on one database (the second by the database's
clock); SQLite's one process counts in memory, by its own clock."""

from __future__ import annotations

import asyncio

from bot.store.contract import SendGrant, Store
from tests.backends import Backend
from tests.store.test_coordination import two_processes


async def _in_one_second(*takes: tuple[Store, str, int, int]) -> list[SendGrant]:
    """The takes, in order, all in one second of the store's clock: when they straddle two,
    tried again from the start of the next second (which no take has touched yet)."""
    for _ in range(10):
        grants = [await store.take_sends(bot, want, cap) for store, bot, want, cap in takes]
        if len({g.second for g in grants}) == 1:
            return grants
        await asyncio.sleep(grants[-1].ms_left / 1000 + 0.005)  # the next second
    raise AssertionError("no second held the takes")


async def test_the_takes_of_one_second_add_up_to_the_cap_and_no_further(backend: Backend) -> None:
    a, b = await two_processes(backend)
    grants = await _in_one_second((a, "7", 12, 30), (b, "7", 12, 30), (a, "7", 12, 30),
                                  (b, "7", 5, 20))  # fmt: skip
    assert [g.granted for g in grants] == [12, 12, 6, 0]
    assert [g.used for g in grants] == [12, 24, 30, 30]
    assert all(0 < g.ms_left <= 1000 for g in grants)


async def test_a_background_cap_leaves_the_rest_of_the_second_to_replies(
    backend: Backend,
) -> None:
    a, b = await two_processes(backend)
    grants = await _in_one_second((a, "7", 25, 20), (b, "7", 5, 20), (b, "7", 5, 30))
    assert [(g.granted, g.used) for g in grants] == [(20, 20), (0, 20), (5, 25)]


async def test_another_bot_and_another_business_count_apart(backend: Backend) -> None:
    a, b = await two_processes(backend)
    other_business = b.for_business("studio-b")
    grants = await _in_one_second((a, "7", 30, 30), (b, "8", 30, 30), (other_business, "7", 30, 30))
    assert [g.granted for g in grants] == [30, 30, 30]
