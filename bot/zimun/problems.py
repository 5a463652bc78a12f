"""Turn a Zimun error response into the typed error the conversation acts on.

Zimun's error bodies are [assumed] (shared/zimun-api.md): RFC 9457 fields plus a nested
`error` object, or RFC 6749 `{"error": "invalid_client"}` from the token endpoint, or an HTML
page from a proxy. The code is read from `code` or `error.code`, and the HTTP status decides
when there is none, so an odd body never becomes a KeyError.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from bot.core.errors import (
    ApiUnavailable,
    AppointmentNotActive,
    AuthError,
    BadRequest,
    Conflict,
    HoldAlreadyConfirmed,
    HoldExpired,
    LocationRequired,
    NotBookable,
    NotFound,
    RateLimited,
    SlotUnavailable,
    ZimunError,
)

BY_CODE: dict[str, type[ZimunError]] = {
    "slot_unavailable": SlotUnavailable,
    "hold_expired": HoldExpired,
    "hold_already_confirmed": HoldAlreadyConfirmed,
    "appointment_not_active": AppointmentNotActive,
    "not_bookable": NotBookable,
    "location_required": LocationRequired,
    "rate_limited": RateLimited,
    "invalid_token": AuthError,
    "insufficient_scope": AuthError,
    "invalid_client": AuthError,
    "unauthorized": AuthError,
    "forbidden": AuthError,
    "idempotency_request_in_progress": Conflict,
    "idempotency_key_reused": BadRequest,
    "validation_error": BadRequest,
    "invalid_request": BadRequest,
}

BY_STATUS: dict[int, type[ZimunError]] = {
    400: BadRequest,
    401: AuthError,
    403: AuthError,
    404: NotFound,
    409: Conflict,
    410: HoldExpired,
    422: BadRequest,
    429: RateLimited,
}

# `*_not_found` codes that name a missing route rather than a missing resource.
ROUTE_NOT_FOUND_PREFIXES = ("route", "endpoint", "path", "url", "method")


def error_code(body: Any) -> str | None:
    """`code`, else `error.code`, else a string `error` (RFC 6749), lower-cased; or None."""
    if not isinstance(body, Mapping):
        return None
    code = body.get("code")
    nested = body.get("error")
    if not isinstance(code, str) and isinstance(nested, Mapping):
        code = nested.get("code")
    if not isinstance(code, str) and isinstance(nested, str):
        code = nested
    return (code.strip().lower() or None) if isinstance(code, str) else None


def error_message(body: Any, status: int) -> str:
    """The server's own explanation, or the status phrase when it gave none we can read."""
    if isinstance(body, Mapping):
        nested = body.get("error")
        candidates = [
            body.get("detail"),
            nested.get("message") if isinstance(nested, Mapping) else None,
            body.get("error_description"),
            body.get("message"),
            body.get("title"),
        ]
        for text in candidates:
            if isinstance(text, str) and text.strip():
                return text.strip()[:300]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "error"
    return f"HTTP {status} {phrase}"


def is_resource_not_found(code: str | None) -> bool:
    """True for `appointment_not_found` and kin; False for a bare or route-level 404."""
    if not code or not code.endswith("_not_found"):
        return False
    return not code.startswith(ROUTE_NOT_FOUND_PREFIXES)


def error_class(status: int, code: str | None) -> type[ZimunError]:
    if code in BY_CODE:
        return BY_CODE[code]  # e.g. hold_expired arrives as 410 or 409: the code decides
    if code and code.endswith("_not_found"):
        return NotFound
    if status in BY_STATUS:
        return BY_STATUS[status]
    if status >= 500:
        return ApiUnavailable
    if 400 <= status < 500:
        return BadRequest
    return ZimunError


def error_from_response(
    status: int, body: Any, *, retry_after: float | None = None, context: str = ""
) -> ZimunError:
    """The typed error for a non-2xx response; `context` (e.g. "POST /appointments/hold")
    prefixes the message so logs say which call failed. Never includes request data."""
    code = error_code(body)
    cls = error_class(status, code)
    message = error_message(body, status)
    if context:
        message = f"{context}: {message}"
    if cls is RateLimited:
        return RateLimited(message, retry_after=retry_after, status=status, code=code)
    return cls(message, status=status, code=code)
