"""Holds: they block capacity, expire on the clock, can be released, and refuse bad times."""

from __future__ import annotations

import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem, config

TUE_9 = "2026-11-24T09:00:00+01:00"


def test_a_hold_blocks_the_last_place(sandbox: SandboxServer, api: Api) -> None:
    held = api.hold("svc_consultation", TUE_9, "loc_madrid")
    assert held.status_code == 201
    body = held.json()
    assert body["hold_id"].startswith("h_")
    assert body == {
        **body,
        "status": "held",
        "service_id": "svc_consultation",
        "location_id": "loc_madrid",
        "appointment_time": TUE_9,
        "end_time": "2026-11-24T09:30:00+01:00",
        "expires_at": "2026-11-23T08:10:00+00:00",
    }
    assert TUE_9 not in api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    body = assert_problem(
        api.hold("svc_consultation", TUE_9, "loc_madrid"), 409, "slot_unavailable"
    )
    assert body["error"]["details"]["appointment_time"] == TUE_9
    assert [h.hold_id for h in sandbox.store.active_holds()] == [held.json()["hold_id"]]


def test_a_hold_at_one_branch_leaves_the_others_free(api: Api) -> None:
    assert api.hold("svc_consultation", TUE_9, "loc_madrid").status_code == 201
    assert TUE_9 in api.slots("svc_consultation", "loc_milan", "2026-11-24")
    assert api.hold("svc_consultation", TUE_9, "loc_milan").status_code == 201


def test_capacity_two_takes_two_holds(api: Api) -> None:
    when = "2026-11-24T10:00:00+01:00"
    assert api.hold("svc_checkup", when, "loc_berlin").status_code == 201
    assert when in api.slots("svc_checkup", "loc_berlin", "2026-11-24")
    assert api.hold("svc_checkup", when, "loc_berlin").status_code == 201
    assert when not in api.slots("svc_checkup", "loc_berlin", "2026-11-24")
    assert_problem(api.hold("svc_checkup", when, "loc_berlin"), 409, "slot_unavailable")


def test_overlapping_slots_block_each_other(api: Api) -> None:
    # Whitening lasts 90 minutes with a slot every hour: 09:00-10:30 also takes 10:00.
    assert api.hold("svc_whitening", TUE_9).status_code == 201
    hours = [s[11:16] for s in api.slots("svc_whitening", None, "2026-11-24")]
    assert hours[:2] == ["11:00", "14:00"]
    assert_problem(api.hold("svc_whitening", "2026-11-24T10:00:00+01:00"), 409, "slot_unavailable")


def test_the_same_instant_in_another_offset_is_the_same_slot(api: Api) -> None:
    assert api.hold("svc_consultation", TUE_9, "loc_madrid").status_code == 201
    for same in ("2026-11-24T08:00:00Z", "2026-11-24T03:00:00-05:00"):
        assert_problem(api.hold("svc_consultation", same, "loc_madrid"), 409, "slot_unavailable")


def test_answers_are_in_the_branch_local_offset(api: Api) -> None:
    held = api.hold("svc_physio", "2026-11-24T09:00:00Z")
    assert held.status_code == 201
    assert held.json()["appointment_time"] == "2026-11-24T10:00:00+01:00"


def test_an_expired_hold_frees_the_slot(sandbox: SandboxServer, api: Api) -> None:
    first = api.hold("svc_consultation", TUE_9, "loc_madrid").json()
    sandbox.clock.advance(599)
    assert TUE_9 not in api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    sandbox.clock.advance(1)
    assert sandbox.store.active_holds() == []
    assert TUE_9 in api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    assert api.hold("svc_consultation", TUE_9, "loc_madrid").status_code == 201
    late = api.post(
        "/appointments/confirm",
        {"hold_id": first["hold_id"], "contact_name": "Ana", "contact_email": "ana@example.com"},
    )
    body = assert_problem(late, 410, "hold_expired")
    assert body["error"]["details"]["reason"] == "expired"


@pytest.mark.parametrize("sandbox_config", [config(hold_ttl=30)], indirect=True)
def test_hold_lifetime_is_configurable(sandbox: SandboxServer, api: Api) -> None:
    body = api.hold("svc_physio", "2026-11-24T10:00:00+01:00").json()
    assert body["expires_at"] == "2026-11-23T08:00:30+00:00"
    sandbox.clock.advance(30)
    assert sandbox.store.active_holds() == []


def test_release_frees_the_slot_and_can_be_repeated(sandbox: SandboxServer, api: Api) -> None:
    hold_id = api.hold("svc_consultation", TUE_9, "loc_madrid").json()["hold_id"]
    for _ in range(2):
        released = api.delete(f"/appointments/hold/{hold_id}")
        assert released.status_code == 200
        assert released.json() == {"hold_id": hold_id, "status": "released"}
    assert TUE_9 in api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    assert sandbox.store.holds[hold_id].status == "released"
    assert_problem(api.delete("/appointments/hold/h_unknown"), 404, "hold_not_found")


def test_a_released_hold_cannot_be_confirmed(api: Api) -> None:
    hold_id = api.hold("svc_physio", "2026-11-24T10:00:00+01:00").json()["hold_id"]
    api.delete(f"/appointments/hold/{hold_id}")
    response = api.post(
        "/appointments/confirm",
        {"hold_id": hold_id, "contact_name": "Ana", "contact_email": "ana@example.com"},
    )
    assert assert_problem(response, 410, "hold_expired")["error"]["details"]["reason"] == "released"


@pytest.mark.parametrize(
    ("service_id", "location_id", "when", "why"),
    [
        ("svc_consultation", "loc_madrid", "2026-11-23T08:30:00+01:00", "past"),
        ("svc_consultation", "loc_madrid", "2026-11-29T10:00:00+01:00", "closed"),  # Sunday
        ("svc_consultation", "loc_milan", "2026-11-30T10:00:00+01:00", "closed"),  # Monday
        ("svc_consultation", "loc_madrid", "2026-12-08T10:00:00+01:00", "holiday"),
        ("svc_consultation", "loc_madrid", "2026-11-24T21:00:00+01:00", "outside"),
        ("svc_consultation", "loc_madrid", "2026-11-24T14:30:00+01:00", "outside"),  # lunch
        ("svc_consultation", "loc_madrid", "2026-11-24T13:45:00+01:00", "outside"),  # runs over
        ("svc_consultation", "loc_madrid", "2026-11-24T09:10:00+01:00", "outside"),  # off-grid
        ("svc_physio", "loc_madrid", "2026-11-24T10:00:00+01:00", "not offered"),
    ],
)
def test_unbookable_times_are_400_not_bookable(
    api: Api, service_id: str, location_id: str, when: str, why: str
) -> None:
    assert_problem(api.hold(service_id, when, location_id), 400, "not_bookable")


def test_a_holiday_hold_names_the_holiday(api: Api) -> None:
    body = assert_problem(
        api.hold("svc_cleaning", "2026-12-07T10:00:00+01:00", "loc_milan"), 400, "not_bookable"
    )
    assert "Sant'Ambrogio" in body["detail"]


def test_location_required_for_a_multi_branch_service(api: Api) -> None:
    assert_problem(api.hold("svc_consultation", TUE_9), 400, "location_required")


def test_the_italian_body_and_unknown_fields_are_accepted(api: Api) -> None:
    held = api.post(
        "/appointments/hold",
        {
            "organization_id": "org_demo",
            "service_id": "svc_whitening",
            "appointment_time": TUE_9,
            "appointment_duration": 90,
            "note": "ignored",
        },
    )
    assert held.status_code == 201, held.text
    assert held.json()["location_id"] == "loc_milan"
    assert held.json()["end_time"] == "2026-11-24T10:30:00+01:00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"appointment_time": TUE_9}, "service_id"),
        ({"service_id": "svc_physio"}, "appointment_time"),
        ({"service_id": "svc_physio", "appointment_time": "tomorrow"}, "appointment_time"),
        (
            {"service_id": "svc_physio", "appointment_time": "2026-11-24T09:00:00"},
            "appointment_time",
        ),
    ],
)
def test_missing_or_malformed_fields_are_422(api: Api, body: dict[str, str], field: str) -> None:
    problem = assert_problem(api.post("/appointments/hold", body), 422, "validation_error")
    assert problem["error"]["details"]["field"] == field
    assert field in problem["detail"]


def test_a_body_that_is_not_json_is_400(api: Api) -> None:
    response = api.http.post("/appointments/hold", content=b"{nope", headers=api._headers(None))
    assert_problem(response, 400, "invalid_request")


def test_unknown_service_is_404(api: Api) -> None:
    assert_problem(api.hold("svc_nope", TUE_9, "loc_madrid"), 404, "service_not_found")
