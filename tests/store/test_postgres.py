"""What only the PostgreSQL store does: its schema applied once by processes starting
together, every index led by the business, text compared byte by byte as SQLite does, and the
outboxes' claims taken with FOR UPDATE SKIP LOCKED so that two processes never take one row."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import timedelta

import psycopg

from bot.store.postgres import MIGRATIONS, PostgresStore, open_postgres
from bot.store.storage import COORDINATION_TABLES, REMINDERS, SCHEMA_VERSION
from tests.clock import MONDAY
from tests.process import BOT_PREFIXES, ROOT
from tests.store.world import CUSTOMER, START, TABLES, booking


async def _open(url: str) -> PostgresStore:
    return await open_postgres(url, now=lambda: MONDAY, pool_max=4)


async def test_the_schema_is_applied_once_by_processes_starting_together(pg_url: str) -> None:
    stores = await asyncio.gather(*(_open(pg_url) for _ in range(6)))
    assert [await s.ping() for s in stores] == [SCHEMA_VERSION] * 6
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert versions == [(v,) for v in sorted(MIGRATIONS)] and versions[-1] == (SCHEMA_VERSION,)
    for store in stores:
        await store.close()


OPEN_ONCE = """
import asyncio, sys
from bot.store.postgres import open_postgres

async def main():
    store = await open_postgres(sys.argv[1])
    print(await store.ping())
    await store.close()

asyncio.run(main())
"""


def test_processes_started_together_migrate_once(pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_ONCE, pg_url], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert [child.returncode for child in children] == [0] * 4
    assert [out.strip() for out in outputs] == [str(SCHEMA_VERSION)] * 4
    with psycopg.connect(pg_url) as conn:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert versions == [(v,) for v in sorted(MIGRATIONS)]  # each once


async def test_every_table_and_index_leads_with_the_business(pg_url: str) -> None:
    await (await _open(pg_url)).close()
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables "
                                              "WHERE schemaname = current_schema()")}  # fmt: skip
        # send_budget, inbox: PostgreSQL's own (not versioned): the bot's messages a second,
        # and the polled updates kept until handled
        own = {"send_budget", "inbox"}
        assert tables - {"schema_version"} == {*TABLES, *COORDINATION_TABLES, *own}
        for table, name, definition in conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename <> 'schema_version'"
        ):
            columns = re.search(r"\((.*)\)", definition)
            assert columns is not None
            if name == f"{table}_pkey" and columns.group(1) == "id":
                continue  # ids are global (SQLite's rowid), so a payload names one row
            assert columns.group(1).startswith("business"), f"{table}.{name}: {definition}"
        collations = conn.execute(
            "SELECT DISTINCT collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'text' "
            "AND table_name <> 'schema_version'"
        ).fetchall()
        assert collations == [("C",)]


async def _reminders(store: PostgresStore, count: int) -> list[int]:
    booking_id = await store.add_booking(**vars(booking("a_1")))
    due = [(n, START - timedelta(minutes=n)) for n in range(1, count + 1)]
    await store.set_reminders(booking_id, CUSTOMER, CUSTOMER, due, language="en")
    return [r.id for r in await store.reminders_for_booking(booking_id)]


async def test_a_claim_skips_a_row_another_process_is_claiming(pg_url: str) -> None:
    one, two = await _open(pg_url), await _open(pg_url)
    [reminder] = await _reminders(one, 1)
    async with one.batch():
        assert await one.claim(REMINDERS, reminder)
        # The row is locked by one's open transaction: two does not wait for it, it lost.
        assert not await asyncio.wait_for(two.claim(REMINDERS, reminder), timeout=30)
        await two.unclaim(REMINDERS, reminder)  # skipped too: one's claim stands
        await two.skip(REMINDERS, [reminder])
    assert reminder not in [r.id for r in await two.due_reminders(START)]  # one's: claimed
    assert not await two.claim(REMINDERS, reminder)
    await one.close()
    await two.close()


async def test_processes_claiming_together_never_take_the_same_row(pg_url: str) -> None:
    stores = [await _open(pg_url) for _ in range(3)]
    ids = await _reminders(stores[0], 40)

    async def claim_all(store: PostgresStore) -> list[int]:
        return [i for i in ids if await store.claim(REMINDERS, i)]

    won = await asyncio.gather(*(claim_all(s) for s in stores for _ in range(2)))
    taken = [i for batch in won for i in batch]
    assert sorted(taken) == sorted(ids)  # every row once, none twice
    for store in stores:
        await store.close()
