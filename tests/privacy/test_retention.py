"""Housekeeping keeps what /privacy promises: bookings go 90 days after the appointment (their
reminders and notices with them), a conversation idle for a day goes (an abandoned draft may
hold a name and an email), a confirm in flight stays. The storage's own clock columns are
wall-clock, the appointment times are the API's: each cutoff is given in its own clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.records import BookingRow, FunnelEvent
from bot.store import retention
from bot.store.storage import Storage

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def add(storage: Storage, user_id: int, start: datetime) -> BookingRow:
    booking_id = storage.add_booking(
        user_id=user_id,
        chat_id=user_id,
        appointment_id=f"a_{user_id}_{start:%Y%m%d}",
        service_id="svc",
        service_name="Service",
        location_id="loc",
        location_name="Branch",
        location_address="",
        timezone="Europe/Madrid",
        start=start,
        end=None,
        status="confirmed",
    )
    row = storage.get_booking(booking_id)
    assert row is not None
    storage.set_reminders(
        row.id, row.user_id, row.chat_id, [(120, start - timedelta(hours=2))], language="en"
    )
    storage.add_notice(row, "moved", start=start, previous_start=start, language="en")
    return row


def test_prune_deletes_old_bookings_their_reminders_and_idle_conversations(
    tmp_path: Path,
) -> None:
    storage = Storage(str(tmp_path / "bot.db"))
    try:
        old = add(storage, 1, NOW - timedelta(days=retention.BOOKINGS_KEPT_DAYS + 1))
        recent = add(storage, 1, NOW - timedelta(days=retention.BOOKINGS_KEPT_DAYS - 1))
        storage.record_funnel(
            [
                FunnelEvent(NOW - timedelta(days=200), "x", "started"),
                FunnelEvent(NOW - timedelta(days=1), "y", "started"),
            ]
        )
        storage.save_conversation(1, 1, '{"step":"email","email":"a@b.c"}', pending=False)
        storage.save_conversation(2, 2, '{"step":"summary"}', pending=True)

        # Right now nothing is idle yet (the conversations were just written).
        wall_now = datetime.now(UTC)
        storage.prune(
            appointments_before=retention.appointments_before(NOW),
            idle_before=retention.idle_before(wall_now),
        )
        assert storage.get_booking(old.id) is None
        assert storage.reminders_for_booking(old.id) == []
        assert storage.notices_for_booking(old.id) == []
        assert storage.get_booking(recent.id) is not None
        assert len(storage.reminders_for_booking(recent.id)) == 1
        assert len(storage.notices_for_booking(recent.id)) == 1
        assert [e.attempt for e in storage.funnel_since(NOW - timedelta(days=365))] == ["y"]
        assert storage.conversation_count() == 2

        # A day later (wall clock), the idle draft is gone; the confirm in flight stays.
        storage.prune(
            appointments_before=retention.appointments_before(NOW),
            idle_before=retention.idle_before(wall_now + timedelta(days=1, minutes=1)),
        )
        assert storage.load_conversation(1) is None
        assert storage.load_conversation(2) is not None
    finally:
        storage.close()
