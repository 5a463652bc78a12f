"""The retry loop against real faults: 429 with Retry-After, 5xx, a lost confirm response
replayed by its Idempotency-Key, a dead server, and bounded attempts."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from bot.zimun import ApiUnavailable, RateLimited, ZimunClient
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import WAIT
from tests.zimun.conftest import FakeClock, Sleeps, free_starts, make_client, service


async def test_429_waits_as_told_then_succeeds(
    zimun: ZimunClient, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.faults.fail_next(1, 429, path="/locations", retry_after=3)
    assert len(await zimun.list_locations()) == 5
    assert sleeps == [3.0]
    assert sandbox.stats.count("GET", "/locations") == 2
    assert zimun.stats.retries == 1


async def test_a_huge_retry_after_is_capped(
    zimun: ZimunClient, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.faults.fail_next(1, 429, path="/locations", retry_after=3600)
    assert len(await zimun.list_locations()) == 5
    assert sleeps == [10.0]


async def test_5xx_then_success_with_growing_backoff(
    zimun: ZimunClient, sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.faults.fail_next(2, 503, path="/appointments")
    assert await zimun.list_appointments() == []
    assert len(sleeps) == 2
    assert 0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0  # 0.5 s doubling, jitter
    assert sandbox.stats.count("GET", "/appointments", 503) == 2


async def test_429_for_good_is_rate_limited_with_the_advice(
    sandbox: SandboxServer, sleeps: Sleeps
) -> None:
    sandbox.faults.fail_next(10, 429, path="/appointments", retry_after=2)
    async with make_client(sandbox, sleeps, max_retries=2) as client:
        with pytest.raises(RateLimited) as caught:
            await client.list_appointments()
    assert caught.value.retry_after == 2.0
    assert sandbox.stats.count("GET", "/appointments") == 3
    assert sleeps == [2.0, 2.0]


async def test_total_retry_time_is_bounded(sandbox: SandboxServer) -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    sandbox.faults.fail_next(10, 429, path="/appointments", retry_after=8)
    options = {"max_retries": 10, "max_retry_seconds": 12, "clock": clock}
    async with make_client(sandbox, sleeps, **options) as client:
        with pytest.raises(RateLimited):
            await client.list_appointments()
    assert sleeps == [8.0]  # a second 8 s wait would end after the 12 s budget
    assert sandbox.stats.count("GET", "/appointments") == 2


async def test_5xx_for_good_is_api_unavailable(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    sandbox.faults.fail_next(10, 500, path="/appointments")
    async with make_client(sandbox, sleeps, max_retries=3) as client:
        with pytest.raises(ApiUnavailable) as caught:
            await client.list_appointments()
    assert caught.value.status == 500
    assert sandbox.stats.count("GET", "/appointments") == 4


async def test_a_server_that_is_not_there_is_api_unavailable(sleeps: Sleeps) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = f"http://127.0.0.1:{port}"
    async with ZimunClient(
        base_url=root + "/api/v1",
        token_url=root + "/oauth/token",
        client_id="c",
        client_secret="s",
        max_retries=2,
        sleep=sleeps,
    ) as client:
        with pytest.raises(ApiUnavailable, match="network error"):
            await client.list_appointments()
    assert len(sleeps) == 2


async def test_a_lost_confirm_response_is_replayed_not_booked_twice(
    zimun: ZimunClient, sandbox: SandboxServer
) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    sandbox.faults.drop_response_next("/appointments/confirm")
    appointment = await zimun.confirm(held.hold_id, name="Ana Test", email="ana@example.com")
    assert appointment.status == "confirmed" and appointment.start == start
    assert [a.id for a in sandbox.store.appointment_list()] == [appointment.id]
    assert sandbox.stats.count("POST", "/appointments/confirm", 500) == 1
    assert sandbox.stats.count("POST", "/appointments/confirm", 201) == 1  # the replay


async def test_a_lost_hold_response_is_replayed_not_held_twice(
    zimun: ZimunClient, sandbox: SandboxServer
) -> None:
    checkup = await service(zimun, "svc_checkup")  # capacity 2: a second hold would succeed
    start = (await free_starts(zimun, "svc_checkup", "loc_berlin"))[0]
    sandbox.faults.drop_response_next("/appointments/hold", status=502)
    held = await zimun.hold(service=checkup, start=start, location_id="loc_berlin")
    assert [h.hold_id for h in sandbox.store.active_holds()] == [held.hold_id]


async def test_a_callers_idempotency_key_survives_a_restart(
    sandbox: SandboxServer,
) -> None:
    """A bot that crashed after confirming retries with its stored key: same appointment."""
    async with make_client(sandbox) as first:
        consultation = await service(first, "svc_consultation")
        start = (await free_starts(first, "svc_consultation", "loc_madrid"))[0]
        held = await first.hold(service=consultation, start=start, location_id="loc_madrid")
        booked = await first.confirm(
            held.hold_id, name="Ana", email="ana@example.com", idempotency_key="conv-42-confirm"
        )
    async with make_client(sandbox) as second:
        again = await second.confirm(
            held.hold_id, name="Ana", email="ana@example.com", idempotency_key="conv-42-confirm"
        )
    assert again.id == booked.id
    assert len(sandbox.store.appointment_list()) == 1


async def test_a_timed_out_confirm_waits_for_the_first_attempt_and_gets_its_replay(
    zimun: ZimunClient, sandbox: SandboxServer
) -> None:
    """Timeout, then 409 idempotency_request_in_progress while the first attempt still runs,
    then the first attempt's result replayed: one appointment, whatever the network did."""
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    gate = sandbox.faults.block_next("/appointments/confirm")

    class ReleaseAfterA409(Sleeps):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            if sandbox.stats.count("POST", "/appointments/confirm", 409):
                gate.release()
                await finished_server_side()

    async def finished_server_side(within: float = WAIT) -> None:
        """Until the held request has answered (its result saved for replay): a fixed pause
        was too short for a loaded machine."""
        deadline = time.monotonic() + within
        while not sandbox.stats.count("POST", "/appointments/confirm", 201):
            assert time.monotonic() < deadline, "the held confirm never finished"
            await asyncio.sleep(0.01)

    sleeps = ReleaseAfterA409()
    # The first attempt times out at the gate; a second is enough for any other answer.
    async with make_client(sandbox, sleeps, timeout=1.0, max_retries=8) as client:
        booked = await client.confirm(held.hold_id, name="Ana", email="ana@example.com")
    assert booked.start == start
    assert [a.id for a in sandbox.store.appointment_list()] == [booked.id]
    assert sandbox.stats.count("POST", "/appointments/confirm", 409) >= 1
