"""Fixtures for the sandbox's own tests: a fixed Monday, and a small authenticated HTTP helper."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import SandboxServer

# Building an SSL context costs ~30 ms per httpx client; plain-HTTP tests share one.
SSL = ssl.create_default_context()

# Monday 23 November 2026, 08:00 UTC = 09:00 in Madrid, Milan and Berlin.
MONDAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def config(**changes: Any) -> SandboxConfig:
    """The sandbox config these tests use: the clock frozen at MONDAY, plus `changes`."""
    return SandboxConfig(now=MONDAY, freeze_clock=True, **changes)


@pytest.fixture
def sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    param = getattr(request, "param", None)
    return param if param is not None else config()


@dataclass
class Api:
    """A logged-in HTTP client for one sandbox; returns raw httpx responses to assert on."""

    server: SandboxServer
    client_id: str | None = None
    client_secret: str | None = None
    http: httpx.Client = field(init=False)
    token: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.base_url, timeout=10, verify=SSL)

    def login(self, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        response = self.http.post(
            self.server.token_url,
            auth=(
                self.client_id or self.server.client_id,
                self.client_secret or self.server.client_secret,
            ),
            data=data,
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        return self.token

    def _headers(self, key: str | None) -> dict[str, str]:
        if not self.token:
            self.login()
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self._headers(None))

    def post(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self._headers(key))

    def patch(self, path: str, body: Any, key: str | None = None) -> httpx.Response:
        return self.http.patch(path, json=body, headers=self._headers(key))

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers=self._headers(None))

    # -- the common flow, for tests whose subject is something else ------------------------

    def slots(self, service_id: str, location_id: str | None, day: str) -> list[str]:
        params = {"service_id": service_id, "date": day}
        if location_id:
            params["location_id"] = location_id
        response = self.get("/availability", **params)
        assert response.status_code == 200, response.text
        return [s["start_time"] for s in response.json()["slots"]]

    def hold(self, service_id: str, when: str, location_id: str | None = None) -> httpx.Response:
        body = {"service_id": service_id, "appointment_time": when}
        if location_id:
            body["location_id"] = location_id
        return self.post("/appointments/hold", body)

    def book(self, service_id: str, when: str, location_id: str | None = None) -> dict[str, Any]:
        held = self.hold(service_id, when, location_id)
        assert held.status_code == 201, held.text
        confirmed = self.post(
            "/appointments/confirm",
            {
                "hold_id": held.json()["hold_id"],
                "contact_name": "Ana Test",
                "contact_email": "ana@example.com",
            },
        )
        assert confirmed.status_code == 201, confirmed.text
        return confirmed.json()

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(sandbox: SandboxServer) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.close()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The contract's error body: RFC 9457 fields plus the nested error object, same code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["error"]["code"] == code
    assert body["detail"] == body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert body["type"] and body["title"]
    return body
