"""GET /availability: both variants, opening hours, closed days, holidays, location_required."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem

TUESDAY = "2026-11-24"


def availability(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get("/availability", **params)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_day_lists_the_slot_grid_in_local_time(api: Api) -> None:
    body = availability(api, service_id="svc_consultation", location_id="loc_madrid", date=TUESDAY)
    assert (body["service_id"], body["location_id"], body["timezone"]) == (
        "svc_consultation",
        "loc_madrid",
        "Europe/Madrid",
    )
    [day] = body["days"]
    assert day == {**day, "date": TUESDAY, "closed": False, "holiday": None}
    starts = [s["start_time"] for s in day["slots"]]
    morning = [f"2026-11-24T{h:02d}:{m:02d}:00+01:00" for h in range(9, 14) for m in (0, 30)]
    evening = [f"2026-11-24T{h:02d}:{m:02d}:00+01:00" for h in range(16, 20) for m in (0, 30)]
    assert starts == morning + evening
    first = day["slots"][0]
    assert first["end_time"] == "2026-11-24T09:30:00+01:00"
    assert first["team_member_ids"] == ["tm_ana", "tm_luca", "tm_jonas"]
    assert body["slots"] == day["slots"]
    assert body["holidays"] == {}


def test_slots_already_started_today_are_not_listed(api: Api) -> None:
    # The clock is Monday 09:00 in Madrid.
    body = availability(
        api, service_id="svc_consultation", location_id="loc_madrid", date="2026-11-23"
    )
    assert body["slots"][0]["start_time"] == "2026-11-23T09:30:00+01:00"


def test_past_day_has_no_slots(api: Api) -> None:
    body = availability(api, service_id="svc_physio", date="2026-11-20")
    assert body["slots"] == []


def test_days_ahead_covers_n_days_from_today_with_the_weekly_closed_day(api: Api) -> None:
    body = availability(api, service_id="svc_consultation", location_id="loc_milan", days_ahead=7)
    days = {d["date"]: d for d in body["days"]}
    assert list(days) == [f"2026-11-{d}" for d in range(23, 30)]
    for closed in ("2026-11-23", "2026-11-29"):  # Milan closes on Monday and Sunday
        assert days[closed]["closed"] is True
        assert days[closed]["slots"] == []
        assert days[closed]["holiday"] is None
    assert days["2026-11-24"]["slots"][0]["start_time"] == "2026-11-24T09:00:00+01:00"
    flat = [s for d in body["days"] for s in d["slots"]]
    assert body["slots"] == flat


def test_slot_step_and_duration_fit_opening_hours(api: Api) -> None:
    # Teeth whitening: 90 minutes, a slot every 60; Milan opens 09-13 and 14-19 on Tuesdays.
    starts = api.slots("svc_whitening", None, TUESDAY)
    hours = [s[11:16] for s in starts]
    assert hours == ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00", "17:00"]


def test_holidays_appear_in_the_holiday_map_and_close_the_day(
    sandbox: SandboxServer, api: Api
) -> None:
    sandbox.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    api.login()
    body = availability(api, service_id="svc_cleaning", location_id="loc_milan", days_ahead=40)
    holidays = body["holidays"]
    assert holidays["2026-12-07"] == {"name": "Sant'Ambrogio", "note": "Patron saint of Milan"}
    for day in ("2026-12-08", "2026-12-25", "2026-12-26", "2027-01-01", "2027-01-06"):
        assert holidays[day]["name"]
    days = {d["date"]: d for d in body["days"]}
    assert days["2026-12-07"]["holiday"]["name"] == "Sant'Ambrogio"
    assert days["2026-12-07"]["closed"] is True
    assert days["2026-12-07"]["slots"] == []
    assert days["2026-12-09"]["holiday"] is None
    assert days["2026-12-09"]["slots"]


@pytest.mark.parametrize(
    ("location_id", "expected"),
    [
        ("loc_madrid", {"2026-12-07", "2026-12-08", "2026-12-25", "2027-01-01", "2027-01-06"}),
        ("loc_berlin", {"2026-12-25", "2026-12-26", "2027-01-01"}),
    ],
)
def test_each_branch_has_its_own_holidays(
    sandbox: SandboxServer, api: Api, location_id: str, expected: set[str]
) -> None:
    sandbox.clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    api.login()
    body = availability(api, service_id="svc_checkup", location_id=location_id, days_ahead=40)
    assert expected <= set(body["holidays"])
    assert "2026-12-07" not in body["holidays"] or location_id == "loc_madrid"


def test_location_required_when_the_service_is_at_several_branches(api: Api) -> None:
    body = assert_problem(
        api.get("/availability", service_id="svc_consultation", date=TUESDAY),
        400,
        "location_required",
    )
    assert sorted(body["error"]["details"]["location_ids"]) == [
        "loc_berlin",
        "loc_cdmx",
        "loc_madrid",
        "loc_milan",
    ]


def test_no_location_needed_for_a_single_branch_service(api: Api) -> None:
    body = availability(api, service_id="svc_physio", date=TUESDAY)
    assert body["location_id"] == "loc_berlin"
    assert body["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        (
            {"service_id": "svc_physio", "location_id": "loc_madrid", "date": TUESDAY},
            400,
            "not_bookable",
        ),
        ({"service_id": "svc_nope", "date": TUESDAY}, 404, "service_not_found"),
        (
            {"service_id": "svc_checkup", "location_id": "loc_nope", "date": TUESDAY},
            404,
            "location_not_found",
        ),
        ({"service_id": "svc_physio"}, 400, "invalid_request"),
        ({"date": TUESDAY}, 400, "invalid_request"),
        ({"service_id": "svc_physio", "date": "24/11/2026"}, 400, "invalid_request"),
        ({"service_id": "svc_physio", "days_ahead": 0}, 400, "invalid_request"),
        ({"service_id": "svc_physio", "days_ahead": "x"}, 400, "invalid_request"),
    ],
)
def test_bad_availability_requests(
    api: Api, params: dict[str, Any], status: int, code: str
) -> None:
    assert_problem(api.get("/availability", **params), status, code)


def test_today_follows_the_location_timezone(sandbox: SandboxServer, api: Api) -> None:
    # 23:30 UTC on Monday is already Tuesday in Madrid.
    sandbox.clock.set(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    api.login()
    body = availability(api, service_id="svc_consultation", location_id="loc_madrid", days_ahead=1)
    assert [d["date"] for d in body["days"]] == [TUESDAY]
    assert sandbox.clock.now() - datetime(2026, 11, 23, 23, 30, tzinfo=UTC) == timedelta(0)
