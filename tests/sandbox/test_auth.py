"""OAuth2 client credentials at /oauth/token, bearer and scope checks on the API."""

from __future__ import annotations

import httpx
import pytest

from sandbox.config import ClientConfig, SandboxConfig
from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem, config

READER = ClientConfig("reader", "reader-secret", frozenset({"org:read", "availability:read"}))
TWO_CLIENTS = config(clients=(ClientConfig("demo-client", "demo-secret"), READER))


def token(
    server: SandboxServer, auth: tuple[str, str] | None = None, **data: str
) -> httpx.Response:
    form = {"grant_type": "client_credentials", **data}
    return httpx.post(
        server.token_url, auth=auth or (server.client_id, server.client_secret), data=form
    )


def test_token_has_type_lifetime_and_scopes(sandbox: SandboxServer) -> None:
    response = token(sandbox)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == {
        "org:read",
        "availability:read",
        "appointments:read",
        "appointments:write",
    }
    assert response.headers["cache-control"] == "no-store"
    assert sandbox.stats.token_requests == 1


@pytest.mark.parametrize("sandbox_config", [config(token_expires_in=False)], indirect=True)
def test_token_can_omit_expires_in(sandbox: SandboxServer) -> None:
    body = token(sandbox).json()
    assert "expires_in" not in body
    assert body["access_token"]


@pytest.mark.parametrize(
    ("auth", "data", "status", "error"),
    [
        (("demo-client", "wrong"), {}, 401, "invalid_client"),
        (("nobody", "demo-secret"), {}, 401, "invalid_client"),
        (None, {"grant_type": "password"}, 400, "unsupported_grant_type"),
        (None, {"grant_type": ""}, 400, "invalid_request"),
        (None, {"scope": "org:read admin"}, 400, "invalid_scope"),
    ],
)
def test_token_errors_follow_rfc6749(
    sandbox: SandboxServer,
    auth: tuple[str, str] | None,
    data: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = token(sandbox, auth, **data)
    assert response.status_code == status
    assert response.json()["error"] == error
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_token_wants_a_form_body(sandbox: SandboxServer) -> None:
    response = httpx.post(
        sandbox.token_url,
        auth=(sandbox.client_id, sandbox.client_secret),
        json={"grant_type": "client_credentials"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_client_credentials_in_the_form_body_are_accepted(sandbox: SandboxServer) -> None:
    response = httpx.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        },
    )
    assert response.status_code == 200


def test_api_without_a_token_is_401(sandbox: SandboxServer) -> None:
    response = httpx.get(sandbox.base_url + "/locations")
    assert_problem(response, 401, "invalid_token")
    assert "invalid_token" in response.headers["www-authenticate"]


def test_unknown_token_is_401(sandbox: SandboxServer) -> None:
    response = httpx.get(
        sandbox.base_url + "/locations", headers={"Authorization": "Bearer not-a-token"}
    )
    assert_problem(response, 401, "invalid_token")


def test_token_expires_on_the_sandbox_clock(sandbox: SandboxServer, api: Api) -> None:
    assert api.get("/locations").status_code == 200
    sandbox.clock.advance(3599)
    assert api.get("/locations").status_code == 200
    sandbox.clock.advance(1)
    assert_problem(api.get("/locations"), 401, "invalid_token")
    api.login()
    assert api.get("/locations").status_code == 200


@pytest.mark.parametrize("sandbox_config", [config(token_ttl=60)], indirect=True)
def test_token_lifetime_is_configurable(sandbox: SandboxServer, api: Api) -> None:
    assert token(sandbox).json()["expires_in"] == 60
    api.login()
    sandbox.clock.advance(61)
    assert_problem(api.get("/services"), 401, "invalid_token")


def test_revoked_tokens_are_401(sandbox: SandboxServer, api: Api) -> None:
    api.login()
    sandbox.auth.revoke_all()
    assert_problem(api.get("/locations"), 401, "invalid_token")


@pytest.mark.parametrize("sandbox_config", [TWO_CLIENTS], indirect=True)
def test_a_restricted_client_gets_403_insufficient_scope(sandbox: SandboxServer) -> None:
    reader = Api(sandbox, "reader", "reader-secret")
    assert reader.get("/locations").status_code == 200
    body = assert_problem(
        reader.post(
            "/appointments/hold",
            {"service_id": "svc_physio", "appointment_time": "2026-11-23T10:00:00+01:00"},
        ),
        403,
        "insufficient_scope",
    )
    assert body["error"]["details"]["required_scope"] == "appointments:write"
    assert_problem(reader.get("/appointments"), 403, "insufficient_scope")
    assert sandbox.store.active_holds() == []
    reader.close()


@pytest.mark.parametrize("sandbox_config", [TWO_CLIENTS], indirect=True)
def test_a_client_cannot_ask_for_scopes_beyond_its_own(sandbox: SandboxServer) -> None:
    response = token(sandbox, ("reader", "reader-secret"), scope="appointments:write")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_narrower_requested_scope_is_enforced(sandbox: SandboxServer, api: Api) -> None:
    api.login(scope="org:read")
    assert api.get("/services").status_code == 200
    assert_problem(
        api.get("/availability", service_id="svc_physio", days_ahead=1),
        403,
        "insufficient_scope",
    )


def test_default_demo_credentials(sandbox: SandboxServer) -> None:
    assert (sandbox.client_id, sandbox.client_secret) == ("demo-client", "demo-secret")
    assert isinstance(sandbox.config, SandboxConfig)


MANY = config(extra_clients=300)


@pytest.mark.parametrize("sandbox_config", [MANY], indirect=True)
def test_one_sandbox_accepts_many_businesses_credentials(sandbox: SandboxServer) -> None:
    """Numbered clients (--clients N): every business of a bench or test has its own."""
    assert sandbox.numbered_client(1) == ClientConfig("business-1", "secret-1")
    assert sandbox.numbered_client(300).client_id == "business-300"
    for n in (1, 150, 300):
        client = sandbox.numbered_client(n)
        assert token(sandbox, (client.client_id, client.client_secret)).status_code == 200
    assert token(sandbox).status_code == 200  # the demo client as ever
    assert token(sandbox, ("business-301", "secret-301")).status_code == 401
    assert token(sandbox, ("business-1", "secret-2")).status_code == 401
    with pytest.raises(IndexError):
        sandbox.numbered_client(301)


def test_numbered_clients_take_their_prefixes_and_must_not_clash() -> None:
    ours = config(extra_clients=2, client_prefix="shop", secret_prefix="pw")
    assert [(c.client_id, c.client_secret) for c in ours.all_clients[1:]] == [
        ("shop-1", "pw-1"),
        ("shop-2", "pw-2"),
    ]
    assert config().all_clients == config().clients  # none unless asked
    with pytest.raises(ValueError, match="same client_id"):
        config(clients=(ClientConfig("business-1", "x"),), extra_clients=1)
    with pytest.raises(ValueError, match="extra_clients"):
        config(extra_clients=-1)
