"""A complete booking, as a customer does it, in each language."""

from __future__ import annotations

import pytest

from bot.core.payload import Action
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.conftest import LANGUAGES, customer
from tests.booking.driver import Chat


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_book_from_start_to_confirmation(
    lang: str, engine, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = Chat(engine, customer(lang=lang))
    await chat.command("start")
    assert chat.reply.language == lang
    assert chat.shows("What would you like to do?")
    await chat.tap("📅 Book an appointment")
    assert chat.shows("Where would you like your appointment?")
    await chat.tap("Madrid – Chamberí")
    assert chat.shows("Which service would you like at {location}?")
    await chat.tap_msg("{service} ({duration})", service="Consultation")
    assert chat.shows("Which day in {month} suits you? Days marked · can't be booked.")
    if not chat.actions(Action.DAY):
        await chat.tap_action(Action.MONTH_NEXT)
    await chat.tap_action(Action.DAY)
    assert chat.shows("Available times on {date}:")
    await chat.tap_action(Action.TIME)
    assert chat.shows("What name should the appointment be under? Please type it.")
    assert len(sandbox.store.active_holds()) == 1
    await chat.tap("Use “{name}”")
    assert chat.shows("Which email address should I send the confirmation to? Please type it.")
    await chat.say("ana@example.com")
    assert chat.shows("Please check the details:")
    await chat.tap("✅ Confirm")
    screen = chat.reply.screens[-1]
    assert not screen.edit and screen.attachment is not None
    assert screen.attachment.content.startswith(b"BEGIN:VCALENDAR")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}.")
    appointments = sandbox.store.appointment_list()
    assert len(appointments) == 1
    assert appointments[0].contact_email == "ana@example.com"
    rows = storage.bookings_for_user(1001)
    assert [r.appointment_id for r in rows] == [appointments[0].appointment_id]
    assert (rows[0].service_id, rows[0].location_id) == ("svc_consultation", "loc_madrid")
    assert rows[0].timezone == "Europe/Madrid" and rows[0].start == appointments[0].start
    assert not sandbox.store.active_holds()
    assert not chat.untranslated()
