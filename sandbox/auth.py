"""OAuth2 client credentials (RFC 6749 §4.4) and bearer checks.

Token errors use the RFC 6749 §5.2 body (`{"error", "error_description"}`), not the API's problem
body: that is what an OAuth2 client library expects from a token endpoint. Token lifetime is
measured on the sandbox clock, so a test expires a token by advancing the clock.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse

from sandbox.clock import Clock
from sandbox.config import ClientConfig
from sandbox.errors import ApiError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Grant:
    token: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime


class Auth:
    def __init__(
        self,
        clients: tuple[ClientConfig, ...],
        clock: Clock,
        token_ttl: float,
        *,
        include_expires_in: bool = True,
    ) -> None:
        self.clients = {c.client_id: c for c in clients}
        self.clock = clock
        self.token_ttl = token_ttl
        self.include_expires_in = include_expires_in
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    # -- token endpoint --------------------------------------------------------------------

    async def token_endpoint(self, request: Request) -> JSONResponse:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return oauth_error(400, "invalid_request", "use a form-encoded body")
        # Parsed by hand: a urlencoded body needs no python-multipart dependency.
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        client = self._client(request, form.get("client_id"), form.get("client_secret"))
        if client is None:
            return oauth_error(
                401,
                "invalid_client",
                "client authentication failed",
                {"WWW-Authenticate": 'Basic realm="zimun"'},
            )
        grant_type = form.get("grant_type")
        if not grant_type:
            return oauth_error(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", f"{grant_type!r} is not supported")
        requested = str(form.get("scope") or "").split()
        scopes = frozenset(requested) if requested else client.scopes
        if not scopes <= client.scopes:
            extra = " ".join(sorted(scopes - client.scopes))
            return oauth_error(400, "invalid_scope", f"scope not allowed for this client: {extra}")
        grant = self.issue(client.client_id, scopes)
        body: dict[str, object] = {
            "access_token": grant.token,
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant.scopes)),
        }
        if self.include_expires_in:
            body["expires_in"] = int(self.token_ttl)
        return JSONResponse(body, headers=NO_STORE)

    def _client(
        self, request: Request, form_id: object, form_secret: object
    ) -> ClientConfig | None:
        client_id, secret = _basic(request.headers.get("authorization", ""))
        if client_id is None and isinstance(form_id, str):  # RFC 6749 §2.3.1 allows the body
            client_id, secret = form_id, form_secret if isinstance(form_secret, str) else ""
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.client_secret, secret or ""):
            return None
        return client

    def issue(self, client_id: str, scopes: frozenset[str]) -> Grant:
        grant = Grant(
            token=f"zt_{secrets.token_urlsafe(24)}",
            client_id=client_id,
            scopes=scopes,
            expires_at=self.clock.now() + timedelta(seconds=self.token_ttl),
        )
        with self._lock:
            self._grants[grant.token] = grant
        return grant

    def revoke_all(self) -> None:
        """Forget every token (tests: force the client through a 401 and a refresh)."""
        with self._lock:
            self._grants.clear()

    # -- bearer check ----------------------------------------------------------------------

    def authorize(self, request: Request, scope: str) -> Grant:
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise _invalid_token("missing bearer token")
        with self._lock:
            grant = self._grants.get(token.strip())
        if grant is None:
            raise _invalid_token("unknown access token")
        if self.clock.now() >= grant.expires_at:
            raise _invalid_token("the access token has expired")
        if scope not in grant.scopes:
            raise ApiError(
                403,
                "insufficient_scope",
                f"this call needs the {scope!r} scope",
                {"required_scope": scope},
                {
                    "WWW-Authenticate": (
                        f'Bearer realm="zimun", error="insufficient_scope", scope="{scope}"'
                    )
                },
            )
        return grant


def _invalid_token(message: str) -> ApiError:
    return ApiError(
        401,
        "invalid_token",
        message,
        headers={"WWW-Authenticate": 'Bearer realm="zimun", error="invalid_token"'},
    )


def _basic(header: str) -> tuple[str | None, str | None]:
    kind, _, encoded = header.partition(" ")
    if kind.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None, None
    return unquote(client_id), unquote(secret)  # RFC 6749 §2.3.1 form-encodes both


def oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )
