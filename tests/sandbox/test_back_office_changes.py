"""The business changes things behind the API (front desk, back office), and the API answers
what sandbox/README.md documents: through SandboxServer and through the /_sandbox control API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.errors import ApiError
from sandbox.testing import SandboxServer
from tests.sandbox.conftest import MONDAY, SSL, Api, assert_problem, config

TUESDAY = "2026-11-24"
TUE_9 = "2026-11-24T09:00:00+01:00"
TUE_10 = "2026-11-24T10:00:00+01:00"


@pytest.fixture
def control(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """Plain HTTP to the control API: no token, no idempotency key."""
    with httpx.Client(base_url=sandbox.control_url, timeout=10, verify=SSL) as client:
        yield client


def appointment(api: Api, appointment_id: str) -> dict[str, Any]:
    response = api.get(f"/appointments/{appointment_id}")
    assert response.status_code == 200, response.text
    return response.json()


# -- a service removed ----------------------------------------------------------------------


def test_a_removed_service_is_gone_from_the_catalogue(sandbox: SandboxServer, api: Api) -> None:
    removed = sandbox.remove_service("svc_cleaning")
    assert removed.id == "svc_cleaning"
    ids = [s["id"] for s in api.get("/services").json()["items"]]
    assert "svc_cleaning" not in ids and len(ids) == 5
    assert sandbox.seed.service("svc_cleaning") is None
    query = {"service_id": "svc_cleaning", "location_id": "loc_madrid", "date": TUESDAY}
    assert_problem(api.get("/availability", **query), 404, "service_not_found")
    assert_problem(api.hold("svc_cleaning", TUE_9, "loc_madrid"), 404, "service_not_found")
    with pytest.raises(ApiError) as error:
        sandbox.remove_service("svc_cleaning")
    assert (error.value.status, error.value.code) == (404, "service_not_found")


def test_what_was_booked_before_the_removal_stays(sandbox: SandboxServer, api: Api) -> None:
    booked = api.book("svc_cleaning", TUE_9, "loc_madrid")
    held = api.hold("svc_cleaning", "2026-11-24T09:45:00+01:00", "loc_madrid").json()
    sandbox.remove_service("svc_cleaning")
    assert appointment(api, booked["id"])["status"] == "confirmed"
    confirmed = api.post(
        "/appointments/confirm",
        {"hold_id": held["hold_id"], "contact_name": "Ana", "contact_email": "ana@example.com"},
    )
    assert confirmed.status_code == 201, confirmed.text  # the hold had reserved the place
    moved = api.post(
        "/appointments/reschedule",
        {"appointment_id": booked["id"], "start_time": "2026-11-24T11:15:00+01:00"},
    )
    assert_problem(moved, 404, "service_not_found")
    cancelled = api.post("/appointments/cancel", {"appointment_id": booked["id"]})
    assert cancelled.json()["status"] == "cancelled"


# -- a branch switched off ------------------------------------------------------------------


def test_a_deactivated_branch_is_listed_but_not_bookable(sandbox: SandboxServer, api: Api) -> None:
    location = sandbox.deactivate_location("loc_berlin")
    assert location.active is False
    items = {loc["id"]: loc for loc in api.get("/locations").json()["items"]}
    assert items["loc_berlin"]["active"] is False
    assert items["loc_madrid"]["active"] is True
    query = {"service_id": "svc_checkup", "location_id": "loc_berlin", "date": TUESDAY}
    assert_problem(api.get("/availability", **query), 400, "not_bookable")
    when = "2026-11-24T09:00:00+01:00"
    assert_problem(api.hold("svc_checkup", when, "loc_berlin"), 400, "not_bookable")
    # Physiotherapy is only in Berlin: without a location it has nowhere to go.
    only_berlin = api.get("/availability", service_id="svc_physio", date=TUESDAY)
    assert_problem(only_berlin, 400, "not_bookable")
    several = api.get("/availability", service_id="svc_consultation", date=TUESDAY)
    body = assert_problem(several, 400, "location_required")
    assert "loc_berlin" not in body["error"]["details"]["location_ids"]

    assert sandbox.activate_location("loc_berlin").active is True
    assert api.get("/availability", **query).status_code == 200
    assert api.hold("svc_checkup", when, "loc_berlin").status_code == 201


def test_appointments_at_a_deactivated_branch_can_be_read_and_cancelled_not_moved(
    sandbox: SandboxServer, api: Api
) -> None:
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    sandbox.deactivate_location("loc_madrid")
    assert appointment(api, booked["id"])["status"] == "confirmed"
    moved = api.patch(f"/appointments/{booked['id']}", {"appointment_time": TUE_10})
    assert_problem(moved, 400, "not_bookable")
    cancelled = api.patch(f"/appointments/{booked['id']}", {"status": "cancelled"})
    assert cancelled.json()["status"] == "cancelled"


# -- appointments cancelled or moved by the front desk --------------------------------------


def test_business_cancel_reads_back_cancelled(sandbox: SandboxServer, api: Api) -> None:
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    sandbox.clock.advance(120)
    record = sandbox.business_cancel(booked["id"])
    assert record.status == "cancelled"
    assert record.history == [("cancelled_by_business", datetime(2026, 11, 24, 8, tzinfo=UTC))]
    read = appointment(api, booked["id"])
    assert read["status"] == "cancelled"
    assert read["updated_at"] == "2026-11-23T08:02:00+00:00"
    assert read["appointment_time"] == TUE_9
    assert TUE_9 in api.slots("svc_consultation", "loc_madrid", TUESDAY)
    again = api.post(
        "/appointments/reschedule", {"appointment_id": booked["id"], "start_time": TUE_10}
    )
    assert_problem(again, 409, "appointment_not_active")
    assert sandbox.business_cancel(booked["id"]).updated_at == record.updated_at  # no change
    assert sandbox.stats.count("POST", "/appointments/cancel") == 0  # not through the API


def test_business_move_reads_back_at_the_new_time(sandbox: SandboxServer, api: Api) -> None:
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    sandbox.clock.advance(60)
    record = sandbox.business_move(booked["id"], datetime.fromisoformat(TUE_10))
    assert record.start == datetime(2026, 11, 24, 9, tzinfo=UTC)
    read = appointment(api, booked["id"])
    assert (read["status"], read["appointment_time"], read["end_time"]) == (
        "confirmed",
        TUE_10,
        "2026-11-24T10:30:00+01:00",
    )
    assert read["updated_at"] == "2026-11-23T08:01:00+00:00"
    free = api.slots("svc_consultation", "loc_madrid", TUESDAY)
    assert TUE_9 in free and TUE_10 not in free


@pytest.mark.parametrize(
    ("when", "status", "code"),
    [
        ("2026-11-24T10:00:00+01:00", 409, "slot_unavailable"),  # someone else's
        ("2026-11-29T10:00:00+01:00", 400, "not_bookable"),  # a Sunday
        ("2026-11-20T10:00:00+01:00", 400, "not_bookable"),  # the past
    ],
)
def test_business_move_keeps_the_calendar_rules(
    sandbox: SandboxServer, api: Api, when: str, status: int, code: str
) -> None:
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    api.book("svc_consultation", TUE_10, "loc_madrid")
    with pytest.raises(ApiError) as error:
        sandbox.business_move(booked["id"], datetime.fromisoformat(when))
    assert (error.value.status, error.value.code) == (status, code)
    assert appointment(api, booked["id"])["appointment_time"] == TUE_9


def test_business_move_of_unknown_or_cancelled_appointments(
    sandbox: SandboxServer, api: Api
) -> None:
    with pytest.raises(ApiError) as unknown:
        sandbox.business_move("a_nope", datetime.fromisoformat(TUE_10))
    assert unknown.value.code == "appointment_not_found"
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    sandbox.business_cancel(booked["id"])
    with pytest.raises(ApiError) as cancelled:
        sandbox.business_move(booked["id"], datetime.fromisoformat(TUE_10))
    assert cancelled.value.code == "appointment_not_active"
    with pytest.raises(ValueError, match="timezone-aware"):
        sandbox.business_move(booked["id"], datetime(2026, 11, 24, 10))


# -- the same over the control API ----------------------------------------------------------


def test_control_api_changes_the_catalogue(api: Api, control: httpx.Client) -> None:
    removed = control.post("/services/svc_whitening/remove")
    assert removed.status_code == 200, removed.text
    assert removed.json()["id"] == "svc_whitening"
    assert_problem(control.post("/services/svc_whitening/remove"), 404, "service_not_found")
    assert "svc_whitening" not in [s["id"] for s in api.get("/services").json()["items"]]

    off = control.post("/locations/loc_milan/deactivate")
    assert off.json() == {**off.json(), "id": "loc_milan", "active": False}
    query = {"service_id": "svc_cleaning", "location_id": "loc_milan", "date": TUESDAY}
    assert_problem(api.get("/availability", **query), 400, "not_bookable")
    assert control.post("/locations/loc_milan/activate").json()["active"] is True
    assert api.get("/availability", **query).status_code == 200
    assert_problem(control.post("/locations/loc_nope/deactivate"), 404, "location_not_found")


def test_control_api_cancels_and_moves_appointments(
    sandbox: SandboxServer, api: Api, control: httpx.Client
) -> None:
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    path = f"/appointments/{booked['id']}"
    moved = control.post(f"{path}/move", json={"start_time": "2026-11-24T09:00:00Z"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["appointment_time"] == TUE_10
    assert appointment(api, booked["id"])["appointment_time"] == TUE_10
    assert_problem(control.post(f"{path}/move", json={}), 422, "validation_error")
    assert_problem(control.post(f"{path}/move", content=b"{"), 400, "invalid_request")
    cancelled = control.post(f"{path}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert appointment(api, booked["id"])["status"] == "cancelled"
    again = control.post(f"{path}/move", json={"start_time": TUE_9})
    assert_problem(again, 409, "appointment_not_active")
    assert_problem(control.post("/appointments/a_nope/cancel"), 404, "appointment_not_found")
    assert sandbox.stats.total_requests == 4  # book (hold, confirm) and two GETs: not control


def test_control_api_steers_the_clock(sandbox: SandboxServer, control: httpx.Client) -> None:
    assert control.get("/clock").json() == {"now": MONDAY.isoformat(), "frozen": True}
    later = control.post("/clock", json={"advance": 90}).json()
    assert later == {"now": "2026-11-23T08:01:30+00:00", "frozen": True}
    jumped = control.post("/clock", json={"now": "2027-10-31T02:30:00+01:00"}).json()
    assert jumped == {"now": "2027-10-31T01:30:00+00:00", "frozen": True}
    assert sandbox.clock.now() == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    ticking = control.post("/clock", json={"frozen": False}).json()
    assert ticking["frozen"] is False and not sandbox.clock.frozen
    assert control.post("/clock", json={"frozen": True}).json()["frozen"] is True
    for bad in ({"now": "soon"}, {"now": "2027-01-01T00:00:00"}, {"advance": "x"}):
        assert_problem(control.post("/clock", json=bad), 422, "validation_error")
    both = control.post("/clock", json={"now": MONDAY.isoformat(), "advance": 1})
    assert_problem(both, 422, "validation_error")


@pytest.mark.parametrize("sandbox_config", [config(control_api=False)], indirect=True)
def test_the_control_api_can_be_turned_off(control: httpx.Client) -> None:
    response = control.post("/services/svc_checkup/remove")
    assert response.status_code == 404
    assert "code" not in response.json()
