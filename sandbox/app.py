"""The HTTP face of the sandbox: Starlette routes, and one request pipeline for every API call.

Pipeline of an API request (in this order, so each knob means one thing):
forced/random faults (before any work) -> bearer + scope -> body -> Idempotency-Key
(reserve, replay or refuse) -> gate/latency -> the handler (domain rules in store.py) ->
save the idempotent result -> maybe drop the response (the work stays done) -> maybe damage
a field of a successful answer (a replay too) -> answer.

Outside /api/v1, `/_sandbox/...` is the control API (sandbox/control.py): the business's own
changes and the clock, for `make sandbox` users and tests that run the sandbox as a process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox import control, handlers
from sandbox.auth import Auth, Grant
from sandbox.body import json_object
from sandbox.clock import Clock
from sandbox.config import DEFAULT_SEED_PATH, SandboxConfig
from sandbox.errors import ApiError, problem_body, problem_response
from sandbox.faults import Failure, Faults
from sandbox.idempotency import IdempotencyStore, fingerprint
from sandbox.seed import Seed, load_seed, parse_seed
from sandbox.stats import Stats
from sandbox.store import Store

API_PREFIX = "/api/v1"
WRITE_METHODS = frozenset({"POST", "PATCH"})
log = logging.getLogger("sandbox")

FAULT_CODES = {
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


@dataclass
class Call:
    """What a handler gets: the parsed request and the sandbox it acts on."""

    sandbox: Sandbox
    grant: Grant
    path_params: dict[str, str]
    query: QueryParams
    body: dict[str, Any]

    @property
    def store(self) -> Store:
        return self.sandbox.store


Handler = Callable[[Call], tuple[int, Any]]


class Sandbox:
    """Everything one running sandbox owns; tests reach it through SandboxServer."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock(config.now, frozen=config.freeze_clock)
        self.store = Store(
            _load(config),
            self.clock,
            hold_ttl=config.hold_ttl,
            open_days=config.open_days,
            beyond=config.beyond,
        )
        self.auth = Auth(
            config.all_clients,
            self.clock,
            config.token_ttl,
            include_expires_in=config.token_expires_in,
        )
        self.faults = Faults(
            latency_ms=config.latency_ms,
            error_rate=config.error_rate,
            rate_limit_rate=config.rate_limit_rate,
            retry_after=config.retry_after,
            seed=config.fault_seed,
        )
        self.stats = Stats()
        self.idempotency = IdempotencyStore(self.clock, config.idempotency_ttl)

    @property
    def seed(self) -> Seed:
        """The catalogue as it is now (services removed, branches switched off at run time)."""
        return self.store.seed

    async def token(self, request: Request) -> Response:
        self.stats.count_token()
        failure = self.faults.before_token()
        if failure is not None:
            return _fault_response(failure)
        return await self.auth.token_endpoint(request)

    async def api(
        self, request: Request, method: str, route: str, scope: str, handler: Handler
    ) -> Response:
        self.stats.count_request(method, route)
        response = await self._api(request, method, route, scope, handler)
        self.stats.count_response(method, route, response.status_code)
        return response

    async def _api(
        self, request: Request, method: str, route: str, scope: str, handler: Handler
    ) -> Response:
        path = request.url.path.removeprefix(API_PREFIX)
        failure = self.faults.before_request(method, path, route)
        if failure is not None:
            return _fault_response(failure)
        try:
            grant = self.auth.authorize(request, scope)
            body = await json_object(request) if method in WRITE_METHODS else {}
        except ApiError as exc:
            return exc.response()
        key = request.headers.get("idempotency-key") if method in WRITE_METHODS else None
        idem_scope = (grant.client_id, method, route, key) if key else None
        if idem_scope is not None:
            try:
                saved = self.idempotency.begin(idem_scope, fingerprint(method, path, body))
            except ApiError as exc:
                return exc.response()
            if saved is not None:
                status = saved.status or 200
                payload = self._maybe_damaged(method, path, route, status, saved.body)
                return _json(status, payload, {"Idempotent-Replayed": "true"})
        try:
            await self.faults.delay(method, path, route)
            call = Call(self, grant, dict(request.path_params), request.query_params, body)
            try:
                status, payload = handler(call)
            except ApiError as exc:
                status, payload = exc.status, exc.body()
        except BaseException:
            if idem_scope is not None:
                self.idempotency.abandon(idem_scope)
            raise
        if idem_scope is not None:
            self.idempotency.finish(idem_scope, status, payload)
        dropped = self.faults.drop_status(method, path, route)
        if dropped is not None:
            return problem_response(
                dropped, FAULT_CODES.get(dropped, "server_error"), "the response was lost"
            )
        return _json(status, self._maybe_damaged(method, path, route, status, payload))

    def _maybe_damaged(self, method: str, path: str, route: str, status: int, payload: Any) -> Any:
        if not 200 <= status < 300:
            return payload
        return self.faults.damaged(method, path, route, payload)


def _load(config: SandboxConfig) -> Seed:
    if config.seed is not None:
        return parse_seed(config.seed)
    return load_seed(Path(config.seed_path) if config.seed_path else DEFAULT_SEED_PATH)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    media = "application/problem+json" if status >= 400 else "application/json"
    return JSONResponse(payload, status_code=status, headers=headers, media_type=media)


def _fault_response(failure: Failure) -> Response:
    headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
    code = FAULT_CODES.get(failure.status, "server_error")
    message = "too many requests" if failure.status == 429 else "temporarily unavailable"
    return problem_response(failure.status, code, message, headers=headers)


def _routes(sandbox: Sandbox) -> list[Route]:
    def api(path: str, methods: dict[str, tuple[str, Handler]]) -> Route:
        """One route per path, so a wrong method gets a 405 whose Allow lists them all."""

        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            scope, handler = methods[method]
            return await sandbox.api(request, method, path, scope, handler)

        endpoint.__name__ = "_".join(h.__name__ for _, h in methods.values())
        return Route(API_PREFIX + path, endpoint, methods=list(methods))

    read, write = "appointments:read", "appointments:write"
    routes = [
        Route("/oauth/token", sandbox.token, methods=["POST"]),
        api("/locations", {"GET": ("org:read", handlers.list_locations)}),
        api("/services", {"GET": ("org:read", handlers.list_services)}),
        api("/availability", {"GET": ("availability:read", handlers.availability)}),
        api("/appointments/hold", {"POST": (write, handlers.hold)}),
        api("/appointments/hold/{hold_id}", {"DELETE": (write, handlers.release)}),
        api("/appointments/confirm", {"POST": (write, handlers.confirm)}),
    ]
    if handlers.id_fields(sandbox.config.dialects):  # the POST forms exist only when on
        routes += [
            api("/appointments/reschedule", {"POST": (write, handlers.reschedule_post)}),
            api("/appointments/cancel", {"POST": (write, handlers.cancel_post)}),
        ]
    one: dict[str, tuple[str, Handler]] = {"GET": (read, handlers.get_appointment)}
    if "patch" in sandbox.config.dialects:
        one["PATCH"] = (write, handlers.patch)
    routes += [
        api("/appointments", {"GET": (read, handlers.list_appointments)}),
        api("/appointments/{appointment_id}", one),
    ]
    if sandbox.config.control_api:
        routes += control.routes(sandbox)
    return routes


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown path or method: what a generic web framework answers, with no Zimun code."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("sandbox handler failed")
    return JSONResponse(
        problem_body(500, "internal_error", "internal error"),
        status_code=500,
        media_type="application/problem+json",
    )


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A Starlette app for `config`; its Sandbox (store, clock, faults...) is app.state.sandbox."""
    sandbox = Sandbox(config or SandboxConfig())
    app = Starlette(
        routes=_routes(sandbox),
        exception_handlers={HTTPException: _http_error, Exception: _crash},
    )
    app.state.sandbox = sandbox
    return app
