"""One function per API operation: read the request's fields, call the store, shape the answer.

Handlers return (status, JSON payload) or raise ApiError; auth, idempotency and faults are done
around them in app.py. Missing or malformed body fields are 422 validation_error naming the
field; malformed query parameters are 400 invalid_request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sandbox.config import DIALECT_APPOINTMENT_ID, DIALECT_BOOKING_ID
from sandbox.errors import ApiError, bad_request, validation_error

if TYPE_CHECKING:
    from sandbox.app import Call

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_NAME = 200


# -- field readers -------------------------------------------------------------------------


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise validation_error(name)
        return None
    if not isinstance(value, str):
        raise validation_error(name, f"{name} must be a string")
    return value.strip()


def read_moment(body: dict[str, Any], *names: str) -> datetime:
    """The first of `names` present, as an aware datetime (any offset or Z)."""
    name = next((n for n in names if body.get(n) not in (None, "")), None)
    if name is None:
        raise validation_error(names[0])
    value = body[name]
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise validation_error(name, f"{name} must be an ISO-8601 timestamp")
    if moment.tzinfo is None:
        raise validation_error(name, f"{name} must carry a timezone offset (or Z)")
    return moment


def _page(call: Call, items: list[Any]) -> dict[str, Any]:
    config = call.sandbox.config
    raw_size = call.query.get("page_size")
    try:
        size = int(raw_size) if raw_size else config.default_page_size
    except ValueError as exc:
        raise bad_request("page_size must be an integer") from exc
    if size < 1:
        raise bad_request("page_size must be at least 1")
    size = min(size, config.max_page_size)
    offset = _decode_token(call.query.get("page_token"))
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    return {"items": chunk, "next_page_token": _encode_token(offset + size) if more else None}


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "o":
            raise ValueError(text)
        return max(0, int(number))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_page_token", "page_token is not valid") from exc


# -- catalogue -----------------------------------------------------------------------------


def list_locations(call: Call) -> tuple[int, Any]:
    return 200, _page(call, [loc.as_json() for loc in call.store.seed.locations])


def list_services(call: Call) -> tuple[int, Any]:
    location_id = call.query.get("location_id")
    services = [
        svc.as_json()
        for svc in call.store.seed.services
        if not location_id or svc.bookable_at(location_id)
    ]
    return 200, _page(call, services)


def availability(call: Call) -> tuple[int, Any]:
    query = call.query
    service_id = query.get("service_id")
    if not service_id:
        raise bad_request("service_id is required")
    day = days_ahead = None
    if query.get("date"):
        try:
            day = date.fromisoformat(query["date"])
        except ValueError as exc:
            raise bad_request("date must be YYYY-MM-DD") from exc
    elif query.get("days_ahead"):
        try:
            days_ahead = int(query["days_ahead"])
        except ValueError as exc:
            raise bad_request("days_ahead must be an integer") from exc
    else:
        raise bad_request("send date=YYYY-MM-DD or days_ahead=N")
    result = call.store.availability(service_id, query.get("location_id"), day, days_ahead)
    return 200, result


# -- holds and confirmation ----------------------------------------------------------------


def hold(call: Call) -> tuple[int, Any]:
    """English/Spanish/German and Italian bodies alike: organization_id and
    appointment_duration (Italian) are accepted and ignored, as are unknown fields."""
    body = call.body
    service_id = _text(body, "service_id")
    start = read_moment(body, "appointment_time")
    location_id = _text(body, "location_id", required=False)
    assert service_id is not None
    record = call.store.hold(service_id, location_id, start, call.grant.client_id)
    return 201, call.store.hold_json(record)


def release(call: Call) -> tuple[int, Any]:
    record = call.store.release(call.path_params["hold_id"])
    return 200, {"hold_id": record.hold_id, "status": "released"}


def confirm(call: Call) -> tuple[int, Any]:
    body = call.body
    hold_id = _text(body, "hold_id")
    name = _text(body, "contact_name")
    email = _text(body, "contact_email")
    assert hold_id is not None and name is not None and email is not None
    if len(name) > MAX_NAME:
        raise validation_error("contact_name", f"contact_name is longer than {MAX_NAME}")
    if not EMAIL.match(email):
        raise validation_error("contact_email", "contact_email is not a valid email address")
    appointment = call.store.confirm(hold_id, name, email)
    return 201, call.store.appointment_json(appointment)


# -- appointments --------------------------------------------------------------------------


def id_fields(dialects: Iterable[str]) -> tuple[str, ...]:
    """The body fields that name the appointment in the POST forms this server offers."""
    on = set(dialects)
    return tuple(f for f in (DIALECT_APPOINTMENT_ID, DIALECT_BOOKING_ID) if f in on)


def _posted_id(call: Call) -> str:
    fields = id_fields(call.sandbox.config.dialects)
    for name in fields:
        value = _text(call.body, name, required=False)
        if value:
            return value
    error = validation_error(fields[0])
    error.details["accepted"] = list(fields)
    raise error


def reschedule_post(call: Call) -> tuple[int, Any]:
    appointment_id = _posted_id(call)
    start = read_moment(call.body, "start_time", "appointment_time")
    record = call.store.reschedule(appointment_id, start)
    return 200, call.store.appointment_json(record)


def cancel_post(call: Call) -> tuple[int, Any]:
    record = call.store.cancel(_posted_id(call))
    return 200, call.store.appointment_json(record)


CANCELLED = frozenset({"cancelled", "canceled"})


def patch(call: Call) -> tuple[int, Any]:
    appointment_id = call.path_params["appointment_id"]
    body = call.body
    status = body.get("status")
    has_time = body.get("appointment_time") not in (None, "")
    if status is not None and has_time:
        raise ApiError(
            422, "validation_error", "send either appointment_time or status, not both", {}
        )
    if status is not None:
        if status not in CANCELLED:
            raise validation_error("status", "status can only be set to 'cancelled'")
        record = call.store.cancel(appointment_id)
    elif has_time:
        record = call.store.reschedule(appointment_id, read_moment(body, "appointment_time"))
    else:
        raise validation_error("appointment_time", "appointment_time or status is required")
    return 200, call.store.appointment_json(record)


def get_appointment(call: Call) -> tuple[int, Any]:
    record = call.store.appointment(call.path_params["appointment_id"])
    return 200, call.store.appointment_json(record)


def list_appointments(call: Call) -> tuple[int, Any]:
    filters = {k: call.query.get(k) for k in ("status", "location_id", "service_id")}
    records = [
        r
        for r in call.store.appointment_list()
        if all(v is None or getattr(r, k) == v for k, v in filters.items())
    ]
    return 200, _page(call, [call.store.appointment_json(r) for r in records])
