"""Reading a request's JSON body: one rule for the API and the control API."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from sandbox.errors import ApiError


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object; empty means {}. Malformed: 400 invalid_request; another
    JSON value: 422 validation_error."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_request", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(422, "validation_error", "the body must be a JSON object")
    return body
