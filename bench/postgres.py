"""The PostgreSQL a benchmark measures: the operator's (`--url`), or one of the run's own,
started on loopback from the machine's binaries with PostgreSQL's durable defaults (fsync on)
and removed afterwards (tests/postgres.py does the starting)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def postgres_url(url: str | None) -> Iterator[str]:
    """`url` as it is, or the URL of a PostgreSQL started for the block; exits saying why when
    the machine has no PostgreSQL."""
    if url is not None:
        yield url
        return
    from tests.postgres import find_bindir, running_postgres

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    with running_postgres(bindir, durable=True) as server:
        yield server.url()
