"""Slots on calendar edges: daylight-saving switch nights (built from instants), a zone without
a switch, 29 February and the turn of the year."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from sandbox.config import DEFAULT_SEED_PATH, SandboxConfig
from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem

H24 = "loc_madrid_24h"
SPRING = "2027-03-28"  # Madrid: 02:00 CET -> 03:00 CEST
AUTUMN = "2027-10-31"  # Madrid: 03:00 CEST -> 02:00 CET
REPEATED = ["02:00", "02:15", "02:30", "02:45"]
QUARTER = timedelta(minutes=15)


def day_slots(api: Api, service_id: str, location_id: str, day: str) -> list[dict[str, Any]]:
    response = api.get("/availability", service_id=service_id, location_id=location_id, date=day)
    assert response.status_code == 200, response.text
    [only] = response.json()["days"]
    assert only["date"] == day
    return only["slots"]


def instants(slots: list[dict[str, Any]], key: str = "start_time") -> list[datetime]:
    return [datetime.fromisoformat(s[key]) for s in slots]


def assert_steps(slots: list[dict[str, Any]], length: timedelta, step: timedelta) -> None:
    """Every slot lasts `length` in absolute time; consecutive starts are `step` apart."""
    starts, ends = instants(slots), instants(slots, "end_time")
    assert all(end - start == length for start, end in zip(starts, ends, strict=True))
    assert all(b - a == step for a, b in pairwise(starts))


def hold(api: Api, service_id: str, when: str) -> dict[str, Any]:
    response = api.hold(service_id, when, H24)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def before_spring(sandbox: SandboxServer) -> None:
    sandbox.clock.set(datetime(2027, 3, 27, 12, 0, tzinfo=UTC))


@pytest.fixture
def before_autumn(sandbox: SandboxServer) -> None:
    sandbox.clock.set(datetime(2027, 10, 30, 12, 0, tzinfo=UTC))


# -- spring: the hour from 02:00 to 03:00 does not exist ------------------------------------


@pytest.mark.usefixtures("before_spring")
def test_spring_night_offers_no_local_time_that_does_not_exist(api: Api) -> None:
    slots = day_slots(api, "svc_checkup", H24, SPRING)
    starts = [s["start_time"] for s in slots]
    assert not [s for s in starts if s[11:13] == "02"]
    assert len(slots) == 23 * 4  # a 23-hour day
    assert starts[0] == "2027-03-28T00:00:00+01:00"
    assert starts[7:9] == ["2027-03-28T01:45:00+01:00", "2027-03-28T03:00:00+02:00"]
    assert slots[7]["end_time"] == "2027-03-28T03:00:00+02:00"
    assert starts[-1] == "2027-03-28T23:45:00+02:00"
    assert slots[-1]["end_time"] == "2027-03-29T00:00:00+02:00"  # "24:00"
    assert_steps(slots, QUARTER, QUARTER)


@pytest.mark.usefixtures("before_spring")
def test_spring_night_steps_in_absolute_time_whatever_the_step(api: Api) -> None:
    slots = day_slots(api, "svc_urgent", H24, SPRING)  # 20 minutes, a slot every 20
    assert len(slots) == 23 * 3
    assert_steps(slots, timedelta(minutes=20), timedelta(minutes=20))
    starts = [s["start_time"][11:] for s in slots]
    assert starts[5:7] == ["01:40:00+01:00", "03:00:00+02:00"]


@pytest.mark.usefixtures("before_spring")
def test_a_time_named_in_the_old_offset_is_the_same_instant(api: Api) -> None:
    # 02:30+01:00 is a real instant (01:30 UTC): the slot the clocks show as 03:30+02:00.
    held = hold(api, "svc_urgent", "2027-03-28T02:40:00+01:00")
    assert held["appointment_time"] == "2027-03-28T03:40:00+02:00"
    assert held["end_time"] == "2027-03-28T04:00:00+02:00"
    off_grid = api.hold("svc_urgent", "2027-03-28T02:30:00+01:00", H24)
    assert_problem(off_grid, 400, "not_bookable")


# -- autumn: the hour from 02:00 to 03:00 happens twice -------------------------------------


@pytest.mark.usefixtures("before_autumn")
def test_autumn_night_offers_the_repeated_hour_twice(api: Api) -> None:
    slots = day_slots(api, "svc_checkup", H24, AUTUMN)
    starts = [s["start_time"] for s in slots]
    assert len(slots) == 25 * 4  # a 25-hour day
    for wall in REPEATED:
        assert [s for s in starts if s[11:16] == wall] == [
            f"{AUTUMN}T{wall}:00+02:00",
            f"{AUTUMN}T{wall}:00+01:00",
        ]
    second = starts.index(f"{AUTUMN}T02:00:00+01:00")
    assert starts[second - 1] == f"{AUTUMN}T02:45:00+02:00"
    assert slots[second - 1]["end_time"] == f"{AUTUMN}T02:00:00+01:00"
    assert starts[-1] == f"{AUTUMN}T23:45:00+01:00"
    assert_steps(slots, QUARTER, QUARTER)


@pytest.mark.usefixtures("before_autumn")
def test_each_repeated_time_can_be_held_and_they_are_distinct(api: Api) -> None:
    # Urgent care takes one customer per slot: a hold on the first 02:20 must not take the
    # second, and each comes back in the offset it was asked in.
    repeated = [f"{AUTUMN}T{w}:00{o}" for o in ("+02:00", "+01:00") for w in ("02:00", "02:20")]
    for when in repeated:
        held = hold(api, "svc_urgent", when)
        assert held["appointment_time"] == when
    for when in repeated:
        assert_problem(api.hold("svc_urgent", when, H24), 409, "slot_unavailable")
    left = [s["start_time"] for s in day_slots(api, "svc_urgent", H24, AUTUMN)]
    assert not set(repeated) & set(left)
    assert f"{AUTUMN}T02:40:00+02:00" in left
    assert f"{AUTUMN}T02:40:00+01:00" in left


@pytest.mark.usefixtures("before_autumn")
def test_every_repeated_quarter_holds_twice_on_a_two_place_service(api: Api) -> None:
    repeated = [f"{AUTUMN}T{w}:00{o}" for o in ("+02:00", "+01:00") for w in REPEATED]
    for when in repeated:
        for _ in range(2):  # Quick check-up has two places per slot
            assert hold(api, "svc_checkup", when)["appointment_time"] == when
    left = [s["start_time"] for s in day_slots(api, "svc_checkup", H24, AUTUMN)]
    assert not set(repeated) & set(left)
    assert {f"{AUTUMN}T01:45:00+02:00", f"{AUTUMN}T03:00:00+01:00"} <= set(left)


@pytest.mark.usefixtures("before_autumn")
def test_the_second_0230_is_confirmed_rescheduled_and_read_back_with_its_offset(
    api: Api, sandbox: SandboxServer
) -> None:
    first, second = f"{AUTUMN}T02:20:00+02:00", f"{AUTUMN}T02:20:00+01:00"
    booked = api.book("svc_urgent", second, H24)
    assert (booked["appointment_time"], booked["end_time"]) == (second, f"{AUTUMN}T02:40:00+01:00")
    path = f"/appointments/{booked['appointment_id']}"

    moved = api.post(
        "/appointments/reschedule", {"appointment_id": booked["id"], "start_time": first}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["appointment_time"] == first
    assert second in [s["start_time"] for s in day_slots(api, "svc_urgent", H24, AUTUMN)]

    back = api.patch(path, {"appointment_time": f"{AUTUMN}T01:20:00Z"})  # = the second 02:20
    assert back.status_code == 200, back.text
    assert back.json()["appointment_time"] == second
    assert api.get(path).json()["appointment_time"] == second
    [record] = sandbox.store.appointment_list()
    assert record.start == datetime(2027, 10, 31, 1, 20, tzinfo=UTC)


def test_during_the_second_0200_the_first_showing_is_past(sandbox: SandboxServer, api: Api) -> None:
    sandbox.clock.set(datetime(2027, 10, 31, 1, 0, tzinfo=UTC))  # the second 02:00 (+01:00)
    starts = [s["start_time"] for s in day_slots(api, "svc_checkup", H24, AUTUMN)]
    assert starts[0] == f"{AUTUMN}T02:15:00+01:00"
    past = api.hold("svc_checkup", f"{AUTUMN}T02:30:00+02:00", H24)
    assert_problem(past, 400, "not_bookable")
    assert hold(api, "svc_checkup", f"{AUTUMN}T02:30:00+01:00")["status"] == "held"


@pytest.mark.usefixtures("before_autumn")
def test_a_hold_given_in_utc_comes_back_in_the_branch_offset(api: Api) -> None:
    held = hold(api, "svc_checkup", f"{AUTUMN}T01:30:00Z")
    assert held["appointment_time"] == f"{AUTUMN}T02:30:00+01:00"
    assert held["end_time"] == f"{AUTUMN}T02:45:00+01:00"


# -- Mexico City: no switch since 2022 ------------------------------------------------------


@pytest.mark.parametrize("first_day", ["2027-04-01", "2027-10-28"])  # the old switch weekends
def test_mexico_city_has_no_switch(sandbox: SandboxServer, api: Api, first_day: str) -> None:
    sandbox.clock.set(datetime.fromisoformat(f"{first_day}T06:00:00+00:00"))
    response = api.get(
        "/availability", service_id="svc_checkup", location_id="loc_cdmx", days_ahead=7
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/Mexico_City"
    open_days = [d for d in body["days"] if not d["closed"]]
    assert open_days and all(d["slots"] for d in open_days)
    for day in open_days:
        starts = [s["start_time"] for s in day["slots"]]
        assert {s[-6:] for s in starts} == {"-06:00"}
        assert starts[0][11:16] == "09:00"
        assert_steps(day["slots"], QUARTER, QUARTER)
    closed = {d["date"] for d in body["days"] if d["closed"]}
    assert len(closed) == 1  # the Sunday
    assert body["holidays"] == {}


# -- 29 February, and the turn of the year --------------------------------------------------


def test_29_february_2028_is_a_day_like_any_other(sandbox: SandboxServer, api: Api) -> None:
    sandbox.clock.set(datetime(2028, 2, 28, 6, 0, tzinfo=UTC))
    slots = day_slots(api, "svc_consultation", "loc_madrid", "2028-02-29")  # a Tuesday
    assert slots[0]["start_time"] == "2028-02-29T09:00:00+01:00"
    assert slots[-1]["end_time"] == "2028-02-29T20:00:00+01:00"
    response = api.get(
        "/availability", service_id="svc_consultation", location_id="loc_madrid", days_ahead=3
    )
    assert [d["date"] for d in response.json()["days"]] == [
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]
    held = api.hold("svc_consultation", "2028-02-29T19:30:00+01:00", "loc_madrid")
    assert held.status_code == 201, held.text
    assert held.json()["end_time"] == "2028-02-29T20:00:00+01:00"


def test_days_ahead_across_the_year_end(sandbox: SandboxServer, api: Api) -> None:
    sandbox.clock.set(datetime(2027, 12, 30, 15, 0, tzinfo=UTC))  # 09:00 in Mexico City
    response = api.get(
        "/availability", service_id="svc_checkup", location_id="loc_cdmx", days_ahead=4
    )
    body = response.json()
    days = {d["date"]: d for d in body["days"]}
    assert list(days) == ["2027-12-30", "2027-12-31", "2028-01-01", "2028-01-02"]
    assert days["2027-12-30"]["slots"][0]["start_time"] == "2027-12-30T09:15:00-06:00"
    assert days["2027-12-31"]["slots"][-1]["end_time"] == "2027-12-31T19:00:00-06:00"
    assert days["2028-01-01"] == {
        "date": "2028-01-01",
        "closed": True,
        "holiday": {"name": "Año Nuevo", "note": None},
        "slots": [],
    }
    assert (days["2028-01-02"]["closed"], days["2028-01-02"]["holiday"]) == (True, None)  # Sunday
    assert body["holidays"] == {"2028-01-01": {"name": "Año Nuevo", "note": None}}


def test_the_last_slots_of_the_year_round_the_clock(sandbox: SandboxServer, api: Api) -> None:
    sandbox.clock.set(datetime(2027, 12, 31, 22, 0, tzinfo=UTC))  # 23:00 in Madrid
    response = api.get("/availability", service_id="svc_urgent", days_ahead=3)
    body = response.json()
    days = {d["date"]: d for d in body["days"]}
    assert list(days) == ["2027-12-31", "2028-01-01", "2028-01-02"]
    assert [s["start_time"][11:16] for s in days["2027-12-31"]["slots"]] == ["23:20", "23:40"]
    assert days["2027-12-31"]["slots"][-1]["end_time"] == "2028-01-01T00:00:00+01:00"
    assert days["2028-01-01"]["holiday"]["name"] == "Año Nuevo"
    assert len(days["2028-01-02"]["slots"]) == 24 * 3


def test_today_in_mexico_city_is_still_last_year(sandbox: SandboxServer, api: Api) -> None:
    sandbox.clock.set(datetime(2028, 1, 1, 3, 0, tzinfo=UTC))  # 21:00 on 31 Dec in Mexico City
    response = api.get(
        "/availability", service_id="svc_checkup", location_id="loc_cdmx", days_ahead=2
    )
    assert [d["date"] for d in response.json()["days"]] == ["2027-12-31", "2028-01-01"]


# -- opening hours that fall inside the switch hour -----------------------------------------


def night_branch_seed() -> dict[str, Any]:
    """One Madrid branch open on Sunday nights only, 02:30 to 04:00 and 01:00 to 02:30."""
    raw = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    night = {
        "id": "loc_night",
        "timezone": "Europe/Madrid",
        "opening_hours": {"sun": [["01:00", "02:30"], ["02:30", "04:00"]]},
    }
    return {**raw, "locations": [night], "services": [raw["services"][0]]}


@pytest.mark.parametrize(
    "sandbox_config",
    [SandboxConfig(seed=night_branch_seed(), now=datetime(2027, 3, 1, tzinfo=UTC))],
    indirect=True,
)
def test_opening_hours_inside_the_switch_hour(api: Api) -> None:
    spring = [s["start_time"][11:] for s in day_slots(api, "svc_checkup", "loc_night", SPRING)]
    # 01:00-02:30 closes when the clocks jump (03:00+02:00); 02:30-04:00 opens then.
    assert spring == [
        *(f"01:{m:02d}:00+01:00" for m in (0, 15, 30, 45)),
        *(f"03:{m:02d}:00+02:00" for m in (0, 15, 30, 45)),
    ]
    autumn = [s["start_time"][11:] for s in day_slots(api, "svc_checkup", "loc_night", AUTUMN)]
    # 02:30 is shown twice: both intervals take its first showing, so they meet without a gap
    # or an overlap, and the night from 01:00+02:00 to 04:00+01:00 (4 hours) is all slots.
    first = [f"01:{m:02d}:00+02:00" for m in (0, 15, 30, 45)]
    late = [f"03:{m:02d}:00+01:00" for m in (0, 15, 30, 45)]
    repeated = [f"{w}:00{o}" for o in ("+02:00", "+01:00") for w in REPEATED]
    assert autumn == first + repeated + late
