"""/stats is aggregated by the database: the same figures as the Python aggregation it replaced
(kept here as the oracle, checked on generated funnels), without loading the rows into Python;
on PostgreSQL (DATABASE_URL) by the same queries in its dialect (bot.ops.stats_pg)."""

from __future__ import annotations

import random
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.records import FunnelEvent
from bot.ops.staff import PER_DAY_DAYS, STALE_AFTER, STATS_DAYS, Stats
from bot.ops.stats import load_stats, stats_of
from bot.store.contract import Store
from bot.store.storage import Storage

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
EVENTS = ("started", "step", "confirmed", "abandoned", "moved", "cancelled")
STEPS = (None, "", "location", "service", "day", "time", "name", "email", "summary")


def reference_stats(events: list[FunnelEvent], now: datetime, days: int = STATS_DAYS) -> Stats:
    """The Python aggregation /stats used before (events oldest first): the oracle."""
    since = now - timedelta(days=days)
    events = [e for e in events if e.at >= since]
    booked = [e for e in events if e.event == "confirmed"]
    today = now.date()
    per_day_count = Counter(e.at.date() for e in booked)
    per_day = [
        (today - timedelta(days=n), per_day_count[today - timedelta(days=n)])
        for n in range(PER_DAY_DAYS - 1, -1, -1)
    ]
    attempts: dict[str, list[FunnelEvent]] = {}
    for event in events:
        if event.attempt:
            attempts.setdefault(event.attempt, []).append(event)
    started = [a for a in attempts.values() if any(e.event == "started" for e in a)]
    confirmed = sum(1 for a in started if any(e.event == "confirmed" for e in a))
    stopped: Counter[str] = Counter()
    still_open = 0
    for attempt in started:
        if any(e.event == "confirmed" for e in attempt):
            continue
        step = _stopped_at(attempt, now)
        if step is None:
            still_open += 1
        else:
            stopped[step] += 1
    return Stats(
        days=days,
        per_day=per_day,
        per_location=Counter(e.location_name or "?" for e in booked).most_common(),
        per_service=Counter(e.service_name or "?" for e in booked).most_common(),
        started=len(started),
        confirmed=confirmed,
        open=still_open,
        moved=sum(1 for e in events if e.event == "moved"),
        cancelled=sum(1 for e in events if e.event == "cancelled"),
        stopped_at=stopped.most_common(),
    )


def _stopped_at(attempt: list[FunnelEvent], now: datetime) -> str | None:
    """The step an unconfirmed attempt ended at; None while it may still go on."""
    abandoned = next((e for e in attempt if e.event == "abandoned"), None)
    if abandoned is not None:
        return abandoned.step or ""
    if now - attempt[-1].at < STALE_AFTER:
        return None
    steps = [e.step for e in attempt if e.event == "step" and e.step]
    return steps[-1] if steps else ""


def _stopped_at(attempt: list[FunnelEvent], now: datetime) -> str | None:
    abandoned = next((e for e in attempt if e.event == "abandoned"), None)
    if abandoned is not None:
        return abandoned.step or ""
    if now - attempt[-1].at < STALE_AFTER:
        return None
    steps = [e.step for e in attempt if e.event == "step" and e.step]
    return steps[-1] if steps else ""


events = st.builds(
    FunnelEvent,
    at=st.integers(-40 * 24 * 60, 10).map(lambda m: NOW + timedelta(minutes=m)),
    attempt=st.sampled_from(["", "a", "b", "c", "d", "e"]),
    event=st.sampled_from(EVENTS),
    step=st.sampled_from(STEPS),
    location_name=st.sampled_from([None, "Madrid", "Milano"]),
    service_name=st.sampled_from([None, "Cleaning", "Checkup", "Physio"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, max_size=40))
def test_sql_stats_equal_the_python_aggregation(tmp_path_factory, funnel: list[FunnelEvent]):
    storage = Storage(str(tmp_path_factory.mktemp("stats") / "bot.db"))
    try:
        storage.record_funnel(funnel)
        stored = storage.funnel_since(NOW - timedelta(days=365))  # (at, id) order, as before
        assert stats_of(storage, NOW) == reference_stats(stored, NOW)
    finally:
        storage.close()


def test_stats_do_not_load_the_funnel_into_python(tmp_path: Path) -> None:
    """50,000 rows: the old aggregation held every one as an object (~275 MB at 400,000)."""
    storage = Storage(str(tmp_path / "bot.db"))
    try:
        rows = [
            FunnelEvent(NOW - timedelta(minutes=n % 40_000), f"t{n // 5}", EVENTS[n % 4], "day")
            for n in range(50_000)
        ]
        storage.record_funnel(rows)
        del rows
        tracemalloc.start()
        try:
            stats = stats_of(storage, NOW)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        storage.close()
    assert stats.started == 10_000
    assert peak < 1_000_000, peak


def funnel_of(seed: int, size: int) -> list[FunnelEvent]:
    """A generated funnel, the same for every database (one seed)."""
    pick = random.Random(seed)
    return [
        FunnelEvent(
            NOW + timedelta(minutes=pick.randint(-40 * 24 * 60, 10)),
            pick.choice(["", "a", "b", "c", "d", "e", "f", "g"]),
            pick.choice(EVENTS),
            pick.choice(STEPS),
            location_name=pick.choice([None, "Madrid", "Milano"]),
            service_name=pick.choice([None, "Cleaning", "Checkup", "Physio"]),
        )
        for _ in range(size)
    ]


async def test_the_stats_are_the_same_on_each_database(store: Store) -> None:
    """/stats on the store the bot runs on (load_stats: SQLite's queries, or PostgreSQL's
    translation), against the oracle, on several funnels."""
    for seed in range(6):
        await store.record_funnel(funnel_of(seed, 60))
        stored = await store.funnel_since(NOW - timedelta(days=365))
        assert await load_stats(store, NOW) == reference_stats(stored, NOW)
        assert await load_stats(store.for_business("other"), NOW) == reference_stats([], NOW)
