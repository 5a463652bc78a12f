"""Catalog caching (one load shared by concurrent callers, renewed after its TTL),
pagination over several pages, and tolerance of servers that misbehave."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.zimun import ApiUnavailable, InvalidResponse, ZimunClient
from sandbox.testing import SandboxServer
from tests.zimun import loopback
from tests.zimun.conftest import FakeClock, Sleeps, config, make_client

# The seed's branches, in order.
ALL_LOCATIONS = ["loc_madrid", "loc_milan", "loc_berlin", "loc_madrid_24h", "loc_cdmx"]


async def test_catalog_is_cached_and_loaded_once_for_concurrent_callers(
    sandbox: SandboxServer,
) -> None:
    async with make_client(sandbox) as client:
        results = await asyncio.gather(*(client.list_locations() for _ in range(20)))
        assert all([x.id for x in r] == ALL_LOCATIONS for r in results)
        assert (await client.get_location("loc_milan")).timezone == "Europe/Rome"  # type: ignore[union-attr]
        assert await client.get_location("loc_nowhere") is None
        assert (await client.get_service("svc_physio")).duration_minutes == 60  # type: ignore[union-attr]
        assert await client.get_service("svc_nowhere") is None
    assert sandbox.stats.count("GET", "/locations") == 1
    assert sandbox.stats.count("GET", "/services") == 1
    assert sandbox.stats.token_requests == 1


async def test_catalog_is_reloaded_after_its_ttl(sandbox: SandboxServer) -> None:
    clock = FakeClock()
    async with make_client(sandbox, clock=clock, catalog_ttl=300) as client:
        await client.list_services()
        clock.advance(299)
        await client.list_services()
        assert sandbox.stats.count("GET", "/services") == 1
        clock.advance(2)
        await client.list_services()
    assert sandbox.stats.count("GET", "/services") == 2


async def test_a_failed_catalog_load_is_not_cached(sandbox: SandboxServer, sleeps: Sleeps) -> None:
    sandbox.faults.fail_next(10, 503, path="/services")
    async with make_client(sandbox, sleeps, max_retries=1) as client:
        with pytest.raises(ApiUnavailable):
            await client.list_services()
        sandbox.faults.clear()
        assert len(await client.list_services()) == 6


async def test_availability_is_never_cached(zimun: ZimunClient, sandbox: SandboxServer) -> None:
    for _ in range(2):
        await zimun.get_availability("svc_physio", days_ahead=3)
    assert sandbox.stats.count("GET", "/availability") == 2


@pytest.mark.parametrize("sandbox_config", [config(max_page_size=2)], indirect=True)
async def test_every_list_follows_next_page_token(sandbox: SandboxServer) -> None:
    async with make_client(sandbox) as client:
        locations = await client.list_locations()
        services = await client.list_services()
        consultation = next(s for s in services if s.id == "svc_consultation")
        for n in range(3):
            availability = await client.get_availability(
                "svc_consultation", location_id="loc_madrid", days_ahead=7
            )
            start = [s.start for d in availability.days for s in d.slots][n]
            held = await client.hold(service=consultation, start=start, location_id="loc_madrid")
            await client.confirm(held.hold_id, name="Ana", email="ana@example.com")
        appointments = await client.list_appointments()
    assert [x.id for x in locations] == ALL_LOCATIONS
    assert len(services) == 6
    assert len(appointments) == 3 and len({a.id for a in appointments}) == 3
    assert sandbox.stats.count("GET", "/locations") == 3
    assert sandbox.stats.count("GET", "/services") == 3
    assert sandbox.stats.count("GET", "/appointments") == 2


# -- servers the sandbox will not imitate ---------------------------------------------------


async def endless_pages(request: Request) -> Response:
    token = request.query_params.get("page_token") or "first"
    return JSONResponse({"items": [{"id": f"loc_{token}"}], "next_page_token": "same"})


async def html_then_json(request: Request) -> Response:
    if request.app.state.failed:
        return JSONResponse([{"service_id": "s_1", "duration": 20}])  # a bare list
    request.app.state.failed = True
    return PlainTextResponse("<html><h1>502 Bad Gateway</h1></html>", status_code=502)


async def not_an_appointment(request: Request) -> Response:
    return JSONResponse({"status": "confirmed", "note": "no id here"})


async def test_a_repeated_page_token_does_not_loop_forever() -> None:
    app = loopback.app(Route("/api/v1/locations", endless_pages))
    with loopback.serve(app) as server:
        async with make_server_client(server) as client:
            locations = await client.list_locations()
    assert [x.id for x in locations] == ["loc_first", "loc_same"]


async def test_an_html_error_page_is_retried_and_a_bare_list_accepted() -> None:
    app = loopback.app(Route("/api/v1/services", html_then_json))
    app.state.failed = False
    with loopback.serve(app) as server:
        async with make_server_client(server) as client:
            services = await client.list_services()
    assert [(s.id, s.duration_minutes) for s in services] == [("s_1", 20)]
    assert client.stats.count("GET", "/services") == 2


async def test_a_success_body_without_an_id_names_the_field() -> None:
    app = loopback.app(Route("/api/v1/appointments/{appointment_id}", not_an_appointment))
    with loopback.serve(app) as server:
        async with make_server_client(server) as client:
            with pytest.raises(InvalidResponse, match="Appointment: field 'id' is missing"):
                await client.get_appointment("a_1")


def make_server_client(server: loopback.Loopback) -> ZimunClient:
    return ZimunClient(
        base_url=server.base_url,
        token_url=server.token_url,
        client_id="c",
        client_secret="s",
        sleep=Sleeps(),
    )
