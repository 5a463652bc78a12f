"""The async Zimun API client the bot talks through.

One pooled httpx.AsyncClient, OAuth2 client credentials (auth.py), one retry loop (`_send`),
typed errors (problems.py), tolerant models (models.py), a short catalog cache (cache.py) and
reschedule/cancel form detection (dialect.py). Every POST/PATCH carries an Idempotency-Key that
is created once per logical call and reused on each retry, so a retried hold or confirm can
never book twice.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import httpx

from bot.config.clock import utc_now
from bot.config.settings import Dialect
from bot.core.errors import ApiUnavailable, InvalidResponse, ZimunError
from bot.core.models import Appointment, Availability, Hold, Location, Page, Service
from bot.zimun import dialect as forms
from bot.zimun.auth import ClientCredentialsAuth, TokenEndpointUnavailable
from bot.zimun.cache import TtlCache
from bot.zimun.problems import error_code, error_from_response
from bot.zimun.retry import (
    RETRYABLE_EXCEPTIONS,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
)
from bot.zimun.stats import ZimunStats
from bot.zimun.telemetry import ATTEMPT, TEMPLATE, Telemetry, log

if TYPE_CHECKING:
    from bot.config.settings import Settings

PAGE_SIZE = 50
MAX_PAGES = 200  # 10,000 items: far beyond any real catalog; stops a runaway server
USER_AGENT = "zimun-booking-bot/0.1 (+httpx)"
# What an id may be before it goes into a URL path: URL-unreserved characters, and not "." or
# "..", which survive quoting and which httpx resolves as path segments (a hold id of ".."
# would turn DELETE /appointments/hold/{id} into DELETE /appointments).
SAFE_ID_RE = re.compile(r"(?!\.{1,2}$)[A-Za-z0-9._~-]{1,128}")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ApiResponse:
    """The final answer to a request after retries: status, parsed JSON (None if not JSON)."""

    status: int
    body: Any
    headers: httpx.Headers

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str | None:
        return error_code(self.body)


class ZimunClient:
    """Zimun API calls as typed coroutines; safe to share across concurrent conversations."""

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        organization_id: str | None = None,
        dialect: Dialect | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        max_retry_seconds: float = 20.0,
        catalog_ttl: float = 60.0,
        http: httpx.AsyncClient | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self._observe = observe  # told each call's outcome (metrics): ok, refused, failed...
        self._base_url = base_url.rstrip("/")
        self._organization_id = organization_id or None
        self._pinned = Dialect(dialect) if dialect else None
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=self._timeout,
            limits=httpx.Limits(
                max_connections=20, max_keepalive_connections=20, keepalive_expiry=30.0
            ),
            follow_redirects=False,
        )
        self._policy = RetryPolicy(
            max_retries=max(0, max_retries),
            max_total=max_retry_seconds,
            base_delay=backoff_base,
            max_delay=backoff_max,
            max_retry_after=min(10.0, max_retry_seconds),
        )
        self._sleep = sleep
        self._clock = clock
        self._now = now  # the wall clock: when an answer arrived
        self._stats = ZimunStats()
        self._telemetry = Telemetry(self._stats)
        self._auth = ClientCredentialsAuth(
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            telemetry=self._telemetry,
        )
        self._locations: TtlCache[list[Location]] = TtlCache(catalog_ttl, clock=clock)
        self._services: TtlCache[list[Service]] = TtlCache(catalog_ttl, clock=clock)
        self._detected: dict[forms.Kind, Dialect] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ZimunClient:
        options: dict[str, Any] = {
            "base_url": str(settings.ZIMUN_BASE_URL),
            "token_url": str(settings.ZIMUN_TOKEN_URL),
            "client_id": settings.ZIMUN_CLIENT_ID,
            "client_secret": settings.ZIMUN_CLIENT_SECRET.get_secret_value(),
            "organization_id": settings.ZIMUN_ORGANIZATION_ID,
            "dialect": settings.ZIMUN_API_DIALECT,
        }
        return cls(**{**options, **overrides})

    def __repr__(self) -> str:
        return f"ZimunClient(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client this one opened; a client it was given (`http=`, shared by
        the businesses on one host: bot.zimun.pools) stays open for the others."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def stats(self) -> ZimunStats:
        return self._stats

    @property
    def detected_dialects(self) -> Mapping[str, Dialect]:
        """The reschedule/cancel forms found so far, by kind ("reschedule", "cancel")."""
        return dict(self._detected)

    # -- catalog --------------------------------------------------------------------------

    async def list_locations(self) -> list[Location]:
        return list(await self._locations.get(self._fetch_locations))

    async def list_services(self) -> list[Service]:
        return list(await self._services.get(self._fetch_services))

    async def get_location(self, location_id: str) -> Location | None:
        return next((x for x in await self.list_locations() if x.id == location_id), None)

    async def get_service(self, service_id: str) -> Service | None:
        return next((x for x in await self.list_services() if x.id == service_id), None)

    def invalidate_catalog(self) -> None:
        self._locations.invalidate()
        self._services.invalidate()

    async def _fetch_locations(self) -> list[Location]:
        return Location.parse_many(await self._paginate("/locations"))

    async def _fetch_services(self) -> list[Service]:
        return Service.parse_many(await self._paginate("/services"))

    # -- availability and holds -----------------------------------------------------------

    async def get_availability(
        self,
        service_id: str,
        *,
        location_id: str | None = None,
        day: date | None = None,
        days_ahead: int | None = None,
    ) -> Availability:
        params: dict[str, str] = {"service_id": service_id}
        if location_id:
            params["location_id"] = location_id
        if day is not None:
            params["date"] = day.isoformat()
        if days_ahead is not None:
            params["days_ahead"] = str(days_ahead)
        return Availability.parse(await self._call("GET", "/availability", params=params))

    async def hold(
        self,
        *,
        service: Service,
        start: datetime,
        location_id: str | None,
        idempotency_key: str | None = None,
    ) -> Hold:
        # The union of the documented variants; servers ignore fields they do not use.
        body: dict[str, Any] = {"service_id": service.id, "appointment_time": _iso(start)}
        if location_id:
            body["location_id"] = location_id
        if self._organization_id:
            body["organization_id"] = self._organization_id
        if service.duration_minutes:
            body["appointment_duration"] = service.duration_minutes
        data = await self._call(
            "POST", "/appointments/hold", json=body, idempotency_key=idempotency_key
        )
        return Hold.parse(data, received_at=self._now())

    async def release_hold(self, hold_id: str) -> None:
        """Give the slot back. Unknown or already released holds are nothing to release."""
        response = await self._send(
            "DELETE", "/appointments/hold/{hold_id}", path={"hold_id": hold_id}
        )
        if response.ok or response.status in (404, 405, 410):
            return
        raise self._error(response, "DELETE /appointments/hold/{hold_id}")

    async def confirm(
        self, hold_id: str, *, name: str, email: str, idempotency_key: str | None = None
    ) -> Appointment:
        body = {"hold_id": hold_id, "contact_name": name, "contact_email": email}
        data = await self._call(
            "POST", "/appointments/confirm", json=body, idempotency_key=idempotency_key
        )
        return Appointment.parse(data)

    # -- appointments ---------------------------------------------------------------------

    async def get_appointment(self, appointment_id: str) -> Appointment:
        data = await self._call(
            "GET", "/appointments/{appointment_id}", path={"appointment_id": appointment_id}
        )
        return Appointment.parse(data)

    async def list_appointments(self) -> list[Appointment]:
        return Appointment.parse_many(await self._paginate("/appointments"))

    async def reschedule(
        self, appointment_id: str, start: datetime, *, idempotency_key: str | None = None
    ) -> Appointment:
        iso = _iso(start)
        return await self._change(
            "reschedule",
            lambda d: forms.reschedule_call(d, appointment_id, iso),
            idempotency_key,
        )

    async def cancel(
        self, appointment_id: str, *, idempotency_key: str | None = None
    ) -> Appointment:
        return await self._change(
            "cancel", lambda d: forms.cancel_call(d, appointment_id), idempotency_key
        )

    async def allowed_methods(
        self, template: str, path: Mapping[str, str] | None = None
    ) -> frozenset[str] | None:
        """The methods the server says a resource allows (its `Allow` header to an OPTIONS
        request, which is safe: it changes nothing), or None when it does not say.
        `python -m bot check --deep` learns the reschedule/cancel form this way."""
        response = await self._send("OPTIONS", template, path=path)
        allow = response.headers.get("allow")
        if allow is None or response.status not in (200, 204, 405):
            return None
        return frozenset(m.strip().upper() for m in allow.split(",") if m.strip())

    async def _change(
        self,
        kind: forms.Kind,
        build: Callable[[Dialect], forms.FormCall],
        idempotency_key: str | None,
    ) -> Appointment:
        """Run a reschedule/cancel in the server's form, detecting the form on first use."""
        base_key = idempotency_key or uuid.uuid4().hex
        known = self._detected.get(kind)
        other = next((d for k, d in self._detected.items() if k != kind), None)
        refused: tuple[forms.FormCall, ApiResponse] | None = None
        for candidate in forms.candidates(self._pinned, known, other):
            call = build(candidate)
            response = await self._send(
                call.method,
                call.template,
                path=call.path,
                json=dict(call.body),
                idempotency_key=forms.form_key(base_key, candidate),
            )
            probing = self._pinned is None and known is None
            if probing and forms.form_not_offered(response.status, response.body):
                log.debug("%s: form %s not offered here", kind, candidate.value)
                refused = (call, response)
                continue
            if probing:  # any real answer, success or error, proves the form exists
                self._detected[kind] = candidate
                log.info("Zimun %s form detected: %s", kind, candidate.value)
            if not response.ok:
                raise self._error(response, f"{call.method} {call.template}")
            return Appointment.parse(response.body)
        if refused is None:  # unreachable: candidates() is never empty
            raise ZimunError(f"{kind}: no form to try")
        call, response = refused
        raise self._error(response, f"{kind}: no documented form accepted; last {call.method}")

    # -- transport ------------------------------------------------------------------------

    async def _paginate(self, template: str, params: Mapping[str, str] | None = None) -> list[Any]:
        """Every item of a paginated list; stops if the server repeats a page token."""
        items: list[Any] = []
        seen: set[str] = set()
        token: str | None = None
        for _ in range(MAX_PAGES):
            query = {**(params or {}), "page_size": str(PAGE_SIZE)}
            if token:
                query["page_token"] = token
            data = await self._call("GET", template, params=query)
            page = Page.parse({"items": data} if isinstance(data, list) else data)
            items.extend(page.items)
            token = page.next_page_token
            if not token:
                return items
            if token in seen:
                log.warning("GET %s: the server repeated page token; stopping", template)
                return items
            seen.add(token)
        log.warning("GET %s: more than %d pages; stopping", template, MAX_PAGES)
        return items

    async def _call(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """`_send`, then the JSON body of a 2xx answer or the typed error of any other."""
        response = await self._send(
            method, template, path=path, params=params, json=json, idempotency_key=idempotency_key
        )
        if not response.ok:
            raise self._error(response, f"{method} {template}")
        return response.body

    def _error(self, response: ApiResponse, context: str) -> ZimunError:
        return error_from_response(
            response.status,
            response.body,
            retry_after=parse_retry_after(response.headers),
            context=context,
        )

    async def _send(
        self,
        method: str,
        template: str,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> ApiResponse:
        """The one retry loop. Returns the final response, whatever its status; raises
        ApiUnavailable when the network (or token endpoint) failed on every attempt."""
        url = self._base_url + template.format_map(
            {k: quote(safe_id(k, v, template), safe="") for k, v in (path or {}).items()}
        )
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if method in ("POST", "PATCH"):
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        started = self._clock()
        retry = 0
        while True:
            request = self._http.build_request(
                method, url, params=params, json=json, headers=headers, timeout=self._timeout
            )
            request.extensions[TEMPLATE] = template
            request.extensions[ATTEMPT] = retry + 1
            failure: Exception | None = None
            response: ApiResponse | None = None
            retry_after: float | None = None
            try:
                raw = await self._http.send(request, auth=self._auth)
            except TokenEndpointUnavailable as exc:
                failure, retry_after = exc, exc.retry_after
            except RETRYABLE_EXCEPTIONS as exc:
                failure = exc
                self._telemetry.api_failed(method, template, retry + 1, exc)
                if self._observe is not None:
                    self._observe("unreachable")
            else:
                self._telemetry.api_answered(raw)
                response = ApiResponse(raw.status_code, _json(raw), raw.headers)
                if self._observe is not None:
                    self._observe(outcome_of(raw.status_code))
                if not is_retryable_status(response.status, response.code):
                    return response
                retry_after = parse_retry_after(raw.headers)
            delay = self._policy.delay(retry, retry_after)
            if not self._policy.should_retry(retry, delay, self._clock() - started):
                if response is not None:
                    return response
                assert failure is not None
                if isinstance(failure, ZimunError):
                    raise failure
                raise ApiUnavailable(
                    f"{method} {template}: {_describe(failure)} after {retry + 1} attempt(s)"
                ) from failure
            self._telemetry.retrying(method, template, delay)
            await self._sleep(delay)
            retry += 1


def outcome_of(status: int) -> str:
    """A call's outcome as the metrics count it (a few values, whatever the status)."""
    if status < 300:
        return "ok"
    if status in (401, 403):
        return "unauthorized"
    if status == 429:
        return "rate_limited"
    return "refused" if status < 500 else "failed"


def safe_id(name: str, value: object, template: str) -> str:
    """`value` as a path segment, or InvalidResponse when it is not a plain id (ids come from
    the API or from storage; either may hold anything)."""
    text = str(value)
    if SAFE_ID_RE.fullmatch(text) is None:
        raise InvalidResponse(f"{template}: {name} is not a plain id; request not sent")
    return text


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Zimun needs times with a timezone offset; got a naive datetime")
    return moment.isoformat(timespec="seconds")


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    return f"network error ({type(error).__name__})"


__all__ = ["ApiResponse", "InvalidResponse", "ZimunClient"]
