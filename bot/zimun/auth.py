"""OAuth2 client credentials (RFC 6749 §4.4) as an httpx.Auth.

Shaped after githubkit's app authentication: the auth flow itself yields the token request, so
it travels over the same pooled connection and timeouts as the API calls. The token is cached
until shortly before it expires; concurrent callers wait on one lock so a burst of calls costs a
single token request; a 401 from the API drops the token (once), fetches a new one and resends
the request once. The secret and the token never appear in messages or logs.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from bot.core.errors import ApiUnavailable, AuthError
from bot.zimun.problems import error_code, error_message
from bot.zimun.retry import is_retryable_status, parse_retry_after
from bot.zimun.stats import ZimunStats
from bot.zimun.telemetry import Telemetry

DEFAULT_EXPIRES_IN = 300.0  # the contract: absent expires_in means a short life
MAX_EARLY_REFRESH = 60.0


class TokenEndpointUnavailable(ApiUnavailable):
    """The token endpoint answered 429/5xx: transient, so the request loop retries it."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


def refresh_margin(expires_in: float) -> float:
    """Seconds before expiry at which the token is renewed: 10 % of its life, at most 60 s."""
    return min(MAX_EARLY_REFRESH, expires_in * 0.1)


class ClientCredentialsAuth(httpx.Auth):
    requires_response_body = True  # so error bodies (and the token JSON) are read for us

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._token_url = token_url
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._basic = f"Basic {basic}"
        self._scope = scope
        self._clock = clock
        self._telemetry = telemetry or Telemetry(ZimunStats())
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:  # never show the credentials
        return f"ClientCredentialsAuth(token_url={self._token_url!r})"

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (only if it is still `token`, when given: others may have renewed)."""
        if token is None or token == self._token:
            self._token = None
            self._renew_at = 0.0

    def _cached(self) -> str | None:
        if self._token is not None and self._clock() < self._renew_at:
            return self._token
        return None

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("ClientCredentialsAuth is async only; use httpx.AsyncClient")
        yield request  # pragma: no cover

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._cached()
        if token is None:
            async with self.lock:
                token = self._cached()
                if token is None:
                    started = self._clock()
                    self._telemetry.token_sent()
                    reply = yield self._token_request(request)
                    await reply.aread()  # an overridden async flow must read bodies itself
                    token = self._accept(reply, started)
        response = yield self._authorised(request, token)
        if response.status_code != 401:
            return
        # Expired or revoked token: renew once (unless a concurrent caller already did).
        async with self.lock:
            self.invalidate(token)
            fresh = self._cached()
            if fresh is None:
                started = self._clock()
                self._telemetry.token_sent()
                reply = yield self._token_request(request)
                await reply.aread()
                fresh = self._accept(reply, started)
        yield self._authorised(request, fresh)

    def _authorised(self, request: httpx.Request, token: str) -> httpx.Request:
        request.headers["Authorization"] = f"Bearer {token}"
        self._telemetry.api_sent(request)
        return request

    def _token_request(self, api_request: httpx.Request) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self._scope:
            form["scope"] = self._scope
        return httpx.Request(
            "POST",
            self._token_url,
            data=form,
            headers={"Authorization": self._basic, "Accept": "application/json"},
            # The same timeouts as the API call; a bare Request would have none.
            extensions={k: v for k, v in api_request.extensions.items() if k == "timeout"},
        )

    def _accept(self, response: httpx.Response, started: float) -> str:
        """Cache the token from a token response, or raise the right error."""
        self._telemetry.token_answered(response.status_code, self._clock() - started)
        body = _json(response)
        status = response.status_code
        if status >= 400:
            code = error_code(body)
            if is_retryable_status(status, code):
                raise TokenEndpointUnavailable(
                    f"token endpoint unavailable: {error_message(body, status)}",
                    status=status,
                    code=code,
                    retry_after=parse_retry_after(response.headers),
                )
            raise AuthError(_describe_token_error(status, code, body), status=status, code=code)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"token endpoint answered {status} without an access_token", status=status
            )
        expires_in = _seconds(body.get("expires_in")) or DEFAULT_EXPIRES_IN
        self._token = token
        self._renew_at = self._clock() + expires_in - refresh_margin(expires_in)
        return token


def _describe_token_error(status: int, code: str | None, body: Any) -> str:
    hints = {
        "invalid_client": "check ZIMUN_CLIENT_ID and ZIMUN_CLIENT_SECRET",
        "invalid_scope": "the client lacks a scope the bot needs",
        "unauthorized_client": "the client may not use the client-credentials grant",
        "unsupported_grant_type": "the server does not accept the client-credentials grant",
        "invalid_request": "the token request was malformed (check ZIMUN_TOKEN_URL)",
    }
    detail = error_message(body, status) if isinstance(body, dict) else f"HTTP {status}"
    hint = hints.get(code or "", "check ZIMUN_TOKEN_URL and the credentials")
    return f"Zimun token request refused ({code or status}): {detail}; {hint}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
