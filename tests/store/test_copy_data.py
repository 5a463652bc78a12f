"""`python -m bot copy-data`: a SQLite database written through the store, copied by the real
command into an empty PostgreSQL database, reads the same there through the contract, row for
row and id for id; a second copy is refused; the URL's password is never printed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.store.postgres import open_postgres
from bot.store.sqlite_async import SqliteStore
from tests.backends import Backend
from tests.clock import MONDAY
from tests.postgres import PASSWORD
from tests.process import BOT_PREFIXES, ROOT
from tests.store.test_isolation import views
from tests.store.world import CUSTOMER, TABLES, booking, fill, open_store

BUSINESSES = ("", "studio-a", "studio-b")


def copy_data(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(BOT_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", "copy-data", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def test_copy_data_moves_every_row_and_refuses_a_second_copy(
    tmp_path: Path, pg_url: str
) -> None:
    source = SqliteStore(open_store(tmp_path))
    worlds = {business: await fill(source.for_business(business)) for business in BUSINESSES}
    await source.forget_user(CUSTOMER + 1)  # an empty forget: nothing to copy from it
    await source.close()
    sqlite, pg = Backend("sqlite", str(tmp_path / "bot.db")), Backend("pg", pg_url)

    done = copy_data("--from", str(tmp_path / "bot.db"), "--to", pg_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    printed = dict(line.split(": ") for line in done.stdout.splitlines()[1:])
    expected = {t: str(sqlite.rows(f"SELECT count(*) FROM {t}")[0][0]) for t in TABLES}
    assert printed == expected and all(int(n) for n in printed.values())

    for business in BUSINESSES:  # row for row, id for id
        assert pg.snapshot(business) == sqlite.snapshot(business), business
    copied = await open_postgres(pg_url, now=lambda: MONDAY)
    original = SqliteStore(open_store(tmp_path))
    for business, ids in worlds.items():  # and the bot reads the same through the contract
        assert await views(copied.for_business(business), ids) == await views(
            original.for_business(business), ids
        )
    largest = max(ids.booking for ids in worlds.values())
    after = await copied.add_booking(**vars(booking("a_new", MONDAY + timedelta(days=9))))
    assert after > largest  # the identity sequence was moved past the copied ids
    await copied.close()
    await original.close()

    again = copy_data("--from", str(tmp_path / "bot.db"), "--to", pg_url, cwd=tmp_path)
    assert again.returncode == 1
    assert again.stdout == "" and len(again.stderr.strip().splitlines()) == 1
    assert "not empty" in again.stderr and PASSWORD not in again.stderr
    assert pg.rows("SELECT count(*) FROM bookings") == [(len(BUSINESSES) * 2 + 1,)]


def test_copy_data_errors_name_the_host_never_the_password(tmp_path: Path, pg_url: str) -> None:
    SqliteStore(open_store(tmp_path)).storage.close()
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_db"
    done = copy_data("--from", str(tmp_path / "bot.db"), "--to", missing, cwd=tmp_path)
    assert done.returncode == 1 and "no_such_db" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and PASSWORD not in done.stderr
    typo = copy_data("--from", str(tmp_path / "bot.db"), pg_url, cwd=tmp_path)  # no --to
    assert typo.returncode == 2 and PASSWORD not in typo.stdout + typo.stderr
