"""The three documented forms of reschedule and cancel, and how to tell which one a server has.

Zimun's language versions document three forms (shared/zimun-api.md): POST with
`appointment_id`, POST with `booking_id`, PATCH /appointments/{id}. A server offers one. The
client tries them in order until one is recognised, then remembers it. "Not offered" is read
narrowly, so that a real answer about the appointment is never mistaken for a missing route:
a 405; a 404 without a Zimun `*_not_found` code; a 400/422 that names an id field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.config.settings import Dialect
from bot.zimun.problems import BY_CODE, error_code, is_resource_not_found

Kind = Literal["reschedule", "cancel"]

ORDER: tuple[Dialect, ...] = (Dialect.APPOINTMENT_ID, Dialect.BOOKING_ID, Dialect.PATCH)
ID_FIELDS = ("appointment_id", "booking_id")


@dataclass(frozen=True)
class FormCall:
    """One concrete HTTP call of a form: what `ZimunClient._send` needs."""

    dialect: Dialect
    method: str
    template: str
    path: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] = field(default_factory=dict)


def reschedule_call(dialect: Dialect, appointment_id: str, start_iso: str) -> FormCall:
    if dialect is Dialect.PATCH:
        return FormCall(
            dialect,
            "PATCH",
            "/appointments/{appointment_id}",
            {"appointment_id": appointment_id},
            {"appointment_time": start_iso},
        )
    return FormCall(
        dialect,
        "POST",
        "/appointments/reschedule",
        body={dialect.value: appointment_id, "start_time": start_iso},
    )


def cancel_call(dialect: Dialect, appointment_id: str) -> FormCall:
    if dialect is Dialect.PATCH:
        return FormCall(
            dialect,
            "PATCH",
            "/appointments/{appointment_id}",
            {"appointment_id": appointment_id},
            {"status": "cancelled"},
        )
    return FormCall(dialect, "POST", "/appointments/cancel", body={dialect.value: appointment_id})


def candidates(
    pinned: Dialect | None, known: Dialect | None, hint: Dialect | None
) -> list[Dialect]:
    """Forms to try, best guess first: the pinned one alone, else the one known for this kind
    alone, else the one detected for the other kind first, then the documented order."""
    if pinned is not None:
        return [pinned]
    if known is not None:
        return [known]
    first = [hint] if hint is not None else []
    return first + [d for d in ORDER if d != hint]


def form_key(base: str, dialect: Dialect) -> str:
    """The Idempotency-Key of one form of a logical call.

    Forms 1 and 2 share a route, and the server keys idempotency per route: the same key with a
    different body would be refused (422 idempotency_key_reused). A key per form, derived
    deterministically, keeps every retry and a post-crash replay on the same key.
    """
    return base if dialect is Dialect.APPOINTMENT_ID else f"{base}.{dialect.value}"


def form_not_offered(status: int, body: Any) -> bool:
    """Whether this answer means "this server has no such form" rather than a real outcome."""
    if status == 405:
        return True
    code = error_code(body)
    if status == 404:
        return not is_resource_not_found(code)
    if status in (400, 422):
        if code in BY_CODE and code not in {"validation_error", "invalid_request"}:
            return False  # a semantic answer (not_bookable, idempotency_key_reused...)
        return _mentions(body, ID_FIELDS)
    return False


def _mentions(body: Any, words: Iterable[str]) -> bool:
    try:
        text = json.dumps(body, default=str).lower() if body is not None else ""
    except (TypeError, ValueError):
        return False
    return any(word in text for word in words)
