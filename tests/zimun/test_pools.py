"""Businesses on one Zimun host share one connection pool and one TLS context
(bot.zimun.pools), yet each keeps its own token, its own data and its own lifetime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.core.errors import AuthError
from bot.zimun import ZimunClient
from bot.zimun.pools import ZimunPools, no_cookies, pool_key
from sandbox.config import DEFAULT_SEED_PATH, DEMO_CLIENT, ClientConfig
from sandbox.testing import SandboxServer, serve_sandbox
from tests.zimun.conftest import config

OTHER = ClientConfig("studio-b", "studio-b-secret")
TWO_CLIENTS = config(clients=(DEMO_CLIENT, OTHER))


def client_for(
    sandbox: SandboxServer, http: httpx.AsyncClient, credentials: ClientConfig
) -> ZimunClient:
    return ZimunClient(
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        client_id=credentials.client_id,
        client_secret=credentials.client_secret,
        http=http,
        max_retries=0,
    )


def bearers(http: httpx.AsyncClient) -> list[str]:
    """Record the bearer token of every API request sent through `http` (not the token
    requests, which authenticate with the client's id and secret)."""
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            seen.append(header.removeprefix("Bearer "))

    http.event_hooks["request"].append(record)
    return seen


@pytest.mark.parametrize("sandbox_config", [TWO_CLIENTS], indirect=True)
async def test_two_businesses_on_one_pool_each_send_their_own_token(
    sandbox: SandboxServer,
) -> None:
    pools = ZimunPools()
    http = pools.client_for(sandbox.base_url)
    assert pools.client_for(sandbox.token_url) is http  # same host and port: same pool
    seen = bearers(http)
    first = client_for(sandbox, http, DEMO_CLIENT)
    second = client_for(sandbox, http, OTHER)
    try:
        await first.list_locations()
        first_tokens = set(seen)
        seen.clear()
        await second.list_locations()
        second_tokens = set(seen)
        assert len(first_tokens) == len(second_tokens) == 1
        assert first_tokens.isdisjoint(second_tokens)
        assert sandbox.stats.token_requests == 2  # one per business, none shared
        assert len(pools) == 1

        # A business whose credentials the host refuses gets no token from the others.
        refused = client_for(sandbox, http, ClientConfig(OTHER.client_id, "wrong-secret"))
        with pytest.raises(AuthError):
            await refused.list_services()
        await first.list_services()  # and the others go on
        await second.list_services()
    finally:
        await pools.aclose()


@pytest.mark.parametrize("sandbox_config", [TWO_CLIENTS], indirect=True)
async def test_closing_one_business_client_leaves_the_shared_pool_open(
    sandbox: SandboxServer,
) -> None:
    pools = ZimunPools()
    http = pools.client_for(sandbox.base_url)
    first = client_for(sandbox, http, DEMO_CLIENT)
    second = client_for(sandbox, http, OTHER)
    await first.list_locations()
    await first.aclose()  # a business stops (removed from the file, or restarted)
    assert not http.is_closed
    assert await second.list_services()
    await pools.aclose()  # the process ends
    assert http.is_closed
    with pytest.raises(RuntimeError):
        pools.client_for(sandbox.base_url)


@pytest.fixture
def other_org(tmp_path: Path) -> Iterator[SandboxServer]:
    """A second Zimun (another port) whose organization has other branches."""
    seed = json.loads(Path(DEFAULT_SEED_PATH).read_text())
    seed["organization"] = {"id": "org_other", "name": "Other Studios"}
    seed["locations"] = seed["locations"][:1]
    seed["locations"][0] = {**seed["locations"][0], "id": "loc_lisbon", "name": "Lisboa"}
    seed["services"] = [
        {**s, "location_ids": ["loc_lisbon"]} if "location_ids" in s else s
        for s in seed["services"]
    ]
    with serve_sandbox(config(seed=seed)) as server:
        yield server


async def test_one_shared_client_still_shows_each_business_its_own_data(
    sandbox: SandboxServer, other_org: SandboxServer
) -> None:
    """Even through one client (the pool keeps a connection per host), each business reads
    its own host with its own token."""
    pools = ZimunPools()
    http = pools.client_for(sandbox.base_url)
    demo = client_for(sandbox, http, DEMO_CLIENT)
    other = client_for(other_org, http, DEMO_CLIENT)
    try:
        demo_names = {x.name for x in await demo.list_locations()}
        other_names = {x.name for x in await other.list_locations()}
        assert other_names == {"Lisboa"}
        assert "Lisboa" not in demo_names and len(demo_names) > 1
        assert sandbox.stats.token_requests == other_org.stats.token_requests == 1
    finally:
        await pools.aclose()


async def test_every_host_gets_its_own_pool_on_one_tls_context() -> None:
    pools = ZimunPools()
    a = pools.client_for("https://zimun.example/api/v1")
    assert pools.client_for("https://ZIMUN.example:443/oauth/token") is a
    b = pools.client_for("https://eu.zimun.example/api/v1")
    c = pools.client_for("http://zimun.example/api/v1")
    assert len({id(a), id(b), id(c)}) == 3
    contexts = {id(client._transport._pool._ssl_context) for client in (a, b, c)}  # type: ignore[attr-defined]
    assert contexts == {id(pools.ssl_context)}
    await pools.aclose()


def test_pool_key_is_scheme_host_and_port() -> None:
    assert pool_key("https://Zimun.example/api/v1") == ("https", "zimun.example", 443)
    assert pool_key("http://127.0.0.1:8081/api/v1") == ("http", "127.0.0.1", 8081)
    with pytest.raises(ValueError):
        pool_key("/api/v1")


def test_a_shared_client_keeps_no_cookie() -> None:
    """A cookie one business's answer sets must not travel with another's requests."""
    cookies = httpx.Cookies(no_cookies())
    request = httpx.Request("GET", "https://zimun.example/api/v1/locations")
    response = httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, request=request)
    cookies.extract_cookies(response)
    assert not list(cookies.jar)
