"""Reschedule and cancel against a server offering only one of the three documented forms:
detected without configuration, remembered, pinnable, and never fooled by a real 404."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.config.settings import Dialect
from bot.zimun import Appointment, AppointmentNotActive, NotFound, SlotUnavailable, ZimunClient
from sandbox.testing import SandboxServer
from tests.zimun.conftest import config, free_starts, make_client, service

POST_RESCHEDULE = ("POST", "/appointments/reschedule")
POST_CANCEL = ("POST", "/appointments/cancel")
PATCH = ("PATCH", "/appointments/{appointment_id}")

ONLY = {d: config(dialects=frozenset({d.value})) for d in Dialect}
EACH_FORM = pytest.mark.parametrize(
    ("sandbox_config", "form"),
    [(ONLY[d], d) for d in Dialect],
    indirect=["sandbox_config"],
    ids=[d.value for d in Dialect],
)


async def book(client: ZimunClient, index: int = 0) -> tuple[Appointment, list[datetime]]:
    consultation = await service(client, "svc_consultation")
    starts = await free_starts(client, "svc_consultation", "loc_madrid")
    held = await client.hold(service=consultation, start=starts[index], location_id="loc_madrid")
    booked = await client.confirm(held.hold_id, name="Ana", email="ana@example.com")
    return booked, starts


def form_calls(client: ZimunClient) -> dict[tuple[str, str], int]:
    return {call: client.stats.count(*call) for call in (POST_RESCHEDULE, POST_CANCEL, PATCH)}


@EACH_FORM
async def test_each_form_is_detected_and_remembered(sandbox: SandboxServer, form: Dialect) -> None:
    async with make_client(sandbox) as client:
        first, starts = await book(client, 0)
        second, _ = await book(client, 1)

        moved = await client.reschedule(first.id, starts[4])
        assert (moved.id, moved.start) == (first.id, starts[4])
        assert client.detected_dialects == {"reschedule": form}
        probing = form_calls(client)

        moved_again = await client.reschedule(second.id, starts[5])
        assert moved_again.start == starts[5]
        after = form_calls(client)
        # The second reschedule went straight to the detected form: one call, nowhere else.
        assert sum(after.values()) - sum(probing.values()) == 1

        cancelled = await client.cancel(first.id)
        assert cancelled.status == "cancelled"
        # Cancel starts with the form reschedule found, so it costs one call as well.
        assert sum(form_calls(client).values()) - sum(after.values()) == 1
        assert client.detected_dialects == {"reschedule": form, "cancel": form}

        assert (await client.cancel(first.id)).status == "cancelled"  # repeat: not an error

        free = await free_starts(client, "svc_consultation", "loc_madrid")
        assert starts[0] in free and starts[4] in free  # moved away from, then cancelled
        assert starts[5] not in free
    stored = {a.id: a.status for a in sandbox.store.appointment_list()}
    assert stored == {first.id: "cancelled", second.id: "confirmed"}


@EACH_FORM
async def test_probing_tries_the_documented_order_once(
    sandbox: SandboxServer, form: Dialect
) -> None:
    async with make_client(sandbox) as client:
        booked, starts = await book(client)
        await client.reschedule(booked.id, starts[3])
        calls = form_calls(client)
    expected = {
        Dialect.APPOINTMENT_ID: {POST_RESCHEDULE: 1, POST_CANCEL: 0, PATCH: 0},
        Dialect.BOOKING_ID: {POST_RESCHEDULE: 2, POST_CANCEL: 0, PATCH: 0},
        Dialect.PATCH: {POST_RESCHEDULE: 2, POST_CANCEL: 0, PATCH: 1},
    }
    assert calls == expected[form]


@EACH_FORM
async def test_a_pinned_form_is_used_without_probing(sandbox: SandboxServer, form: Dialect) -> None:
    async with make_client(sandbox, dialect=form) as client:
        booked, starts = await book(client)
        await client.reschedule(booked.id, starts[3])
        await client.cancel(booked.id)
        assert sum(form_calls(client).values()) == 2


@EACH_FORM
async def test_a_real_not_found_is_not_mistaken_for_a_missing_form(
    sandbox: SandboxServer, form: Dialect
) -> None:
    async with make_client(sandbox) as client:
        _, starts = await book(client)
        with pytest.raises(NotFound) as caught:
            await client.reschedule("a_missing", starts[3])
        assert caught.value.code == "appointment_not_found"
        assert client.detected_dialects == {"reschedule": form}
        # Probing stopped at the form that exists: later forms were never tried.
        if form is not Dialect.PATCH:
            assert client.stats.count(*PATCH) == 0


@EACH_FORM
async def test_errors_of_the_detected_form_are_typed(sandbox: SandboxServer, form: Dialect) -> None:
    async with make_client(sandbox) as client:
        first, starts = await book(client, 0)
        await book(client, 0)  # the first free slot now is starts[1]
        with pytest.raises(SlotUnavailable):
            await client.reschedule(first.id, starts[1])
        await client.cancel(first.id)
        with pytest.raises(AppointmentNotActive):
            await client.reschedule(first.id, starts[2])
