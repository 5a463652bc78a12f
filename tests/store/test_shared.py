"""A thousand businesses, one file handle: `for_business` shares the opener's connection,
lock, clock and transactions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.store.storage import StorageError
from tests.store.world import CUSTOMER, open_store


def _handles(path: Path) -> int:
    """Open file descriptors of this process on the database or its WAL files."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(path))
    return count


def test_scoped_storages_share_one_connection(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    store = open_store(tmp_path)
    store.set_language(CUSTOMER, "en")  # the WAL files exist from here on
    before = _handles(path)
    assert before >= 1
    scoped = [store.for_business(f"studio-{n}") for n in range(500)]
    for n, business in enumerate(scoped):
        business.set_language(CUSTOMER, ("de", "es", "it")[n % 3])
    assert _handles(path) == before
    assert [s.get_language(CUSTOMER) for s in scoped[:3]] == ["de", "es", "it"]
    assert store.db.execute("SELECT count(*) FROM users").fetchone()[0] == 501
    assert all(s.writes == store.writes for s in scoped[:3])  # one count for the file
    store.close()
    with pytest.raises(StorageError):  # the opener's close closed them all
        scoped[0].get_language(CUSTOMER)


def test_a_batch_spans_the_businesses_of_one_file(tmp_path: Path) -> None:
    a = open_store(tmp_path, business="studio-a")
    b = a.for_business("studio-b")
    writes = a.writes
    with a.batch():
        a.set_language(CUSTOMER, "de")
        b.set_language(CUSTOMER, "it")
    assert a.writes == writes + 1
    with pytest.raises(RuntimeError), b.batch():
        a.set_language(CUSTOMER, "es")
        b.set_language(CUSTOMER, "es")
        raise RuntimeError("boom")
    assert (a.get_language(CUSTOMER), b.get_language(CUSTOMER)) == ("de", "it")
    b.close()  # not the opener: nothing closes
    assert a.get_language(CUSTOMER) == "de"
    a.close()
