"""Is the bot healthy? For a load balancer (/healthz in webhook mode) and for an operator
(`python -m bot check`).

Both ask the same questions: does the Zimun API accept our credentials and answer, and can the
bot database be read. `check` also asks Telegram whether it knows the token. Answers are one
line each, naming the setting to fix, and never contain a secret (error details are the API's
own reasons, exception types and setting names).

/healthz may be polled every few seconds, by anyone: it answers at once from the verdict of a
probe run in the background every HEALTH_INTERVAL seconds, so the Zimun API sees one probe per
period however often /healthz is asked, and a slow Zimun never holds a health request. It
answers only "ok" or "failed": what failed (errors, paths, settings) is logged once per probe,
for the operator.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.errors import ApiUnavailable, AuthError, RateLimited, ZimunError
from bot.store.contract import Store
from bot.store.factory import database_url
from bot.store.postgres import PostgresStore, Target, connect
from bot.store.sqlite_async import as_store
from bot.store.storage import Storage, StorageError

if TYPE_CHECKING:
    import httpx

    from bot.config.settings import Settings
    from bot.zimun.client import ZimunClient

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 15.0  # seconds between two background probes
STALE_AFTER = 3  # intervals after which the last probe's verdict no longer counts
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


# ---- single checks ----------------------------------------------------------------------------


async def probe_zimun(client: ZimunClient) -> CheckResult:
    """A token request (on the first call or when it expired) plus one cheap call: the
    branch list, fetched anew (the catalog cache is bypassed)."""
    client.invalidate_catalog()
    try:
        locations = await asyncio.wait_for(client.list_locations(), PROBE_TIMEOUT)
    except AuthError as exc:
        return CheckResult("Zimun", False, f"credentials refused: {exc.message}")
    except (ApiUnavailable, RateLimited, TimeoutError) as exc:
        reason = exc.message if isinstance(exc, ZimunError) else "no answer in time"
        return CheckResult(
            "Zimun", False, f"cannot reach the API (ZIMUN_BASE_URL, ZIMUN_TOKEN_URL): {reason}"
        )
    except ZimunError as exc:
        return CheckResult("Zimun", False, f"unexpected answer: {exc}")
    return CheckResult("Zimun", True, f"credentials accepted, {len(locations)} branches listed")


def where(store: Store | Storage) -> str:
    """How a line names the database: the SQLite file's path, or PostgreSQL's host, port and
    database (never DATABASE_URL's password)."""
    if isinstance(store, PostgresStore):
        return f"PostgreSQL {store.label}"
    if isinstance(store, Storage):
        return store.path
    return str(getattr(getattr(store, "storage", None), "path", "the database"))


async def probe_storage(storage: Store | Storage) -> CheckResult:
    try:
        version = await as_store(storage).ping()
    except Exception as exc:  # StorageError, or a closed connection
        return CheckResult("Storage", False, f"{type(exc).__name__}: {exc}")
    return CheckResult("Storage", True, f"{where(storage)} readable (schema {version})")


async def check_database(settings: Settings) -> CheckResult:
    """`check`'s database line: PostgreSQL when DATABASE_URL is set, else the SQLite file at
    BOT_DB_PATH (check_db_path). Like the file's check it creates nothing: it connects and
    reads the schema's version (start-up applies the schema). Lines name the host and
    database, never the password (bot.store.postgres.Target)."""
    url = database_url(settings)
    if not url:
        return check_db_path(settings.BOT_DB_PATH)
    try:
        target = Target(url)
        conn = await asyncio.wait_for(connect(target), PROBE_TIMEOUT)
    except StorageError as exc:
        return CheckResult("Storage", False, str(exc))
    except TimeoutError:
        return CheckResult("Storage", False, f"PostgreSQL {target.label}: no answer in time")
    try:
        cursor = await conn.execute(
            "SELECT count(*) AS n FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name = 'schema_version'"
        )
        row = await cursor.fetchone()
        if not row or not row["n"]:
            return CheckResult(
                "Storage", True, f"PostgreSQL {target.label} reachable, schema applied at start"
            )
        cursor = await conn.execute("SELECT max(version) AS v FROM schema_version")
        row = await cursor.fetchone()
    except Exception as exc:  # psycopg.Error: the driver's words, the password masked
        return CheckResult("Storage", False, str(target.error("read failed", exc)))
    finally:
        await conn.close()
    version = int(row["v"] or 0) if row else 0
    return CheckResult("Storage", True, f"PostgreSQL {target.label} readable (schema {version})")


def check_db_path(path: str) -> CheckResult:
    """Without creating anything: an existing file opens and reads; a missing one can be made."""
    file = Path(path)
    if not file.exists():
        folder = file.parent if str(file.parent) else Path(".")
        if folder.is_dir() and os.access(folder, os.W_OK):
            return CheckResult("Storage", True, f"BOT_DB_PATH={path} will be created at start")
        return CheckResult("Storage", False, f"BOT_DB_PATH={path}: its folder is not writable")
    try:
        storage = Storage(path)
    except StorageError as exc:
        return CheckResult("Storage", False, str(exc))
    try:
        version = storage.ping()
    except StorageError as exc:
        return CheckResult("Storage", False, f"{type(exc).__name__}: {exc}")
    finally:
        storage.close()
    return CheckResult("Storage", True, f"{path} readable (schema {version})")


# ---- /healthz ---------------------------------------------------------------------------------


class Health:
    """The /healthz answer: (healthy?, JSON body without details), from the last probe.

    A request never waits on a probe: with Zimun slow (4.5 s), health requests that each
    awaited a live probe held their connections until 110 of them filled the server's cap and
    Telegram's own POSTs were turned away. So `run` probes in the background every
    `interval` seconds and `report` answers at once from the last result; a result older than
    STALE_AFTER intervals (the background task stopped) reads as failed. The details of a
    failure are logged, once per probe."""

    def __init__(
        self,
        zimun: Callable[[], Awaitable[CheckResult]],
        storage: Store | Storage,
        *,
        interval: float = HEALTH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._zimun = zimun
        self._storage = storage
        self._interval = interval
        self._clock = clock
        self._last: tuple[float, bool] | None = None  # (when probed, healthy)
        self._probe: asyncio.Task[None] | None = None

    def report(self) -> tuple[bool, dict[str, Any]]:
        """The last probe's verdict, at once; failed before the first and when stale."""
        fresh = self._last is not None and (
            self._clock() - self._last[0] <= self._interval * STALE_AFTER
        )
        healthy = fresh and self._last is not None and self._last[1]
        return healthy, {"status": "ok" if healthy else "failed"}

    async def refresh(self) -> None:
        """Probe Zimun and the database now; a call while a probe runs waits for that one."""
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._probe_once())
        await asyncio.shield(self._probe)

    async def _probe_once(self) -> None:
        results = [await self._zimun(), await probe_storage(self._storage)]
        healthy = all(r.ok for r in results)
        if not healthy:
            log.warning("health check failed: %s", "; ".join(r.line() for r in results if not r.ok))
        self._last = (self._clock(), healthy)

    async def run(self) -> None:
        """Refresh every `interval` seconds until cancelled (the first refresh is the caller's:
        serve_webhook probes once before it listens)."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception:  # a probe's own bug must not end the health checks
                log.exception("health check crashed")


class FleetHealth:
    """The /healthz answer of a process serving many businesses: ok only when every business
    is serving (each one's start-up probed its Zimun; a failed one is logged, by id, and
    retried) and the database reads. The store is asynchronous (PostgreSQL awaits its
    driver), so, as in Health, `report` answers at once from the last read, made by `refresh`
    before the listener opens and by `run` every `interval` seconds after; a read older than
    STALE_AFTER intervals counts as failed."""

    def __init__(
        self,
        all_serving: Callable[[], bool],
        storage: Store | Storage,
        *,
        interval: float = HEALTH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._all_serving = all_serving
        self._storage = storage
        self._interval = interval
        self._clock = clock
        self._last: tuple[float, bool] | None = None  # (when read, readable)

    def report(self) -> tuple[bool, dict[str, Any]]:
        last = self._last
        fresh = last is not None and self._clock() - last[0] <= self._interval * STALE_AFTER
        healthy = fresh and last is not None and last[1] and self._all_serving()
        return healthy, {"status": "ok" if healthy else "failed"}

    async def refresh(self) -> None:
        result = await probe_storage(self._storage)
        if not result.ok:
            log.warning("health check failed: %s", result.line())
        self._last = (self._clock(), result.ok)

    async def run(self) -> None:
        """Read the database every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("health check crashed")


# ---- `python -m bot check` --------------------------------------------------------------------


async def run_checks(
    settings: Settings, telegram: Callable[[Settings], Awaitable[CheckResult]]
) -> list[CheckResult]:
    """Telegram (given: it lives in the adapter), Zimun and the database, one result each."""
    return [
        await telegram(settings),
        await check_zimun(settings),
        await check_database(settings),
    ]


async def check_zimun(settings: Settings, http: httpx.AsyncClient | None = None) -> CheckResult:
    """The Zimun probe with a client of its own, closed after; on `http`'s connections when
    given (checking many businesses: one pool and one TLS context for all, not one each)."""
    from bot.zimun.client import ZimunClient

    options: dict[str, Any] = {"max_retries": 1, "timeout": PROBE_TIMEOUT}
    if http is not None:
        options["http"] = http
    async with ZimunClient.from_settings(settings, **options) as client:
        return await probe_zimun(client)
