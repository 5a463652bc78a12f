"""What counts as "this server has no such reschedule/cancel form" and what is a real answer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.settings import Dialect
from bot.zimun.dialect import candidates, form_key, form_not_offered


def problem(code: str, message: str = "m", **details: Any) -> dict[str, Any]:
    return {"code": code, "detail": message, "error": {"code": code, "details": details}}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (405, None),
        (404, None),
        (404, "Not Found"),
        (404, problem("not_found")),
        (404, problem("route_not_found")),
        (422, problem("validation_error", "booking_id is required", field="booking_id")),
        (400, problem("invalid_request", "unknown field appointment_id")),
        (400, {"detail": "appointment_id: extra fields not permitted"}),
    ],
)
def test_not_offered(status: int, body: Any) -> None:
    assert form_not_offered(status, body)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, problem("appointment_not_found", "appointment 'a_1' not found")),
        (404, problem("booking_not_found")),
        (409, problem("appointment_not_active")),
        (409, problem("slot_unavailable")),
        (400, problem("not_bookable", "appointment_id a_1: the day is closed")),
        (422, problem("idempotency_key_reused")),
        (422, problem("validation_error", "start_time is not a valid datetime")),
        (200, {"appointment_id": "a_1"}),
        (500, None),
    ],
)
def test_real_answers(status: int, body: Any) -> None:
    assert not form_not_offered(status, body)


def test_candidate_order() -> None:
    documented = [Dialect.APPOINTMENT_ID, Dialect.BOOKING_ID, Dialect.PATCH]
    assert candidates(None, None, None) == documented
    assert candidates(Dialect.PATCH, None, None) == [Dialect.PATCH]
    assert candidates(None, Dialect.BOOKING_ID, None) == [Dialect.BOOKING_ID]
    assert candidates(None, None, Dialect.PATCH) == [
        Dialect.PATCH,
        Dialect.APPOINTMENT_ID,
        Dialect.BOOKING_ID,
    ]


def test_form_keys_are_distinct_and_stable() -> None:
    keys = {form_key("k1", d) for d in Dialect}
    assert len(keys) == 3
    assert form_key("k1", Dialect.APPOINTMENT_ID) == "k1"
    assert form_key("k1", Dialect.PATCH) == form_key("k1", Dialect.PATCH)
