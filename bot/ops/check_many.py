"""`python -m bot check` (and `--deep`) for every business of BUSINESSES_FILE.

A thousand businesses are checked with at most CHECK_CONCURRENCY at once (each check holds a
Bot API and a Zimun connection while it runs), and reported in the file's order as soon as a
business and those before it are done, so an operator watching sees progress. Each business
is one line, prefixed with its id so that `grep '^studio-north:'` finds it:

    OK   Storage: BOT_DB_PATH=bot.db will be created at start
    studio-north: OK   Telegram: TELEGRAM_BOT_TOKEN accepted, the bot is @north_bot; Zimun: ...
    south: FAIL Zimun: credentials refused: ...; Telegram: TELEGRAM_BOT_TOKEN accepted, ...
    2 businesses checked: 1 passed, 1 failed (south).

The database is the process's (BOT_DB_PATH is process-wide), so it is checked once. `--deep`
adds each business's read-only tour of its Zimun account (bot/ops/deep_check.py) under its line.
A check that crashes fails its own business only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from bot.config.businesses import BusinessConfig
from bot.config.operator import load_operator
from bot.config.settings import Settings
from bot.ops.deep_check import run_deep_check
from bot.ops.health import PROBE_TIMEOUT, CheckResult, check_database, check_zimun
from bot.zimun.client import ZimunClient

log = logging.getLogger(__name__)

CHECK_CONCURRENCY = 20  # businesses checked at once
NAMED_FAILURES = 10  # failed ids named in the summary line, at most

Verdict = tuple[bool, list[str]]  # (passed?, lines without the business's prefix)
TelegramCheck = Callable[[Settings], Awaitable[CheckResult]]
Show = Callable[[Settings, Iterable[str]], None]  # prints lines, scrubbed of these settings'


@dataclass(frozen=True)
class BusinessCheck:
    """One business's verdict and its lines, each prefixed with the business's id."""

    business: str
    ok: bool
    lines: tuple[str, ...]


async def check_all(
    businesses: Sequence[BusinessConfig],
    one: Callable[[Settings], Awaitable[Verdict]],
    *,
    limit: int = CHECK_CONCURRENCY,
    report: Callable[[BusinessConfig, BusinessCheck], None] | None = None,
) -> list[BusinessCheck]:
    """`one` for every business, at most `limit` at once; `report` gets each result in the
    businesses' order as soon as it and those before it are done. An exception from `one`
    fails that business only (named by type: its text might quote a secret)."""
    gate = asyncio.Semaphore(limit)

    async def check(business: BusinessConfig) -> BusinessCheck:
        async with gate:
            try:
                ok, lines = await one(business.settings)
            except Exception as exc:
                log.exception("check of business %s crashed", business.id)
                ok, lines = False, [f"FAIL the check crashed ({type(exc).__name__})"]
        return BusinessCheck(business.id, ok, tuple(f"{business.id}: {line}" for line in lines))

    tasks = [asyncio.create_task(check(business)) for business in businesses]
    results = []
    try:
        for business, task in zip(businesses, tasks, strict=True):
            result = await task
            if report is not None:
                report(business, result)
            results.append(result)
    finally:
        for task in tasks:
            task.cancel()
    return results


async def check_business(
    settings: Settings,
    telegram: TelegramCheck,
    *,
    deep: bool = False,
    now: Callable[[], datetime] | None = None,
    http: httpx.AsyncClient | None = None,
) -> Verdict:
    """One business: Telegram and Zimun on one line (failures first); with `deep`, the tour of
    its Zimun account below it (`now` places the booking window)."""
    results = [await telegram(settings), await check_zimun(settings, http)]
    ok = all(r.ok for r in results)
    ordered = sorted(results, key=lambda r: r.ok)
    lines = [f"{'OK  ' if ok else 'FAIL'} " + "; ".join(f"{r.name}: {r.detail}" for r in ordered)]
    if not deep:
        return ok, lines
    if not results[1].ok:
        return False, [*lines, "Deep check skipped: Zimun does not accept the credentials."]
    if now is None:
        raise ValueError("a deep check needs the clock (now)")
    operator = load_operator(settings)
    if http is None:
        report = await run_deep_check(settings, operator, now=now())
    else:
        options: dict[str, Any] = {"max_retries": 1, "timeout": PROBE_TIMEOUT, "http": http}
        async with ZimunClient.from_settings(settings, **options) as client:
            report = await run_deep_check(settings, operator, now=now(), client=client)
    return ok and report.ok, [*lines, *report.lines()]


async def check_businesses(
    settings: Settings,
    businesses: Sequence[BusinessConfig],
    telegram: TelegramCheck,
    show: Show,
    *,
    deep: bool = False,
    now: Callable[[], datetime] | None = None,
    limit: int = CHECK_CONCURRENCY,
) -> bool:
    """The whole `check` of a businesses file, shown through `show`: the database once, a line
    per business (and its tour with `deep`), then a summary. True when everything passed."""
    storage = await check_database(settings)
    show(settings, [storage.line()])

    # One pool and one TLS context for every business's Zimun probe: a client each cost
    # 20-odd ms of CPU to make (its TLS context) and a connection pool of its own. No cookies:
    # a cookie one business's server set must not travel with another business's requests.
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        follow_redirects=False,
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    ) as http:

        async def one(business_settings: Settings) -> Verdict:
            return await check_business(business_settings, telegram, deep=deep, now=now, http=http)

        def report(business: BusinessConfig, result: BusinessCheck) -> None:
            show(business.settings, result.lines)

        results = await check_all(businesses, one, limit=limit, report=report)
    show(settings, [summary(results)])
    return storage.ok and all(r.ok for r in results)


def summary(results: Sequence[BusinessCheck]) -> str:
    """ "3 businesses checked: 2 passed, 1 failed (south)." """
    failed = [r.business for r in results if not r.ok]
    named = ", ".join(failed[:NAMED_FAILURES])
    if len(failed) > NAMED_FAILURES:
        named += f" and {len(failed) - NAMED_FAILURES} more"
    noun = "business" if len(results) == 1 else "businesses"
    line = (
        f"{len(results)} {noun} checked: {len(results) - len(failed)} passed, {len(failed)} failed"
    )
    return f"{line} ({named})." if failed else f"{line}."
