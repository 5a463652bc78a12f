"""OAuth2 client credentials against the sandbox: one token for many calls, renewal before
expiry, recovery from a 401, and clear errors that never show the secret."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.zimun import ApiUnavailable, AuthError
from sandbox.config import ClientConfig
from sandbox.testing import SandboxServer
from tests.zimun.conftest import FakeClock, Sleeps, config, make_client


async def test_twenty_concurrent_calls_share_one_token(sandbox: SandboxServer) -> None:
    async with make_client(sandbox) as client:
        results = await asyncio.gather(*(client.list_appointments() for _ in range(20)))
    assert results == [[]] * 20
    assert sandbox.stats.token_requests == 1
    assert client.stats.token_requests == 1
    assert sandbox.stats.count("GET", "/appointments") == 20


async def test_the_token_is_renewed_shortly_before_it_expires(sandbox: SandboxServer) -> None:
    clock = FakeClock()
    async with make_client(sandbox, clock=clock, catalog_ttl=0) as client:
        await client.list_appointments()
        clock.advance(3600 - 61)  # still inside the early-refresh margin of 60 s
        await client.list_appointments()
        assert sandbox.stats.token_requests == 1
        clock.advance(2)
        await client.list_appointments()
    assert sandbox.stats.token_requests == 2
    assert sandbox.stats.count("GET", "/appointments", 401) == 0  # renewed, not rejected


@pytest.mark.parametrize("sandbox_config", [config(token_expires_in=False)], indirect=True)
async def test_without_expires_in_a_short_life_is_assumed(sandbox: SandboxServer) -> None:
    clock = FakeClock()
    async with make_client(sandbox, clock=clock) as client:
        await client.list_appointments()
        clock.advance(250)
        await client.list_appointments()
        assert sandbox.stats.token_requests == 1
        clock.advance(50)  # 300 s assumed, renewed 30 s early
        await client.list_appointments()
    assert sandbox.stats.token_requests == 2


async def test_a_token_expired_server_side_is_renewed_once(sandbox: SandboxServer) -> None:
    async with make_client(sandbox) as client:
        await client.list_appointments()
        sandbox.clock.advance(3601)  # the server's clock: the client still trusts its token
        assert await client.list_appointments() == []
    assert sandbox.stats.count("GET", "/appointments", 401) == 1
    assert sandbox.stats.count("GET", "/appointments", 200) == 2
    assert sandbox.stats.token_requests == 2
    assert client.stats.count("GET", "/appointments") == 3  # the 401 and its resend count


async def test_revoked_tokens_recover_with_one_token_request_for_all(
    sandbox: SandboxServer,
) -> None:
    async with make_client(sandbox) as client:
        await client.list_appointments()
        sandbox.auth.revoke_all()
        await asyncio.gather(*(client.list_appointments() for _ in range(10)))
    assert sandbox.stats.token_requests == 2


async def test_wrong_secret_is_an_auth_error_without_the_secret(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.zimun")
    secret = "wrong-secret-1234"
    async with make_client(sandbox, client_secret=secret) as client:
        with pytest.raises(AuthError) as caught:
            await client.list_appointments()
    message = str(caught.value)
    assert "invalid_client" in message and "ZIMUN_CLIENT_SECRET" in message
    assert secret not in message and secret not in caplog.text
    assert sandbox.stats.token_requests == 1  # a configuration error is not retried


async def test_logs_never_show_the_token(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.zimun")
    async with make_client(sandbox) as client:
        await client.list_appointments()
    assert "GET /appointments -> 200 attempt=1" in caplog.text
    assert "Bearer" not in caplog.text and sandbox.client_secret not in caplog.text
    assert "zt_" not in caplog.text  # the sandbox's token prefix


SCOPED = ClientConfig("reader", "reader-secret", scopes=frozenset({"org:read"}))


@pytest.mark.parametrize("sandbox_config", [config(clients=(SCOPED,))], indirect=True)
async def test_a_missing_scope_is_an_auth_error(sandbox: SandboxServer) -> None:
    async with make_client(sandbox) as client:
        assert len(await client.list_locations()) == 5
        with pytest.raises(AuthError) as caught:
            await client.list_appointments()
    assert caught.value.status == 403


async def test_token_endpoint_outage_is_retried(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    sandbox.faults.token_fail_next(1, 429, retry_after=2)
    sandbox.faults.token_fail_next(1, 503)
    async with make_client(sandbox, sleeps) as client:
        assert await client.list_appointments() == []
    assert sandbox.stats.token_requests == 3
    assert sleeps[0] == 2.0 and len(sleeps) == 2


async def test_token_endpoint_down_for_good_is_api_unavailable(
    sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.faults.token_fail_next(10, 503)
    async with make_client(sandbox, sleeps, max_retries=2) as client:
        with pytest.raises(ApiUnavailable):
            await client.list_appointments()
    assert sandbox.stats.token_requests == 3
