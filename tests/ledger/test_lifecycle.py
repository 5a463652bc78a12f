"""The pure decision of a booking's life (bot.core.lifecycle): the same stored booking, entry
and time always give the same Write, with no database, no API and no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.core.cadence import CADENCE
from bot.core.changes import ChangeKind
from bot.core.lifecycle import (
    Booked,
    Cancelled,
    Entry,
    Fields,
    Moved,
    Seen,
    Stored,
    Write,
    decide,
)
from bot.core.records import BookingRow, NewBooking

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
HOUR = timedelta(hours=1)
OFFSETS = (timedelta(hours=24), timedelta(hours=2))

NEW = NewBooking(
    user_id=7,
    chat_id=7,
    appointment_id="a_1",
    service_id="svc",
    service_name="Cut",
    location_id="loc",
    location_name="Centre",
    location_address="",
    timezone="Europe/Madrid",
    start=START,
    end=START + HOUR,
    status="confirmed",
)
ROW = BookingRow(
    **vars(NEW), id=1, created_at="", updated_at="", language="es", checked_at=NOW - HOUR
)


def decided(stored: Stored | None, entry: Entry, language: str | None = None) -> Write | None:
    return decide(stored, entry, NOW, offsets=OFFSETS, schedule=CADENCE, language=language)


def write_of(stored: Stored | None, entry: Entry, language: str | None = None) -> Write:
    write = decided(stored, entry, language)
    assert write is not None
    return write


def test_a_booking_plans_its_reminders_schedules_a_check_and_is_told_once() -> None:
    write = write_of(None, Booked(NEW), language="es")
    assert write.new == NEW and write.booked_at == NOW
    assert write.reminders == ((24 * 60, START - OFFSETS[0]), (2 * 60, START - OFFSETS[1]))
    assert write.fields == Fields(
        language="es", checked_at=NOW, next_check_at=CADENCE.next_check(NOW, START)
    )
    assert write.change is not None and write.change.kind is ChangeKind.BOOKED
    replayed = write_of(Stored(ROW), Booked(NEW), language="es")
    assert replayed.reminders == write.reminders and replayed.change is None


def test_a_move_at_the_business_replans_announces_and_replaces_an_unsent_notice() -> None:
    later = START + timedelta(days=1)
    write = write_of(Stored(ROW), Seen(ROW.id, "confirmed", NOW, start=later))
    assert write.fields.start == later and write.fields.end == later + HOUR  # duration kept
    assert write.reminders is not None and write.reminder_language == "es"
    assert write.skip_notices and write.notice is not None
    assert (write.notice.kind, write.notice.start, write.notice.previous_start) == (
        "moved",
        later,
        START,
    )
    assert write.change is not None and not write.change.by_customer
    # Moved back to the time the customer knows (an unsent notice says START): nothing to say.
    moved_row = replace(ROW, start=later)
    back = write_of(
        Stored(moved_row, told_start=START), Seen(ROW.id, "confirmed", NOW, start=START)
    )
    assert back.skip_notices and back.notice is None


def test_a_cancellation_drops_the_unsent_reminders_and_an_old_answer_changes_nothing() -> None:
    at_business = write_of(Stored(ROW), Seen.gone(ROW.id, NOW, 0))
    assert at_business.drop_reminders and at_business.notice is not None
    assert at_business.notice.kind == "cancelled"
    by_customer = write_of(Stored(ROW), Cancelled(ROW.id))
    assert by_customer.drop_reminders and by_customer.skip_notices and by_customer.notice is None
    assert by_customer.change is not None and by_customer.change.by_customer
    older = Seen(ROW.id, "cancelled", NOW - 2 * HOUR)  # asked before the last comparison
    assert decided(Stored(ROW), older) is None
    assert decided(Stored(replace(ROW, status="cancelled")), Cancelled(ROW.id)) is None
    assert decided(None, Moved(ROW.id, START, None)) is None  # a forgotten booking
