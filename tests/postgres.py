"""A real PostgreSQL for the tests, started from the machine's own binaries (`initdb`,
`pg_ctl`): once per session, in a temporary directory, on a free loopback port, stopped and
removed afterwards; a fresh database per test (`pg_url`).

Where no PostgreSQL binaries are installed the tests that need one are skipped with a line
saying so, except under CI=true, where that fails the run (.ci/run installs PostgreSQL).
`initdb` refuses to run as root: as root, the server runs as the `postgres` system user if
there is one, else as `nobody`, in a directory given to that user.

The server trades durability for speed (fsync off): it holds nothing but test data.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARIES = ("initdb", "pg_ctl")
SUPERUSER = "postgres"
PASSWORD = "s3cret-Pa55"  # trust authentication: accepted, never checked, never to be shown


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, then `pg_config --bindir`, then Debian's layout."""
    found = [shutil.which(name) for name in BINARIES]
    if all(found):
        return Path(found[0]).parent  # type: ignore[arg-type]
    candidates: list[str] = []
    if shutil.which("pg_config"):
        done = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(done.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and all(os.access(Path(folder, name), os.X_OK) for name in BINARIES):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """Who runs the server: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root and no postgres or nobody user to run PostgreSQL as")


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    user: str | None
    durable: bool = False  # True: PostgreSQL's own defaults (fsync on), for bench/store_pg.py

    def _run(self, *argv: str) -> None:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, cwd=self.root)

    def url(self, database: str = "postgres", *, password: str = PASSWORD) -> str:
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        data = self.root / "data"
        self._run(
            "initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser, outside a transaction (CREATE DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)


@contextmanager
def running_postgres(bindir: Path, *, durable: bool = False) -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own in a temporary directory, removed afterwards."""
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    root.chmod(0o700)
    server = PostgresServer(bindir, root, _free_port(), user, durable)
    try:
        server.start()
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL is not installed (no initdb/pg_ctl): the PostgreSQL half is skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI=true it must run (.ci/run installs it)")
        pytest.skip(message)
    try:
        with running_postgres(bindir) as server:
            yield server
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"PostgreSQL did not start or stop: {exc.stderr or exc.stdout}")


_numbers = itertools.count(1)


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database of its own for this test (its URL carries PASSWORD)."""
    name = f"test_{os.getpid()}_{next(_numbers)}"
    postgres_server.admin(f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY")
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
