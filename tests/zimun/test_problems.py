"""Error bodies of every documented (and some undocumented) shape map to the typed errors."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import errors
from bot.zimun.problems import error_code, error_from_response, error_message


def problem(status: int, code: str, message: str = "msg") -> dict[str, Any]:
    return {
        "type": f"https://api.zimun.online/problems/{code}",
        "title": "t",
        "status": status,
        "detail": message,
        "code": code,
        "error": {"code": code, "message": message, "details": {}},
    }


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (409, problem(409, "slot_unavailable"), errors.SlotUnavailable),
        (410, problem(410, "hold_expired"), errors.HoldExpired),
        (409, problem(409, "hold_expired"), errors.HoldExpired),
        (410, None, errors.HoldExpired),
        (404, problem(404, "appointment_not_found"), errors.NotFound),
        (404, problem(404, "hold_not_found"), errors.NotFound),
        (404, "<html>Not Found</html>", errors.NotFound),
        (400, problem(400, "not_bookable"), errors.NotBookable),
        (400, problem(400, "location_required"), errors.LocationRequired),
        (401, problem(401, "invalid_token"), errors.AuthError),
        (403, problem(403, "insufficient_scope"), errors.AuthError),
        (403, None, errors.AuthError),
        (409, problem(409, "hold_already_confirmed"), errors.HoldAlreadyConfirmed),
        (409, problem(409, "appointment_not_active"), errors.AppointmentNotActive),
        (409, problem(409, "idempotency_request_in_progress"), errors.Conflict),
        (422, problem(422, "idempotency_key_reused"), errors.BadRequest),
        (422, problem(422, "validation_error"), errors.BadRequest),
        (429, problem(429, "rate_limited"), errors.RateLimited),
        (500, None, errors.ApiUnavailable),
        (502, "<html><body>Bad gateway</body></html>", errors.ApiUnavailable),
        (418, [], errors.BadRequest),
    ],
)
def test_mapping(status: int, body: Any, expected: type[errors.ZimunError]) -> None:
    error = error_from_response(status, body)
    assert type(error) is expected
    assert error.status == status


def test_the_code_is_read_from_the_nested_error_when_the_top_level_lacks_it() -> None:
    body = {"error": {"code": "slot_unavailable", "message": "taken"}}
    assert error_code(body) == "slot_unavailable"
    assert isinstance(error_from_response(409, body), errors.SlotUnavailable)


def test_rfc6749_token_errors_are_read() -> None:
    assert error_code({"error": "invalid_client"}) == "invalid_client"


def test_bad_request_carries_the_servers_message() -> None:
    error = error_from_response(422, problem(422, "validation_error", "contact_email is invalid"))
    assert error.message == "contact_email is invalid"
    assert error.code == "validation_error"


def test_odd_bodies_give_a_readable_message_not_a_key_error() -> None:
    assert error_message("<html>oops</html>", 502) == "HTTP 502 Bad Gateway"
    assert error_message({"error": 5, "detail": None}, 500) == "HTTP 500 Internal Server Error"
    assert error_message(None, 599) == "HTTP 599 error"
    assert error_code({"code": 17, "error": ["x"]}) is None


def test_rate_limited_keeps_the_servers_advice() -> None:
    error = error_from_response(429, problem(429, "rate_limited"), retry_after=3.0)
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == 3.0


def test_context_prefixes_the_message() -> None:
    error = error_from_response(404, None, context="GET /appointments/{appointment_id}")
    assert str(error).startswith("GET /appointments/{appointment_id}: HTTP 404 Not Found")
