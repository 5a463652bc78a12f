"""How far ahead the business opens (`open_days`): days past it have no slots, in both forms
the sandbox offers for what Zimun's docs leave unsaid, and a hold there is not bookable."""

from __future__ import annotations

import pytest

from sandbox.config import BEYOND_ABSENT
from tests.sandbox.conftest import Api, assert_problem, config

MADRID = {"service_id": "svc_consultation", "location_id": "loc_madrid"}
LAST_OPEN, FIRST_SHUT = "2026-11-29", "2026-11-30"  # seven days from Monday the 23rd
SHUT_MONDAY_10 = "2026-11-30T10:00:00+01:00"


def hold_beyond(api: Api) -> None:
    response = api.post(
        "/appointments/hold", {**MADRID, "appointment_time": SHUT_MONDAY_10}, key="k1"
    )
    assert_problem(response, 400, "not_bookable")
    assert "not open for booking yet" in response.json()["detail"]


@pytest.mark.parametrize("sandbox_config", [config(open_days=7)], indirect=True)
def test_empty_form_lists_the_days_past_the_window_without_slots(api: Api) -> None:
    body = api.get("/availability", **MADRID, days_ahead=14).json()
    days = {d["date"]: d for d in body["days"]}
    assert len(days) == 14
    assert days["2026-11-28"]["slots"]  # Saturday, inside
    assert days[FIRST_SHUT] == {"date": FIRST_SHUT, "closed": False, "holiday": None, "slots": []}
    assert max(s["start_time"] for s in body["slots"]) < FIRST_SHUT
    [day] = api.get("/availability", **MADRID, date=FIRST_SHUT).json()["days"]
    assert day["slots"] == []
    hold_beyond(api)


@pytest.mark.parametrize(
    "sandbox_config", [config(open_days=7, beyond=BEYOND_ABSENT)], indirect=True
)
def test_absent_form_cuts_the_range_and_refuses_a_later_day(api: Api) -> None:
    body = api.get("/availability", **MADRID, days_ahead=14).json()
    assert [d["date"] for d in body["days"]][-1] == LAST_OPEN
    assert len(body["days"]) == 7
    response = api.get("/availability", **MADRID, date=FIRST_SHUT)
    assert_problem(response, 400, "not_bookable")
    assert response.json()["error"]["details"]["date"] == FIRST_SHUT
    hold_beyond(api)


def test_unbounded_by_default(api: Api) -> None:
    body = api.get("/availability", **MADRID, days_ahead=92).json()
    assert len(body["days"]) == 92
    assert body["days"][-1]["slots"] or body["days"][-2]["slots"]
