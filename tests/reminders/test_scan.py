"""The reminder scan on its own (bot.followup.reminders, no Telegram): what is due, at-most-once
delivery under racing scans, retries only for sends that certainly failed, sending on stored
data when the API does not answer. The API is the sandbox over HTTP; the clock is simulated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config.settings import SettingsError, load_settings, parse_offsets
from bot.core.records import BookingRow
from bot.followup.ledger import Booked, Ledger, NewBooking, plan
from bot.followup.outbox import MAX_ATTEMPTS
from bot.followup.reminders import ReminderService
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import make_client
from tests.clock import MONDAY
from tests.fakes.outbox import Outbox

WEDNESDAY_9 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 09:00 in Madrid
OFFSETS = parse_offsets("24h,2h")


class Clock:
    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox

    def __call__(self) -> datetime:
        return self.sandbox.clock.now()

    def at(self, moment: datetime) -> None:
        self.sandbox.clock.set(moment)


@pytest.fixture
def clock(sandbox: SandboxServer) -> Clock:
    sandbox.clock.set(MONDAY)
    return Clock(sandbox)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    store = Storage(str(tmp_path / "bot.db"))
    yield store
    store.close()


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[ZimunClient]:
    async with make_client(sandbox) as client:
        yield client


async def book(
    sandbox: SandboxServer, storage: Storage, clock: Clock, user_id: int = 7
) -> BookingRow:
    """An appointment at the business and the bot's row for it, with its reminders planned."""
    hold = sandbox.store.hold("svc_checkup", "loc_madrid", WEDNESDAY_9, sandbox.client_id)
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
        start=WEDNESDAY_9,
        end=WEDNESDAY_9 + timedelta(minutes=15),
        status="confirmed",
    )
    await Ledger(storage, offsets=OFFSETS).commit([Booked(new)], now=clock(), language="it")
    row = storage.booking_by_appointment(appointment.id)
    assert row is not None
    return row


def service(api: ZimunClient, storage: Storage, clock: Clock) -> ReminderService:
    return ReminderService(api, Ledger(storage, offsets=OFFSETS), now=clock)


def test_offsets_are_parsed_and_malformed_ones_are_one_line() -> None:
    assert parse_offsets("24h, 2h") == (timedelta(hours=24), timedelta(hours=2))
    assert parse_offsets("90m,1d,90m") == (timedelta(days=1), timedelta(minutes=90))
    assert parse_offsets("") == () and parse_offsets(" , ") == ()
    for bad in ("2", "2 hours", "-2h", "0m", "31d", "1.5h"):
        with pytest.raises(SettingsError) as caught:
            load_settings(
                TELEGRAM_BOT_TOKEN="1:x",
                ZIMUN_CLIENT_ID="id",
                ZIMUN_CLIENT_SECRET="s",
                REMINDER_OFFSETS=bad,
            )
        message = str(caught.value)
        assert message.startswith("REMINDER_OFFSETS is invalid: ") and "\n" not in message


def test_plan_leaves_out_reminders_whose_time_has_passed() -> None:
    start = WEDNESDAY_9
    assert plan(start, OFFSETS, MONDAY) == [
        (1440, start - timedelta(hours=24)),
        (120, start - timedelta(hours=2)),
    ]
    assert plan(start, OFFSETS, start - timedelta(hours=3)) == [(120, start - timedelta(hours=2))]
    assert plan(start, OFFSETS, start - timedelta(hours=2)) == []


async def test_the_reminder_speaks_the_stored_language_and_names_the_booking(
    sandbox: SandboxServer, storage: Storage, clock: Clock, api: ZimunClient
) -> None:
    row = await book(sandbox, storage, clock)
    clock.at(WEDNESDAY_9 - timedelta(hours=24))
    outbox = Outbox()
    result = await service(api, storage, clock).scan(outbox)
    assert result.sent == 1
    [(chat_id, reply)] = outbox.sent
    assert chat_id == row.chat_id and reply.language == "it"  # the language at booking time
    storage.set_language(row.user_id, "de")  # changed since: the customer's choice wins
    clock.at(WEDNESDAY_9 - timedelta(hours=2))
    await service(api, storage, clock).scan(outbox)
    assert outbox.sent[-1][1].language == "de"


async def test_two_racing_scans_send_a_reminder_once(
    sandbox: SandboxServer, tmp_path: Path, storage: Storage, clock: Clock, api: ZimunClient
) -> None:
    """Two scanners over one database file (a second process, say): the claim decides."""
    await book(sandbox, storage, clock)
    other = Storage(storage.path)
    try:
        clock.at(WEDNESDAY_9 - timedelta(hours=24))
        outbox = Outbox()
        results = await asyncio.gather(
            service(api, storage, clock).scan(outbox), service(api, other, clock).scan(outbox)
        )
    finally:
        other.close()
    assert len(outbox.sent) == 1
    assert sorted(r.sent for r in results) == [0, 1]


async def test_a_send_that_certainly_failed_is_retried_then_given_up(
    sandbox: SandboxServer, storage: Storage, clock: Clock, api: ZimunClient
) -> None:
    row = await book(sandbox, storage, clock)
    clock.at(WEDNESDAY_9 - timedelta(hours=24))
    refused = Outbox(delivered=False)
    scanner = service(api, storage, clock)
    outcomes = [(await scanner.scan(refused)).outcomes[0][1] for _ in range(MAX_ATTEMPTS)]
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    assert (await scanner.scan(refused)).outcomes == []  # given up: not tried again
    day_before = storage.reminders_for_booking(row.id)[0]
    assert (day_before.status, day_before.attempts) == ("sent", MAX_ATTEMPTS)


async def test_a_send_that_may_have_arrived_is_never_repeated(
    sandbox: SandboxServer, storage: Storage, clock: Clock, api: ZimunClient
) -> None:
    await book(sandbox, storage, clock)
    clock.at(WEDNESDAY_9 - timedelta(hours=24))
    broken = Outbox(fail=True)
    scanner = service(api, storage, clock)
    assert (await scanner.scan(broken)).failed == 1
    await scanner.scan(broken)
    assert len(broken.sent) == 1


async def test_with_the_api_down_the_reminder_goes_out_on_what_is_stored(
    sandbox: SandboxServer, storage: Storage, clock: Clock, api: ZimunClient
) -> None:
    await book(sandbox, storage, clock)
    clock.at(WEDNESDAY_9 - timedelta(hours=24))
    sandbox.faults.fail_next(10, 503)
    outbox = Outbox()
    assert (await service(api, storage, clock).scan(outbox)).sent == 1


async def test_due_gives_one_entry_per_booking_with_what_it_supersedes(
    sandbox: SandboxServer, storage: Storage, clock: Clock, api: ZimunClient
) -> None:
    row = await book(sandbox, storage, clock)
    scanner = service(api, storage, clock)
    assert await scanner.due(WEDNESDAY_9 - timedelta(hours=25)) == []
    [early] = await scanner.due(WEDNESDAY_9 - timedelta(hours=3))
    assert early.reminder.offset_minutes == 1440 and early.superseded == ()
    [late] = await scanner.due(WEDNESDAY_9 - timedelta(hours=1))
    assert late.reminder.offset_minutes == 120
    assert late.superseded == (early.reminder.id,)
    assert late.reminder.booking_id == row.id
