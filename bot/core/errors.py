"""Typed errors of the Zimun API, so the conversation can act on what went wrong.

The hierarchy mirrors the decisions a caller makes, not the HTTP status codes: "offer other
times" (SlotUnavailable), "hold again" (HoldExpired), "tell the operator" (AuthError), "try
again later" (ApiUnavailable, RateLimited).
"""

from __future__ import annotations


class ZimunError(Exception):
    """Base of every error raised by the Zimun client."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"code={self.code}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return " ".join(parts)


class BadRequest(ZimunError):
    """The server rejected the request (400/422); `message` carries its explanation."""


class NotBookable(BadRequest):
    """The slot cannot be booked at all: in the past, on a closed day or a holiday."""


class LocationRequired(BadRequest):
    """The service is offered at several locations and none was named."""


class AuthError(ZimunError):
    """Credentials or scopes are wrong: a configuration problem for the operator, not the user."""


class NotFound(ZimunError):
    """The hold, appointment, service or location does not exist (404)."""


class SlotUnavailable(ZimunError):
    """Somebody else holds or booked the slot (409 slot_unavailable)."""


class HoldExpired(ZimunError):
    """The hold ran out before it was confirmed (410, or 409 hold_expired)."""


class HoldAlreadyConfirmed(ZimunError):
    """The hold was confirmed already (409 hold_already_confirmed)."""


class AppointmentNotActive(ZimunError):
    """The appointment is cancelled or past and cannot be changed (409 appointment_not_active)."""


class Conflict(ZimunError):
    """Any other 409, e.g. idempotency_request_in_progress after all retries."""


class RateLimited(ZimunError):
    """429 after every retry; `retry_after` is the server's last advice in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ApiUnavailable(ZimunError):
    """Network failure, timeout or 5xx after every retry: try again later."""


class InvalidResponse(ZimunError):
    """A 2xx response whose body lacks a field we need; `message` names the field."""
