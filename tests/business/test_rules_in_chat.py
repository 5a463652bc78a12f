"""The operator's rules at work in the conversation, against the sandbox over HTTP: which
branches and services are offered (deep links included), the lead time, and the change cutoff
with the contact line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.core.payload import Action, booking_data
from bot.core.state import ChatState, Step
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.conftest import MONDAY
from tests.booking.driver import Chat
from tests.booking.steps import MADRID, book_one, to_calendar, to_times
from tests.business.conftest import MakeChat

CONTACT = "+34 600 000 000 · Calle Mayor 1 · https://sonrisa.example"
SERVICE_LIST = "Which service would you like at {location}?"
BRANCH_LIST = "Where would you like your appointment?"
CALENDAR = "Which day in {month} suits you? Days marked · can't be booked."
MENU = "What would you like to do?"
CONTACT_LINE = "<b>Contact:</b> {contact}"


def state_of(storage: Storage, chat_id: int = 1001) -> ChatState:
    row = storage.load_conversation(chat_id)
    assert row is not None
    return ChatState.loads(row.state)


def service_names(chat: Chat) -> set[str]:
    """The services on the current list (labels "{service} ({duration})")."""
    return {
        str(b.label.values["service"])
        for b in chat.buttons
        if getattr(b.label, "key", None) == "{service} ({duration})"
    }


async def book_on_day(chat: Chat, nth: int) -> None:
    """Book the first time of the nth choosable day (0: today, 2: Wednesday)."""
    await to_calendar(chat)
    await chat.tap_action(Action.DAY, nth)
    await chat.tap_action(Action.TIME)
    await chat.tap("Use “{name}”")
    await chat.say("ana@example.com")
    await chat.tap("✅ Confirm")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}."), chat.describe()


def branch_names(chat: Chat) -> list[str]:
    return [b.label.text for b in chat.actions(Action.PICK)]  # type: ignore[union-attr]


# ---- which branches and services ----------------------------------------------------------


async def test_a_hidden_service_never_appears(make_chat: MakeChat) -> None:
    chat = make_chat(HIDE_SERVICES="svc_checkup")
    await chat.command("book")
    for branch in branch_names(chat):
        await chat.tap(branch)
        if not chat.shows(SERVICE_LIST):  # one service left there: straight to its calendar
            assert chat.shows(CALENDAR)
            await chat.tap("« Back")
        assert "Quick check-up" not in service_names(chat)
        assert service_names(chat) & {"Consultation", "Urgent care"}
        await chat.tap("« Back")
    # Deep links to it: not recognised, so the customer is only welcomed...
    await chat.command("start", "svc_checkup")
    assert chat.shows(MENU) and not chat.shows(CALENDAR)
    assert chat.shows(
        "👋 Welcome! I can book an appointment for you, and later reschedule or cancel it."
    )
    # ...or, with a branch, offered that branch's other services.
    await chat.command("start", "loc_madrid__svc_checkup")
    assert chat.shows(SERVICE_LIST)
    assert service_names(chat) == {"Consultation", "Dental cleaning"}


async def test_a_hidden_branch_and_a_service_only_it_offers(make_chat: MakeChat) -> None:
    chat = make_chat(HIDE_LOCATIONS="loc_berlin")
    await chat.command("book")
    assert "Berlin – Prenzlauer Berg" not in branch_names(chat)
    assert branch_names(chat)[:2] == [MADRID, "Milano – Porta Romana"]
    for link in ("loc_berlin", "svc_physio", "loc_berlin__svc_physio"):
        await chat.command("start", link)
        assert chat.shows(MENU), link
    await chat.command("start", "loc_milan__svc_consultation")  # still works
    assert chat.shows(CALENDAR)


async def test_the_order_list_orders_and_may_be_the_allow_list(
    make_chat: MakeChat, tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[locations]\norder = ["loc_milan", "loc_madrid"]\nonly_listed = true\n'
        '[services]\norder = ["svc_cleaning", "svc_consultation"]\n',
        encoding="utf-8",
    )
    chat = make_chat(BOT_CONFIG=str(config))
    await chat.command("book")
    assert branch_names(chat) == ["Milano – Porta Romana", MADRID]
    await chat.tap(MADRID)
    listed = [str(b.label.values["service"]) for b in chat.actions(Action.PICK)]  # type: ignore[union-attr]
    assert listed == ["Dental cleaning", "Consultation", "Quick check-up"]
    await chat.command("start", "loc_berlin")
    assert chat.shows(MENU)


async def test_nothing_offered_says_whom_to_call(make_chat: MakeChat) -> None:
    everywhere = "loc_madrid,loc_milan,loc_berlin,loc_madrid_24h,loc_cdmx"
    chat = make_chat(HIDE_LOCATIONS=everywhere, CONTACT=CONTACT)
    await chat.command("book")
    assert chat.shows("Sorry, no appointments can be booked right now.")
    assert chat.shows(CONTACT_LINE)
    assert CONTACT in chat.rendered[0]


# ---- the booking window -------------------------------------------------------------------


async def test_a_time_the_lead_time_reached_is_not_held(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    """Times were shown; the customer waited until the first one is inside the lead time:
    tapping it holds nothing."""
    chat = make_chat(BOOKING_LEAD_TIME="2h")
    await to_times(chat)
    first = state_of(storage).draft.slots[0]
    sandbox.clock.set(first - timedelta(hours=1))
    await chat.tap_action(Action.TIME)
    assert not sandbox.store.active_holds()
    assert state_of(storage).nav.step != Step.NAME
    assert chat.shows(
        "Sorry, someone else has just booked that time. Here are the times still available:"
    )


async def test_a_reschedule_to_a_time_the_lead_time_reached_is_refused(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = make_chat(BOOKING_LEAD_TIME="2h")
    await book_on_day(chat, 2)
    [booked] = sandbox.store.appointment_list()
    await chat.command("mybookings")
    await chat.tap("{when} · {service}")
    await chat.tap("🔁 Reschedule")
    await chat.tap_action(Action.DAY, 0)  # today: earlier than the booking
    await chat.tap_action(Action.TIME)
    new_start = state_of(storage).managing.new_start
    assert new_start is not None
    sandbox.clock.set(new_start - timedelta(minutes=90))
    await chat.tap("Yes, reschedule")
    assert chat.shows(
        "Sorry, that time is now too soon to book. Here are the times still available:"
    )
    [after] = sandbox.store.appointment_list()
    assert after.start == booked.start


async def test_the_lead_time_hides_the_next_hours(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    """At 10:00 in Madrid with a 2 h lead time, today's first time shown is 12:00."""
    now = sandbox.clock.set(MONDAY + timedelta(hours=3))
    chat = make_chat(BOOKING_LEAD_TIME="2h")
    await to_calendar(chat)
    await chat.tap_action(Action.DAY)  # the first choosable day: today
    state = state_of(storage)
    assert state.draft.day is not None and state.draft.day.isoformat() == "2026-11-23"
    assert min(state.draft.slots) == now + timedelta(hours=2)


async def test_the_horizon_ends_the_calendar(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = make_chat(BOOKING_HORIZON="5d")  # Monday 23 November + 5 days: Saturday the 28th
    await to_calendar(chat)
    month = state_of(storage).draft.month
    assert month is not None
    choosable = [n for n, code in enumerate(month.codes, 1) if code in "fu"]
    assert choosable and max(choosable) <= 28
    assert not chat.actions(Action.MONTH_NEXT)  # December is beyond the horizon


# ---- changes: cutoff, allowed, whom to call -----------------------------------------------


async def open_booking(chat: Chat) -> None:
    await chat.command("mybookings")
    await chat.tap("{when} · {service}")
    assert chat.shows("<b>Reference:</b> {reference}")


async def test_a_reschedule_inside_the_cutoff_is_refused_with_the_contact_line(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = make_chat(CHANGE_CUTOFF="24h", CONTACT=CONTACT)
    await book_one(chat)  # today, a few hours ahead
    [booked] = sandbox.store.appointment_list()
    await open_booking(chat)
    await chat.tap("🔁 Reschedule")
    refusal = "This appointment starts in less than {cutoff}, so it can no longer be changed here."
    assert chat.shows(refusal) and chat.shows(CONTACT_LINE)
    assert "24\u00a0h" in chat.rendered[0] and CONTACT in chat.rendered[0]
    assert state_of(storage).nav.step == Step.BOOKING
    await chat.tap("🗑 Cancel appointment")
    assert chat.shows(refusal) and chat.shows(CONTACT_LINE)
    [row] = storage.bookings_for_user(1001)
    await chat.tap_data(booking_data(Action.RESCHEDULE, row.id))  # a reminder's button
    assert chat.shows(refusal)
    [after] = sandbox.store.appointment_list()
    assert (after.status, after.start) == ("confirmed", booked.start)
    assert not chat.untranslated()


async def test_changes_outside_the_cutoff_go_ahead_until_it_is_reached(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = make_chat(CHANGE_CUTOFF="24h")
    await book_on_day(chat, 2)  # Wednesday: more than a day ahead
    [booked] = sandbox.store.appointment_list()
    await open_booking(chat)
    await chat.tap("🔁 Reschedule")
    assert chat.shows(CALENDAR)
    await chat.tap("« Back")
    await chat.tap("🗑 Cancel appointment")
    assert chat.shows("Are you sure you want to cancel your {service} appointment on {when}?")
    sandbox.clock.set(booked.start - timedelta(hours=23))  # the question waited too long
    await chat.tap("Yes, cancel it")
    assert chat.shows(
        "This appointment starts in less than {cutoff}, so it can no longer be changed here."
    )
    assert chat.shows("Please contact the business directly.")  # no CONTACT set
    assert sandbox.store.appointment_list("confirmed")


async def test_changes_the_operator_turned_off(
    make_chat: MakeChat, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = make_chat(ALLOW_RESCHEDULE="false", CONTACT=CONTACT)
    await book_one(chat)
    await open_booking(chat)
    assert not chat.has_button("🔁 Reschedule") and chat.has_button("🗑 Cancel appointment")
    [row] = storage.bookings_for_user(1001)
    await chat.tap_data(booking_data(Action.RESCHEDULE, row.id))
    assert chat.shows("Appointments can't be rescheduled in this chat.") and chat.shows(
        CONTACT_LINE
    )
    await chat.command("help")
    assert chat.shows("You can cancel an appointment later under My appointments.")
    assert not chat.shows(
        "You can reschedule or cancel an appointment later under My appointments."
    )

    none = make_chat(ALLOW_RESCHEDULE="false", ALLOW_CANCEL="false", user_id=2002)
    await none.command("start")
    assert none.shows("👋 Welcome!") and none.shows("I can book an appointment for you.")
    await book_one(none)
    await open_booking(none)
    assert not none.actions(Action.RESCHEDULE) and not none.actions(Action.CANCEL_BOOKING)
    assert none.shows("Please contact the business directly.")
    assert not chat.untranslated() and not none.untranslated()
