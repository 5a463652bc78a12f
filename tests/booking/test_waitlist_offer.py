"""Where the conversation offers the waiting list, against the sandbox over HTTP: a full day
tapped on the calendar, the 409 apology when nothing is left that day; never when the operator
turned it off; at most MAX_WAITING days per customer; a detour from its screen comes back."""

from __future__ import annotations

from datetime import date, timedelta

from bot.chat.engine import Conversation
from bot.chat.waitlist import MAX_WAITING, TOO_MANY
from bot.core.cadence import day_bounds
from bot.core.payload import Action
from bot.core.rules import BookingRules
from bot.core.state import ChatState, Step
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import customer, make_client
from tests.booking.driver import Chat
from tests.booking.steps import to_calendar
from tests.clock import MONDAY
from tests.waitlist.steps import SATURDAY, fill_day

OFFER = "No available times are left on {date} for {service} at {location}."


def state_of(storage: Storage, chat_id: int = 1001) -> ChatState:
    row = storage.load_conversation(chat_id)
    assert row is not None
    return ChatState.loads(row.state)


async def tap_day(chat: Chat, day: date) -> None:
    for action in (Action.DAY, Action.DAY_UNAVAILABLE):
        for button in chat.actions(action):
            if button.data.split(".")[2] == str(day.day):
                await chat.tap_data(button.data)
                return
    raise AssertionError(f"no button for {day}: {chat.describe()}")


async def test_a_full_day_offers_its_waiting_list_and_joining_keeps_the_booking(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    assert chat.shows(OFFER)
    assert state_of(storage).nav.step == Step.WAITLIST_OFFER
    # A detour (My bookings) and back: the offer is where it was.
    await chat.command("mybookings")
    await chat.tap_action(Action.BACK)
    assert chat.shows(OFFER)
    await chat.tap_action(Action.WAITLIST_JOIN)
    state = state_of(storage)
    assert (state.nav.step, state.draft.service_id, state.waitlist.day) == (
        Step.DAY,
        "svc_consultation",
        None,
    )
    [entry] = storage.waitlist_for_user(1001, MONDAY)
    assert (entry.day, entry.service_name, entry.location_name) == (
        SATURDAY,
        "Consultation",
        "Madrid – Chamberí",
    )
    assert entry.ends_at == day_bounds(SATURDAY, "Europe/Madrid")[1]
    # Back on the same day: the customer is on its list and may leave it.
    await tap_day(chat, SATURDAY)
    assert chat.shows(
        "You're on the waiting list for that day: I'll tell you when a time frees up."
    )
    assert chat.actions(Action.WAITLIST_JOIN) == []


async def test_the_409_apology_offers_the_list_when_nothing_is_left_that_day(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    sandbox.business_cancel(walk_ins[0].id)  # one time left
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    [last] = state_of(storage).draft.slots
    async with make_client(sandbox) as other:  # someone else holds it meanwhile
        service = await other.get_service("svc_consultation")
        assert service is not None
        await other.hold(service=service, start=last, location_id="loc_madrid")
    await chat.tap_action(Action.TIME)
    assert chat.shows("Sorry, someone else just took that time.")
    assert chat.shows(OFFER)
    await chat.tap_action(Action.WAITLIST_JOIN)
    assert len(storage.waitlist_for_user(1001, MONDAY)) == 1


async def test_at_most_max_waiting_days_per_customer(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    for n in range(MAX_WAITING):
        day = SATURDAY + timedelta(days=7 * (n + 1))
        storage.join_waitlist(
            user_id=1001,
            chat_id=1001,
            service_id="svc_cleaning",
            service_name="Dental cleaning",
            location_id="loc_madrid",
            location_name="Madrid – Chamberí",
            timezone="Europe/Madrid",
            day=day,
            ends_at=day_bounds(day, "Europe/Madrid")[1],
            language="en",
            now=MONDAY,
            next_check_at=MONDAY + timedelta(minutes=30),
        )
    fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    await chat.tap_action(Action.WAITLIST_JOIN)
    assert chat.shows(TOO_MANY.key)
    assert len(storage.waitlist_for_user(1001, MONDAY)) == MAX_WAITING


async def test_turned_off_a_full_day_is_only_a_toast(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    engine = Conversation(api, storage, now=sandbox.clock.now, rules=BookingRules(waitlist=False))
    chat = Chat(engine, customer())
    fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    assert chat.reply.toast is not None and chat.reply.toast.key == "No times left on that day."
    assert state_of(storage).nav.step == Step.DAY


WATCHED_DAYS = (
    "• The days you asked me to watch for an available time (service, location, day). "
    "I delete them once the day has passed, or when you leave the waiting list."
)


async def test_turned_off_privacy_does_not_describe_a_waiting_list(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    """With WAITLIST_CALLS_PER_MINUTE=0 no watched day is ever kept: /privacy said it was."""
    for waitlist in (False, True):
        rules = BookingRules(waitlist=waitlist)
        engine = Conversation(api, storage, now=sandbox.clock.now, rules=rules)
        chat = Chat(engine, customer())
        await chat.command("privacy")
        assert chat.shows("• Your email for next time, only if you ask me to remember it.")
        assert chat.shows(WATCHED_DAYS) is waitlist
