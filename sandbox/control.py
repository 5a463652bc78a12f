"""The control API under /_sandbox: a development aid, outside the Zimun contract.

What the business does behind the API (the front desk cancels or moves an appointment, a
service is removed, a branch stops taking bookings), the clock, and the damage knob, over
plain HTTP, so `make sandbox` users and tests that run `python -m sandbox` as a process can
drive them. No authentication (serve it on loopback; `--no-control-api` turns it off); no
idempotency keys; not counted in the stats; the API's fault knobs do not touch it. Errors use
the contract's problem body (404 service_not_found, 409 slot_unavailable, 422 ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.body import json_object
from sandbox.errors import ApiError, validation_error
from sandbox.handlers import read_moment

if TYPE_CHECKING:
    from sandbox.app import Sandbox

PREFIX = "/_sandbox"
Action = Callable[["Sandbox", dict[str, str], dict[str, Any]], Any]


def remove_service(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    return sandbox.store.remove_service(params["service_id"]).as_json()


def deactivate_location(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    return sandbox.store.deactivate_location(params["location_id"]).as_json()


def activate_location(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    return sandbox.store.activate_location(params["location_id"]).as_json()


def cancel_appointment(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    store = sandbox.store
    return store.appointment_json(store.business_cancel(params["appointment_id"]))


def move_appointment(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    store = sandbox.store
    start = read_moment(body, "start_time", "appointment_time")
    return store.appointment_json(store.business_move(params["appointment_id"], start))


def clock(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    """{"now": iso, "frozen": bool (default true)} | {"advance": seconds, "frozen"?: bool} |
    {"frozen": bool} (freeze or unfreeze where it is) | nothing (read it, as GET does)."""
    the_clock = sandbox.clock
    if "now" in body and "advance" in body:
        raise ApiError(422, "validation_error", "send either now or advance, not both", {})
    frozen = body.get("frozen")
    if frozen is not None and not isinstance(frozen, bool):
        raise validation_error("frozen", "frozen must be true or false")
    if "now" in body:
        the_clock.set(read_moment(body, "now"), frozen=frozen is not False)
    else:
        if "advance" in body:
            seconds = body["advance"]
            if not isinstance(seconds, int | float) or isinstance(seconds, bool):
                raise validation_error("advance", "advance must be a number of seconds")
            the_clock.advance(seconds)
        if frozen is not None:
            (the_clock.freeze if frozen else the_clock.unfreeze)()
    return {"now": the_clock.now().isoformat(), "frozen": the_clock.frozen}


def damage(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    """{"method", "route", "field_path", "mode"?, "times"?, "garbage"?}: Faults.damage."""
    fields = {k: body.get(k) for k in ("method", "route", "field_path")}
    for name, value in fields.items():
        if not isinstance(value, str) or not value:
            raise validation_error(name)
    mode, times = body.get("mode", "remove"), body.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool):
        raise validation_error("times", "times must be an integer")
    extra = {"garbage": body["garbage"]} if "garbage" in body else {}
    try:
        sandbox.faults.damage(**fields, mode=mode, times=times, **extra)
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc), {}) from exc
    return {**fields, "mode": mode, "times": times}


def clear_faults(sandbox: Sandbox, params: dict[str, str], body: dict[str, Any]) -> Any:
    sandbox.faults.clear()
    return {"cleared": True}


def routes(sandbox: Sandbox) -> list[Route]:
    def route(path: str, action: Action, methods: tuple[str, ...] = ("POST",)) -> Route:
        return Route(PREFIX + path, _endpoint(sandbox, action), methods=list(methods))

    return [
        route("/services/{service_id}/remove", remove_service),
        route("/locations/{location_id}/deactivate", deactivate_location),
        route("/locations/{location_id}/activate", activate_location),
        route("/appointments/{appointment_id}/cancel", cancel_appointment),
        route("/appointments/{appointment_id}/move", move_appointment),
        route("/clock", clock, ("GET", "POST")),
        route("/faults/damage", damage),
        route("/faults/clear", clear_faults),
    ]


def _endpoint(sandbox: Sandbox, action: Action) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            body = await json_object(request) if request.method == "POST" else {}
            payload = action(sandbox, dict(request.path_params), body)
        except ApiError as exc:
            return exc.response()
        return JSONResponse(payload)

    endpoint.__name__ = f"control_{action.__name__}"
    return endpoint


__all__ = ["PREFIX", "routes"]
