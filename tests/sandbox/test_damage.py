"""The damage knob: a field of the next successful answers removed or replaced with garbage."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import SSL, Api

TUESDAY = "2026-11-24"
SUNDAY = "2026-11-29"
MADRID_CHECKUP = {"service_id": "svc_checkup", "location_id": "loc_madrid"}


def test_garble_a_field_of_every_item(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.damage("GET", "/locations", "items[].timezone", mode="garble")
    damaged = api.get("/locations")
    assert damaged.status_code == 200
    items = damaged.json()["items"]
    assert [loc["timezone"] for loc in items] == [12345] * len(items)  # a number, not a string
    assert all(loc["name"] for loc in items)  # only that field
    assert {loc["timezone"] for loc in api.get("/locations").json()["items"]} >= {"Europe/Madrid"}


def test_remove_a_nested_field_in_days_but_not_in_the_flat_list(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.faults.damage("GET", "/availability", "days[].slots[].start_time")
    body = api.get("/availability", **MADRID_CHECKUP, date=TUESDAY).json()
    [day] = body["days"]
    assert day["slots"] and all("start_time" not in s and "end_time" in s for s in day["slots"])
    assert all("start_time" in s for s in body["slots"])


def test_garble_one_item_with_a_non_date(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.damage("GET", "/availability", "slots[0].start_time", mode="garble")
    slots = api.get("/availability", **MADRID_CHECKUP, date=TUESDAY).json()["slots"]
    assert slots[0]["start_time"] == "not-a-date"
    assert slots[1]["start_time"] == "2026-11-24T09:15:00+01:00"


def test_times_counts_answers_that_had_the_field(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.damage("GET", "/availability", "slots[].start_time", times=2)
    sunday = api.get("/availability", **MADRID_CHECKUP, date=SUNDAY).json()
    assert sunday["slots"] == []  # nothing to damage: does not count
    for _ in range(2):
        slots = api.get("/availability", **MADRID_CHECKUP, date=TUESDAY).json()["slots"]
        assert "start_time" not in slots[0]
    slots = api.get("/availability", **MADRID_CHECKUP, date=TUESDAY).json()["slots"]
    assert slots[0]["start_time"] == "2026-11-24T09:00:00+01:00"


def test_errors_are_left_alone_and_routes_match_by_template(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.faults.damage("GET", "/appointments/{appointment_id}", "appointment_time", "garble")
    missing = api.get("/appointments/a_nope")
    assert missing.json()["code"] == "appointment_not_found"
    booked = api.book("svc_checkup", "2026-11-24T09:00:00+01:00", "loc_madrid")
    assert booked["appointment_time"] == "2026-11-24T09:00:00+01:00"  # another route
    damaged = api.get(f"/appointments/{booked['id']}").json()
    assert damaged["appointment_time"] == "not-a-date"
    assert api.get(f"/appointments/{booked['id']}").json()["appointment_time"].startswith("2026")


def test_chosen_garbage_and_a_replay(sandbox: SandboxServer, api: Api) -> None:
    body = {"service_id": "svc_checkup", "appointment_time": "2026-11-24T09:00:00+01:00"}
    body["location_id"] = "loc_madrid"
    first = api.post("/appointments/hold", body, key="k1").json()
    sandbox.faults.damage("POST", "/appointments/hold", "expires_at", "garble", garbage=None)
    replay = api.post("/appointments/hold", body, key="k1")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {**first, "expires_at": None}
    assert api.post("/appointments/hold", body, key="k1").json() == first  # stored intact


@pytest.mark.parametrize(
    ("path", "mode"),
    [("items[]", "remove"), ("items[].", "remove"), ("items..id", "remove"), ("id", "melt")],
)
def test_bad_damage_requests_are_refused(sandbox: SandboxServer, path: str, mode: str) -> None:
    with pytest.raises(ValueError):
        sandbox.faults.damage("GET", "/locations", path, mode=mode)


def test_clear_and_the_control_api(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.damage("GET", "/locations", "items[].id")
    sandbox.faults.clear()
    assert all("id" in loc for loc in api.get("/locations").json()["items"])
    with httpx.Client(base_url=sandbox.control_url, verify=SSL) as control:
        rule = {"method": "get", "route": "/services", "field_path": "items[].duration_minutes"}
        armed = control.post("/faults/damage", json={**rule, "mode": "garble", "times": 1})
        assert armed.status_code == 200, armed.text
        services = api.get("/services").json()["items"]
        assert {s["duration_minutes"] for s in services} == {"many"}  # a string, not a number
        bad = control.post("/faults/damage", json={**rule, "mode": "melt"})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "validation_error"
        control.post("/faults/damage", json={**rule, "times": 3})
        assert control.post("/faults/clear").json() == {"cleared": True}
    assert all("duration_minutes" in s for s in api.get("/services").json()["items"])
