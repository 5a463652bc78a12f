"""The contract's error body, and the exception the domain raises to produce it.

Every non-2xx answer carries the RFC 9457 fields and the nested error object
(shared/zimun-api.md, "Errors"), so a client can read `code` or `error.code`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.message, self.details)

    def response(self) -> JSONResponse:
        return problem_response(self.status, self.code, self.message, self.details, self.headers)


def problem_body(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "type": f"https://api.zimun.online/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
        "code": code,
        "error": {"code": code, "message": message, "details": details or {}},
    }


def problem_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, message, details),
        status_code=status,
        headers=headers,
        media_type="application/problem+json",
    )


def validation_error(field: str, message: str | None = None) -> ApiError:
    """422 naming the field, e.g. "appointment_id is required"."""
    return ApiError(422, "validation_error", message or f"{field} is required", {"field": field})


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, "invalid_request", message, details)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"{kind}_not_found", f"{kind} {ident!r} not found", {f"{kind}_id": ident})
