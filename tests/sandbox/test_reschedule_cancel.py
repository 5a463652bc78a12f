"""Reschedule and cancel in each of the three documented forms, and how absent forms answer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem, config

TUE_9 = "2026-11-24T09:00:00+01:00"
TUE_10 = "2026-11-24T10:00:00+01:00"
TUE_11 = "2026-11-24T11:00:00+01:00"

Move = Callable[[Api, str, str], httpx.Response]
Cancel = Callable[[Api, str], httpx.Response]

FORMS: dict[str, tuple[Move, Cancel]] = {
    "appointment_id": (
        lambda api, a, t: api.post(
            "/appointments/reschedule", {"appointment_id": a, "start_time": t}
        ),
        lambda api, a: api.post("/appointments/cancel", {"appointment_id": a}),
    ),
    "booking_id": (
        lambda api, a, t: api.post("/appointments/reschedule", {"booking_id": a, "start_time": t}),
        lambda api, a: api.post("/appointments/cancel", {"booking_id": a}),
    ),
    "patch": (
        lambda api, a, t: api.patch(f"/appointments/{a}", {"appointment_time": t}),
        lambda api, a: api.patch(f"/appointments/{a}", {"status": "cancelled"}),
    ),
}


@pytest.fixture(params=sorted(FORMS))
def form(request: pytest.FixtureRequest) -> tuple[Move, Cancel]:
    return FORMS[request.param]


def test_reschedule_moves_the_booking(api: Api, form: tuple[Move, Cancel]) -> None:
    move, _ = form
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    response = move(api, booked["appointment_id"], TUE_10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["appointment_id"] == booked["appointment_id"]
    assert (body["appointment_time"], body["end_time"], body["status"]) == (
        TUE_10,
        "2026-11-24T10:30:00+01:00",
        "confirmed",
    )
    free = api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    assert TUE_9 in free
    assert TUE_10 not in free
    assert api.get(f"/appointments/{body['appointment_id']}").json()["appointment_time"] == TUE_10


def test_reschedule_onto_a_taken_slot_is_409(api: Api, form: tuple[Move, Cancel]) -> None:
    move, _ = form
    mine = api.book("svc_consultation", TUE_9, "loc_madrid")
    api.book("svc_consultation", TUE_10, "loc_madrid")
    assert_problem(move(api, mine["appointment_id"], TUE_10), 409, "slot_unavailable")
    assert api.hold("svc_consultation", TUE_11, "loc_madrid").status_code == 201
    assert_problem(move(api, mine["appointment_id"], TUE_11), 409, "slot_unavailable")
    assert api.get(f"/appointments/{mine['appointment_id']}").json()["appointment_time"] == TUE_9


def test_reschedule_to_its_own_time_or_within_capacity(api: Api, form: tuple[Move, Cancel]) -> None:
    move, _ = form
    mine = api.book("svc_consultation", TUE_9, "loc_madrid")
    assert move(api, mine["appointment_id"], TUE_9).status_code == 200


def test_reschedule_to_an_unbookable_time_is_400(api: Api, form: tuple[Move, Cancel]) -> None:
    move, _ = form
    mine = api.book("svc_consultation", TUE_9, "loc_madrid")
    sunday = "2026-11-29T10:00:00+01:00"
    assert_problem(move(api, mine["appointment_id"], sunday), 400, "not_bookable")


def test_cancel_frees_the_slot_and_repeats_quietly(
    sandbox: SandboxServer, api: Api, form: tuple[Move, Cancel]
) -> None:
    move, cancel = form
    booked = api.book("svc_consultation", TUE_9, "loc_madrid")
    for _ in range(2):
        response = cancel(api, booked["appointment_id"])
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
    assert TUE_9 in api.slots("svc_consultation", "loc_madrid", "2026-11-24")
    assert sandbox.store.appointments[booked["appointment_id"]].status == "cancelled"
    assert_problem(move(api, booked["appointment_id"], TUE_10), 409, "appointment_not_active")


def test_unknown_appointment_is_404(api: Api, form: tuple[Move, Cancel]) -> None:
    move, cancel = form
    assert_problem(move(api, "a_nope", TUE_10), 404, "appointment_not_found")
    assert_problem(cancel(api, "a_nope"), 404, "appointment_not_found")


def test_patch_validates_its_body(api: Api) -> None:
    booked = api.book("svc_physio", TUE_9)
    path = f"/appointments/{booked['appointment_id']}"
    assert_problem(api.patch(path, {}), 422, "validation_error")
    assert_problem(api.patch(path, {"status": "confirmed"}), 422, "validation_error")
    both = {"status": "cancelled", "appointment_time": TUE_10}
    assert_problem(api.patch(path, both), 422, "validation_error")


def test_post_reschedule_needs_a_start_time(api: Api) -> None:
    booked = api.book("svc_physio", TUE_9)
    body = assert_problem(
        api.post("/appointments/reschedule", {"appointment_id": booked["appointment_id"]}),
        422,
        "validation_error",
    )
    assert body["error"]["details"]["field"] == "start_time"


# -- servers that offer only some forms ----------------------------------------------------

ONLY_PATCH = config(dialects=frozenset({"patch"}))
ONLY_APPOINTMENT_ID = config(dialects=frozenset({"appointment_id"}))
ONLY_BOOKING_ID = config(dialects=frozenset({"booking_id"}))


def assert_not_a_zimun_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert "code" not in body
    assert "error" not in body


@pytest.mark.parametrize("sandbox_config", [ONLY_PATCH], indirect=True)
def test_without_the_post_forms_their_paths_answer_405(api: Api) -> None:
    booked = api.book("svc_physio", TUE_9)
    a = booked["appointment_id"]
    for path, body in [
        ("/appointments/reschedule", {"appointment_id": a, "start_time": TUE_10}),
        ("/appointments/cancel", {"booking_id": a}),
    ]:
        response = api.post(path, body)
        assert_not_a_zimun_error(response, 405)
        assert "PATCH" in response.headers["allow"]
    assert api.patch(f"/appointments/{a}", {"status": "cancelled"}).status_code == 200


@pytest.mark.parametrize("sandbox_config", [ONLY_APPOINTMENT_ID, ONLY_BOOKING_ID], indirect=True)
def test_without_patch_it_answers_405(api: Api) -> None:
    a = api.book("svc_physio", TUE_9)["appointment_id"]
    response = api.patch(f"/appointments/{a}", {"status": "cancelled"})
    assert_not_a_zimun_error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert api.get(f"/appointments/{a}").json()["status"] == "confirmed"


@pytest.mark.parametrize(
    ("sandbox_config", "wanted", "sent"),
    [
        (ONLY_APPOINTMENT_ID, "appointment_id", "booking_id"),
        (ONLY_BOOKING_ID, "booking_id", "appointment_id"),
    ],
    indirect=["sandbox_config"],
)
def test_the_wrong_id_field_is_422_naming_the_expected_one(
    api: Api, wanted: str, sent: str
) -> None:
    a = api.book("svc_physio", TUE_9)["appointment_id"]
    for path, extra in [
        ("/appointments/cancel", {}),
        ("/appointments/reschedule", {"start_time": TUE_10}),
    ]:
        body = assert_problem(api.post(path, {sent: a, **extra}), 422, "validation_error")
        assert body["detail"] == f"{wanted} is required"
        assert body["error"]["details"]["field"] == wanted
    assert api.get(f"/appointments/{a}").json()["status"] == "confirmed"
    ok = api.post("/appointments/cancel", {wanted: a})
    assert ok.status_code == 200
