"""Is the bot healthy? For a load balancer (/healthz in webhook mode) and for an operator
(`python -m bot check`).

Both ask the same questions: does the Zimun API accept our credentials and answer, and can the
bot database be read. `check` also asks Telegram whether it knows the token. Answers are one
line each, naming the setting to fix, and never contain a secret (error details are the API's
own reasons, exception types and setting names).

/healthz may be polled every few seconds: the answer is cached for `cache_seconds`, so the
Zimun API sees at most one probe per period however often the probe comes. Anyone can ask
/healthz, so it answers only "ok" or "failed": what failed (errors, paths, settings) is logged
once per probe, for the operator.
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
from bot.store.storage import Storage, StorageError

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.zimun.client import ZimunClient

log = logging.getLogger(__name__)

HEALTH_CACHE_SECONDS = 15.0
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


def probe_storage(storage: Storage) -> CheckResult:
    try:
        version = storage.ping()
    except Exception as exc:  # StorageError, or a closed connection
        return CheckResult("Storage", False, f"{type(exc).__name__}: {exc}")
    return CheckResult("Storage", True, f"{storage.path} readable (schema {version})")


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
        return probe_storage(storage)
    finally:
        storage.close()


# ---- /healthz ---------------------------------------------------------------------------------


class Health:
    """The /healthz answer: (healthy?, JSON body without details), cached for `cache_seconds`;
    the details of a failure are logged."""

    def __init__(
        self,
        zimun: Callable[[], Awaitable[CheckResult]],
        storage: Storage,
        *,
        cache_seconds: float = HEALTH_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._zimun = zimun
        self._storage = storage
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cached: tuple[float, bool, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def report(self) -> tuple[bool, dict[str, Any]]:
        async with self._lock:  # concurrent probes share one check
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._cache_seconds:
                return self._cached[1], self._cached[2]
            results = [await self._zimun(), probe_storage(self._storage)]
            healthy = all(r.ok for r in results)
            if not healthy:
                log.warning(
                    "health check failed: %s", "; ".join(r.line() for r in results if not r.ok)
                )
            body: dict[str, Any] = {"status": "ok" if healthy else "failed"}
            self._cached = (now, healthy, body)
            return healthy, body


# ---- `python -m bot check` --------------------------------------------------------------------


async def run_checks(
    settings: Settings, telegram: Callable[[Settings], Awaitable[CheckResult]]
) -> list[CheckResult]:
    """Telegram (given: it lives in the adapter), Zimun and the database, one result each."""
    from bot.zimun.client import ZimunClient

    results = [await telegram(settings)]
    async with ZimunClient.from_settings(settings, max_retries=1, timeout=PROBE_TIMEOUT) as client:
        results.append(await probe_zimun(client))
    results.append(check_db_path(settings.BOT_DB_PATH))
    return results
