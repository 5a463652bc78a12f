"""The booking flow through the client: holds block, conflicts and expiry become typed errors,
releases free the slot, and the server's validation messages reach the caller."""

from __future__ import annotations

import pytest

from bot.zimun import (
    BadRequest,
    HoldAlreadyConfirmed,
    HoldExpired,
    InvalidResponse,
    LocationRequired,
    NotBookable,
    NotFound,
    SlotUnavailable,
    ZimunClient,
)
from sandbox.testing import SandboxServer
from tests.zimun.conftest import SUNDAY, TUESDAY, free_starts, make_client, service


async def test_hold_then_confirm(zimun: ZimunClient, sandbox: SandboxServer) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    assert (held.status, held.start, held.location_id) == ("held", start, "loc_madrid")
    assert held.expires_at > sandbox.clock.now()
    assert start not in await free_starts(zimun, "svc_consultation", "loc_madrid")
    booked = await zimun.confirm(held.hold_id, name="Ana Test", email="ana@example.com")
    assert (booked.status, booked.start, booked.contact_email) == (
        "confirmed",
        start,
        "ana@example.com",
    )
    assert await zimun.get_appointment(booked.id) == booked
    assert [a.id for a in await zimun.list_appointments()] == [booked.id]


async def test_a_taken_slot_is_slot_unavailable(zimun: ZimunClient) -> None:
    consultation = await service(zimun, "svc_consultation")  # capacity 1
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    with pytest.raises(SlotUnavailable) as caught:
        await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    assert caught.value.status == 409


async def test_an_expired_hold_cannot_be_confirmed(
    zimun: ZimunClient, sandbox: SandboxServer
) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    sandbox.clock.advance(601)
    with pytest.raises(HoldExpired):
        await zimun.confirm(held.hold_id, name="Ana", email="ana@example.com")
    assert sandbox.store.appointment_list() == []


async def test_a_hold_confirmed_twice_with_new_keys_is_refused(zimun: ZimunClient) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    await zimun.confirm(held.hold_id, name="Ana", email="ana@example.com")
    with pytest.raises(HoldAlreadyConfirmed):
        await zimun.confirm(held.hold_id, name="Ana", email="ana@example.com")


async def test_release_frees_the_slot_and_is_harmless_to_repeat(
    zimun: ZimunClient, sandbox: SandboxServer
) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    await zimun.release_hold(held.hold_id)
    await zimun.release_hold(held.hold_id)
    await zimun.release_hold("h_does_not_exist")
    assert start in await free_starts(zimun, "svc_consultation", "loc_madrid")
    assert sandbox.store.active_holds() == []
    again = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    assert again.hold_id != held.hold_id


async def test_a_service_at_several_locations_needs_one(zimun: ZimunClient) -> None:
    with pytest.raises(LocationRequired):
        await zimun.get_availability("svc_consultation", day=TUESDAY)


async def test_a_closed_day_is_not_bookable(zimun: ZimunClient) -> None:
    consultation = await service(zimun, "svc_consultation")
    availability = await zimun.get_availability(
        "svc_consultation", location_id="loc_madrid", day=SUNDAY
    )
    assert availability.slots_on(SUNDAY) == ()
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    sunday = start.replace(day=SUNDAY.day)
    with pytest.raises(NotBookable):
        await zimun.hold(service=consultation, start=sunday, location_id="loc_madrid")


async def test_days_ahead_lists_several_days(zimun: ZimunClient) -> None:
    availability = await zimun.get_availability(
        "svc_consultation", location_id="loc_berlin", days_ahead=7
    )
    assert len([d for d in availability.days if d.bookable]) >= 4
    assert availability.timezone == "Europe/Berlin"


async def test_an_invalid_email_is_a_bad_request_with_the_servers_message(
    zimun: ZimunClient,
) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    held = await zimun.hold(service=consultation, start=start, location_id="loc_madrid")
    with pytest.raises(BadRequest, match="contact_email"):
        await zimun.confirm(held.hold_id, name="Ana", email="not-an-email")


async def test_unknown_appointment_is_not_found(zimun: ZimunClient) -> None:
    with pytest.raises(NotFound) as caught:
        await zimun.get_appointment("a_missing")
    assert caught.value.code == "appointment_not_found"


async def test_ids_cannot_escape_their_path_segment(
    zimun: ZimunClient, sandbox: SandboxServer
) -> None:
    calls = zimun.stats.total_calls
    with pytest.raises(InvalidResponse):  # refused before any request (test_client_paths.py)
        await zimun.get_appointment("../locations")
    assert sandbox.stats.count("GET", "/locations") == 0
    assert zimun.stats.total_calls == calls


async def test_the_italian_hold_body_is_accepted(sandbox: SandboxServer) -> None:
    async with make_client(sandbox, organization_id="org_demo") as client:
        whitening = await service(client, "svc_whitening")
        start = (await free_starts(client, "svc_whitening", "loc_milan"))[0]
        held = await client.hold(service=whitening, start=start, location_id="loc_milan")
    assert held.service_id == "svc_whitening"


async def test_a_naive_time_is_refused_before_any_request(zimun: ZimunClient) -> None:
    consultation = await service(zimun, "svc_consultation")
    start = (await free_starts(zimun, "svc_consultation", "loc_madrid"))[0]
    calls = zimun.stats.total_calls
    with pytest.raises(ValueError, match="timezone"):
        await zimun.hold(service=consultation, start=start.replace(tzinfo=None), location_id=None)
    assert zimun.stats.total_calls == calls
