"""The reconcile scan and the notice sender on their own (no Telegram): which bookings are asked
about, the cap on calls per minute, what happens when Zimun refuses or rate-limits, the entry
point a webhook would use, and notices sent at most once. The API is the sandbox over HTTP;
both clocks (the bot's and the budget's) are simulated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.cadence import CADENCE
from bot.core.records import BookingRow
from bot.followup.ledger import Booked, Cancelled, Ledger, NewBooking
from bot.followup.notices import NoticeService
from bot.followup.outbox import MAX_ATTEMPTS
from bot.followup.reconcile import Reconciler
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import make_client
from tests.clock import MONDAY
from tests.fakes.outbox import Outbox

GET = ("GET", "/appointments/{appointment_id}")


class Ticks:
    """A monotonic clock the test moves (the budget's window)."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(str(tmp_path / "bot.db"))
    yield store
    store.close()


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[ZimunClient]:
    sandbox.clock.set(MONDAY)
    async with make_client(sandbox) as client:
        yield client


async def book(
    sandbox: SandboxServer, ledger: Ledger, day: int, hour: int = 9, user_id: int = 7
) -> BookingRow:
    """An appointment at the business `day` days after Monday at `hour` (Madrid, winter), and
    the bot's row for it (the customer's `user_id`)."""
    start = datetime(2026, 11, 23 + day, hour - 1, 0, tzinfo=UTC)
    hold = sandbox.store.hold("svc_checkup", "loc_madrid", start, sandbox.client_id)
    appointment = sandbox.store.confirm(hold.hold_id, "Ana", "ana@example.com")
    new = NewBooking(
        user_id=user_id,
        chat_id=user_id,
        appointment_id=appointment.id,
        service_id="svc_checkup",
        service_name="Quick check-up",
        location_id="loc_madrid",
        location_name="Madrid – Chamberí",
        location_address="",
        timezone="Europe/Madrid",
        start=start,
        end=appointment.end,
        status="confirmed",
    )
    [change] = await ledger.commit([Booked(new)], now=MONDAY, language="es")
    row = await ledger.storage.get_booking(change.booking_id or 0)
    assert row is not None
    return row


def reconciler(
    api: ZimunClient, ledger: Ledger, sandbox: SandboxServer, ticks: Ticks, per_minute: int = 60
) -> Reconciler:
    return Reconciler(
        api, ledger, now=sandbox.clock.now, calls_per_minute=per_minute, monotonic=ticks
    )


async def test_only_due_upcoming_active_bookings_are_asked_about_within_the_cap(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    ledger, ticks = Ledger(storage), Ticks()
    rows = [await book(sandbox, ledger, day=2, hour=9 + i) for i in range(5)]
    past = await book(sandbox, ledger, day=1)
    cancelled = await book(sandbox, ledger, day=3)
    await ledger.commit([Cancelled(cancelled.id)], now=MONDAY)
    scan = reconciler(api, ledger, sandbox, ticks, per_minute=2)

    assert (await scan.check_due()).checked == 0  # just booked: nothing due
    sandbox.clock.set(past.start + timedelta(minutes=1))  # Tuesday: all due, one has passed
    first = sandbox.stats.count(*GET)
    assert (await scan.check_due()).checked == 2
    assert (await scan.check_due()).checked == 0  # the cap: 2 per minute
    ticks.value += 60
    assert (await scan.check_due()).checked == 2
    ticks.value += 60
    assert (await scan.check_due()).checked == 1
    ticks.value += 60
    assert (await scan.check_due()).checked == 0  # all checked; the past and cancelled never
    assert sandbox.stats.count(*GET) - first == 5
    checked = [storage.get_booking(r.id) for r in rows]
    assert all(r is not None and r.checked_at == past.start + timedelta(minutes=1) for r in checked)


async def test_the_budget_is_shared_per_customer_not_per_booking(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    """One customer's six bookings are more overdue than another customer's one: with two calls
    a minute, each customer's first turn goes first, so the other's change is noticed in the
    first scan, not after the six (issue 18, item 12)."""
    ledger, ticks = Ledger(storage), Ticks()
    many = [
        await book(sandbox, ledger, day=d, hour=h, user_id=7) for d in (2, 3) for h in (9, 10, 11)
    ]
    other = await book(sandbox, ledger, day=4, hour=10, user_id=8)
    sandbox.clock.set(MONDAY + 2 * CADENCE.far_every)
    less_overdue = MONDAY + CADENCE.far_every + timedelta(minutes=1)
    storage.update_booking(other.id, next_check_at=less_overdue)
    sandbox.store.cancel(other.appointment_id)
    scan = reconciler(api, ledger, sandbox, ticks, per_minute=2)
    result = await scan.check_due()
    assert (result.checked, result.changed) == (2, 1)
    after = storage.get_booking(other.id)
    assert after is not None and not after.active
    assert sum(storage.get_booking(r.id).checked_at != MONDAY for r in many) == 1  # type: ignore[union-attr]


async def test_a_struggling_zimun_ends_the_scan_and_a_refusal_is_tried_next_time_round(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    ledger, ticks = Ledger(storage), Ticks()
    first, second = await book(sandbox, ledger, day=2), await book(sandbox, ledger, day=2, hour=10)
    scan = reconciler(api, ledger, sandbox, ticks)
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    sandbox.faults.fail_next(2, 503, method="GET")  # the first GET and its retry
    result = await scan.check_due()
    assert result.stopped and result.checked == 0
    assert all(storage.get_booking(r.id).checked_at == MONDAY for r in (first, second))  # type: ignore[union-attr]

    sandbox.faults.fail_next(1, 403, method="GET")  # e.g. a scope missing
    result = await scan.check_due()
    assert (result.checked, result.failed) == (1, 1)
    refused = [r for r in (first, second) if storage.get_booking(r.id).checked_at == MONDAY]  # type: ignore[union-attr]
    [postponed] = [storage.get_booking(r.id) for r in refused]
    assert postponed is not None
    assert postponed.next_check_at == MONDAY + 2 * CADENCE.far_every  # not at every scan


async def test_the_webhook_entry_point_checks_one_appointment_and_trusts_only_zimun(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    ledger, ticks = Ledger(storage), Ticks()
    row = await book(sandbox, ledger, day=2)
    scan = reconciler(api, ledger, sandbox, ticks, per_minute=1)
    assert await scan.check_appointment("a_not_ours") == []
    assert await scan.check_appointment(row.appointment_id) == []  # nothing changed
    sandbox.store.cancel(row.appointment_id)
    assert await scan.check_appointment(row.appointment_id) == []  # over budget: marked due
    marked = storage.get_booking(row.id)
    assert marked is not None and marked.next_check_at == MONDAY and marked.active
    ticks.value += 60
    [change] = await scan.check_appointment(row.appointment_id)
    assert change.kind == "cancelled" and not change.by_customer


async def test_a_notice_is_sent_at_most_once(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    ledger = Ledger(storage)
    row = await book(sandbox, ledger, day=2)
    sandbox.store.cancel(row.appointment_id)
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    await reconciler(api, ledger, sandbox, Ticks()).check_due()
    notices = NoticeService(storage, now=sandbox.clock.now)

    other = NoticeService(Storage(storage.path), now=sandbox.clock.now)  # a second process
    outbox = Outbox()
    try:
        results = await asyncio.gather(notices.flush(outbox), other.flush(outbox))
    finally:
        await other.storage.close()
    assert sorted(r.sent for r in results) == [0, 1]
    [(chat_id, reply)] = outbox.sent
    assert (chat_id, reply.language) == (7, "es")
    assert (await notices.flush(outbox)).sent == 0


async def test_a_notice_that_certainly_failed_is_retried_one_that_may_have_arrived_is_not(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    ledger = Ledger(storage)
    refused_row, broken_row = (
        await book(sandbox, ledger, day=2),
        await book(sandbox, ledger, day=2, hour=10),
    )
    notices = NoticeService(storage, now=sandbox.clock.now)

    sandbox.store.cancel(refused_row.appointment_id)
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    await reconciler(api, ledger, sandbox, Ticks()).check_due()
    refused = Outbox(delivered=False)
    outcomes = [await notices.flush(refused) for _ in range(MAX_ATTEMPTS + 1)]
    assert [o.retry for o in outcomes] == [1] * (MAX_ATTEMPTS - 1) + [0, 0]
    assert outcomes[MAX_ATTEMPTS - 1].failed == 1
    assert len(refused.sent) == MAX_ATTEMPTS

    sandbox.store.cancel(broken_row.appointment_id)
    sandbox.clock.set(MONDAY + 2 * CADENCE.far_every)
    await reconciler(api, ledger, sandbox, Ticks()).check_due()
    broken = Outbox(fail=True)
    assert (await notices.flush(broken)).failed == 1
    await notices.flush(broken)
    assert len(broken.sent) == 1


async def test_a_notice_about_an_appointment_that_has_passed_is_not_sent(
    sandbox: SandboxServer, storage: Storage, api: ZimunClient
) -> None:
    ledger = Ledger(storage)
    row = await book(sandbox, ledger, day=2)
    sandbox.store.cancel(row.appointment_id)
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    await reconciler(api, ledger, sandbox, Ticks()).check_due()
    sandbox.clock.set(row.start + timedelta(minutes=1))  # the bot was down until after it
    outbox = Outbox()
    assert (await NoticeService(storage, now=sandbox.clock.now).flush(outbox)).skipped == 1
    assert outbox.sent == []
    assert [n.status for n in storage.notices_for_booking(row.id)] == ["skipped"]
