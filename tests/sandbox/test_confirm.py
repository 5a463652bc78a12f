"""Confirming a hold, reading and listing appointments."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem

TUE_9 = "2026-11-24T09:00:00+01:00"


def confirm(api: Api, hold: str, **changes: Any) -> Any:
    body = {"hold_id": hold, "contact_name": "Ana Test", "contact_email": "ana@example.com"}
    body.update(changes)
    return api.post("/appointments/confirm", {k: v for k, v in body.items() if v is not None})


def test_confirm_turns_the_hold_into_an_appointment(sandbox: SandboxServer, api: Api) -> None:
    hold_id = api.hold("svc_consultation", TUE_9, "loc_madrid").json()["hold_id"]
    response = confirm(api, hold_id)
    assert response.status_code == 201
    body = response.json()
    assert body["appointment_id"].startswith("a_")
    assert body["booking_id"] == body["appointment_id"]
    assert body == {
        **body,
        "status": "confirmed",
        "service_id": "svc_consultation",
        "location_id": "loc_madrid",
        "appointment_time": TUE_9,
        "end_time": "2026-11-24T09:30:00+01:00",
        "contact_name": "Ana Test",
        "contact_email": "ana@example.com",
        "created_at": "2026-11-23T08:00:00+00:00",
    }
    assert sandbox.store.active_holds() == []
    [stored] = sandbox.store.appointment_list()
    assert (stored.id, stored.status, stored.contact_email) == (
        body["appointment_id"],
        "confirmed",
        "ana@example.com",
    )
    assert TUE_9 not in api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    assert api.get(f"/appointments/{stored.id}").json() == body


def test_confirming_twice_is_409_hold_already_confirmed(api: Api) -> None:
    hold_id = api.hold("svc_physio", "2026-11-24T10:00:00+01:00").json()["hold_id"]
    first = confirm(api, hold_id).json()
    body = assert_problem(confirm(api, hold_id), 409, "hold_already_confirmed")
    assert body["error"]["details"]["appointment_id"] == first["appointment_id"]
    assert_problem(api.delete(f"/appointments/hold/{hold_id}"), 409, "hold_already_confirmed")


def test_unknown_hold_is_404(api: Api) -> None:
    assert_problem(confirm(api, "h_nope"), 404, "hold_not_found")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_email": "a@b"}, "contact_email"),
        ({"contact_email": None}, "contact_email"),
        ({"contact_name": None}, "contact_name"),
        ({"contact_name": "   "}, "contact_name"),
        ({"contact_name": "x" * 201}, "contact_name"),
        ({"hold_id": None}, "hold_id"),
    ],
)
def test_invalid_contact_is_422(
    sandbox: SandboxServer, api: Api, changes: dict[str, Any], field: str
) -> None:
    hold_id = api.hold("svc_physio", "2026-11-24T10:00:00+01:00").json()["hold_id"]
    body = assert_problem(confirm(api, hold_id, **changes), 422, "validation_error")
    assert body["error"]["details"]["field"] == field
    assert sandbox.store.appointment_list() == []
    assert len(sandbox.store.active_holds()) == 1


def test_get_unknown_appointment_is_404(api: Api) -> None:
    assert_problem(api.get("/appointments/a_nope"), 404, "appointment_not_found")


def test_list_appointments_pages_and_filters(api: Api) -> None:
    times = [f"2026-11-24T{h}:00:00+01:00" for h in ("09", "10", "11")]
    booked = [api.book("svc_physio", t)["appointment_id"] for t in times]
    api.post("/appointments/cancel", {"appointment_id": booked[1]})
    first = api.get("/appointments", page_size=2).json()
    assert [a["appointment_id"] for a in first["items"]] == booked[:2]
    second = api.get("/appointments", page_size=2, page_token=first["next_page_token"]).json()
    assert [a["appointment_id"] for a in second["items"]] == booked[2:]
    assert second["next_page_token"] is None
    confirmed = api.get("/appointments", status="confirmed").json()["items"]
    assert [a["appointment_id"] for a in confirmed] == [booked[0], booked[2]]
    assert api.get("/appointments", location_id="loc_madrid").json()["items"] == []
