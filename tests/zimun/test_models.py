"""Tolerant parsing: documented alternatives accepted, unknown fields ignored, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.errors import InvalidResponse
from bot.core.models import Appointment, Availability, Hold, Location, Page, Service

RECEIVED = datetime(2026, 2, 20, 8, 55, tzinfo=UTC)  # when the client got the answer


@pytest.mark.parametrize("field", ["appointment_id", "booking_id", "id"])
def test_appointment_id_under_any_documented_name(field: str) -> None:
    appointment = Appointment.parse({field: "a_1", "status": "CONFIRMED", "color": "red"})
    assert appointment.id == "a_1"
    assert appointment.status == "confirmed"
    assert appointment.active


def test_appointment_times_under_alternative_names() -> None:
    appointment = Appointment.parse(
        {"booking_id": "a_1", "start_time": "2026-02-20T10:00:00+01:00", "end": None}
    )
    assert appointment.start == datetime.fromisoformat("2026-02-20T10:00:00+01:00")
    assert not Appointment.parse({"id": "a_2", "status": "cancelled"}).active


def test_missing_id_names_the_field() -> None:
    with pytest.raises(InvalidResponse, match="Appointment: field 'id' is missing"):
        Appointment.parse({"status": "confirmed"})


def test_non_object_body_is_a_clear_error() -> None:
    with pytest.raises(InvalidResponse, match="Hold: expected a JSON object, got str"):
        Hold.parse("<html>gateway</html>")


def test_hold_with_id_alias_and_no_expiry_assumes_ten_minutes() -> None:
    hold = Hold.parse(
        {"id": "h_1", "appointment_time": "2026-02-20T10:00:00+01:00"}, received_at=RECEIVED
    )
    assert hold.hold_id == "h_1"
    assert hold.expires_at.tzinfo is not None


def test_a_hold_without_expiry_runs_from_its_receipt_by_the_clients_clock() -> None:
    hold = Hold.parse({"id": "h_1"}, received_at=RECEIVED)
    assert hold.expires_at == RECEIVED + timedelta(minutes=10)
    with pytest.raises(InvalidResponse, match="Hold: field 'expires_at' is missing"):
        Hold.parse({"id": "h_1"})  # no receipt time: the core reads no clock of its own


def test_service_and_location_aliases() -> None:
    service = Service.parse({"service_id": "s_1", "duration": 45, "location_ids": None})
    assert (service.id, service.duration_minutes, service.location_ids) == ("s_1", 45, ())
    assert service.bookable_at("anywhere")
    location = Location.parse({"location_id": "loc_1", "time_zone": "Europe/Berlin"})
    assert (location.id, location.name, location.tz.key) == ("loc_1", "loc_1", "Europe/Berlin")


def test_availability_from_flat_slots_and_a_holiday_map() -> None:
    availability = Availability.parse(
        {
            "timezone": "Europe/Madrid",
            "slots": [
                {"start": "2026-02-20T10:00:00+01:00"},
                {"appointment_time": "2026-02-20T09:00:00+01:00"},
            ],
            "holidays": {"2026-02-23": {"name": "Carnival", "note": None}},
        }
    )
    day = availability.day(date(2026, 2, 20))
    assert day is not None and [s.start.hour for s in day.slots] == [9, 10]
    holiday = availability.day(date(2026, 2, 23))
    assert holiday is not None and holiday.holiday == "Carnival" and not holiday.bookable


def test_slot_without_a_start_is_named() -> None:
    with pytest.raises(InvalidResponse, match="start"):
        Availability.parse({"days": [{"date": "2026-02-20", "slots": [{"end_time": "x"}]}]})


def test_page_accepts_alternative_item_keys() -> None:
    page = Page.parse({"data": [{"id": 1}], "next_page_token": ""})
    assert page.items == ({"id": 1},) and page.next_page_token is None


def test_zone_falls_back_on_the_slots_offset_when_the_server_names_none() -> None:
    from datetime import timedelta

    from bot.core.models import Availability, Location, parse_zone, zone

    assert Location.parse({"id": "loc_1"}).timezone is None
    availability = Availability.parse(
        {"slots": [{"start": "2026-11-23T23:30:00+01:00"}, {"start": "2026-11-24T09:00:00+01:00"}]}
    )
    # Grouped by the slot's own local day, not by UTC (23:30+01:00 is 22:30 UTC, same day).
    assert [d.date.isoformat() for d in availability.days] == ["2026-11-23", "2026-11-24"]
    assert availability.timezone is None and availability.zone_name == "+01:00"
    assert zone("+01:00").utcoffset(None) == timedelta(hours=1)
    assert parse_zone("UTC-5").utcoffset(None) == timedelta(hours=-5)
    assert parse_zone("Europe/Rome") is not None
    assert parse_zone("Mars/Olympus") is None and zone(None).utcoffset(None) == timedelta(0)
