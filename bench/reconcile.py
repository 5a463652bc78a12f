"""What noticing changes made at the business costs: Zimun calls per hour per 100 upcoming
bookings.

The production Reconciler and Ledger (bot.followup.reconcile, bot.followup.ledger) against the
sandbox in its own process over loopback. For each mix of bookings (how far ahead the appointments
are), real appointments are booked at the sandbox and recorded through the ledger (as if made at
moments spread over the hour before, so their checks are not all in step), then the bot's
clock is simulated: three hours of scans every 30 s, nothing waited. The figure is the
GET /appointments/{id} calls the sandbox counted during the third hour (the first two let the
checks settle into their cadence), per 100 bookings, next to the cadence's own formula
(bot.core.cadence.Cadence.calls_per_hour) for the same mix.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.runner import NOW, settings_for
from bench.sandbox_process import SandboxProcess
from bench.simulation import SimClock, scratch_storage
from bot.core.cadence import CADENCE
from bot.core.errors import ZimunError
from bot.core.models import Service
from bot.followup.ledger import Booked, Ledger, NewBooking
from bot.followup.reconcile import DEFAULT_CALLS_PER_MINUTE, Reconciler
from bot.zimun.client import ZimunClient

GET_ONE = "GET /appointments/{appointment_id}"
SERVICE = "svc_checkup"  # 15 minutes, two places per slot, at every branch: slots aplenty
PLACES = 2
HOURS = 3
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Mix:
    """Appointments spread evenly over the free times between `after` and `before` from now."""

    name: str
    after: timedelta
    before: timedelta


MIXES = (
    Mix("spread over the next 30 days", timedelta(0), 30 * DAY),
    # Still within the day when the counted hour ends.
    Mix("all within the next 24 hours", timedelta(hours=HOURS), DAY),
    Mix("all further out than 24 hours", 2 * DAY, 30 * DAY),
)


def measure(workdir: Path, bookings: int = 100) -> list[dict[str, Any]]:
    with SandboxProcess(now=NOW) as sandbox:
        return asyncio.run(_measure(sandbox, workdir, bookings))


async def _measure(sandbox: SandboxProcess, workdir: Path, bookings: int) -> list[dict[str, Any]]:
    assert sandbox.info is not None
    settings = settings_for(sandbox.info, workdir / "reconcile-setup.db")
    async with ZimunClient.from_settings(settings) as client:
        service = await client.get_service(SERVICE)
        assert service is not None
        free = await _free_slots(client, service)
        results = []
        for mix in MIXES:
            with scratch_storage(workdir / f"reconcile-{len(results)}.db") as storage:
                ledger = Ledger(storage)
                booked = await _book(client, ledger, service, free, mix, bookings)
                results.append(await _simulate(client, ledger, sandbox, mix, booked))
    return results


async def _free_slots(client: ZimunClient, service: Service) -> list[tuple[datetime, str]]:
    """Every free place of the service in the next month, at every branch, in time order (a
    time is listed once per place: the service takes two customers at once)."""
    slots: list[tuple[datetime, str]] = []
    for location in await client.list_locations():
        if not location.active or not service.bookable_at(location.id):
            continue
        availability = await client.get_availability(
            service.id, location_id=location.id, days_ahead=31
        )
        slots += [(s.start, location.id) for day in availability.days for s in day.slots]
    return sorted(slots * PLACES)


async def _book(
    client: ZimunClient,
    ledger: Ledger,
    service: Service,
    free: list[tuple[datetime, str]],
    mix: Mix,
    count: int,
) -> int:
    """Book `count` appointments evenly over the mix's free times and record them through the
    ledger; returns how many were booked."""
    window = [slot for slot in free if NOW + mix.after < slot[0] <= NOW + mix.before]
    picks = [window[len(window) * i // count] for i in range(count)] if window else []
    booked = 0
    for start, location_id in picks:
        try:
            hold = await client.hold(service=service, start=start, location_id=location_id)
            appointment = await client.confirm(hold.hold_id, name="Bench", email="b@example.com")
        except ZimunError:
            continue  # taken by an earlier mix, or picked twice from a short window
        await _record(ledger, service, location_id, appointment.id, start, booked, count)
        booked += 1
    return booked


async def _record(
    ledger: Ledger,
    service: Service,
    location_id: str,
    appointment_id: str,
    start: datetime,
    user: int,
    count: int,
) -> None:
    new = NewBooking(
        user_id=user + 1,
        chat_id=user + 1,
        appointment_id=appointment_id,
        service_id=service.id,
        service_name=service.name,
        location_id=location_id,
        location_name=location_id,
        location_address="",
        timezone="Europe/Madrid",
        start=start,
        end=start + timedelta(minutes=service.duration_minutes or 15),
        status="confirmed",
    )
    made = NOW - CADENCE.far_every * user / count  # checks out of step, as in real life
    await ledger.commit([Booked(new)], now=made, language="en")


async def _simulate(
    client: ZimunClient, ledger: Ledger, sandbox: SandboxProcess, mix: Mix, booked: int
) -> dict[str, Any]:
    clock = SimClock()
    reconciler = Reconciler(client, ledger, now=lambda: clock.now, monotonic=lambda: clock.ticks)
    step = CADENCE.scan_every
    scans_per_hour = int(timedelta(hours=1) / step)
    counted_from = scans_per_hour * (HOURS - 1)
    near = far = 0
    for scan in range(scans_per_hour * HOURS):
        clock.at_scan(scan, step)
        if scan == counted_from:
            sandbox.reset_stats()
            upcoming = await ledger.storage.upcoming_bookings(clock.now)
            near = sum(1 for r in upcoming if r.start - clock.now <= CADENCE.near)
            far = len(upcoming) - near
        await reconciler.check_due()
    calls = sandbox.stats()["requests"].get(GET_ONE, 0)
    per_100 = 100 / booked if booked else 0.0
    return {
        "mix": mix.name,
        "bookings": booked,
        "within_24h": near,
        "further_out": far,
        "calls_per_hour": calls,
        "calls_per_hour_per_100": round(calls * per_100, 1),
        "formula_per_100": round(CADENCE.calls_per_hour(near, far) * per_100, 1),
        "cap_per_hour": DEFAULT_CALLS_PER_MINUTE * 60,
    }
