"""My bookings: list, detail, reschedule, cancel, ownership; and what a booking costs."""

from __future__ import annotations

import pytest

from bot.chat.detours import DISCARDED, DROPPED, MOVE_STOPPED
from bot.chat.engine import INVALID, NOT_YOURS, Conversation
from bot.chat.views import BOOKINGS_PER_PAGE
from bot.core.changes import BookingChange
from bot.core.payload import Action, booking_data
from bot.core.state import ChatState, Step
from bot.followup.reconcile import Reconciler
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import LANGUAGES, customer, make_client
from tests.booking.driver import Chat, _keys
from tests.booking.steps import ask_change, book_one, open_first_booking, to_calendar, to_name

RESCHEDULED = "✅ <b>Rescheduled!</b> Your {service} appointment is now on {when}."
CANCELLED = "Your appointment is cancelled."


def state_of(storage: Storage, chat_id: int = 1001) -> ChatState:
    row = storage.load_conversation(chat_id)
    assert row is not None
    return ChatState.loads(row.state)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_reschedule_a_booking(
    lang: str, engine: Conversation, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = Chat(engine, customer(lang=lang))
    await book_one(chat)
    [appointment] = sandbox.store.appointment_list()
    before = (appointment.appointment_id, appointment.start)
    await open_first_booking(chat)
    await chat.tap("🔁 Reschedule")
    await chat.tap_action(Action.DAY, 1)
    await chat.tap_action(Action.TIME, 3)
    assert chat.shows("Reschedule your {service} appointment from {old} to {new}?")
    await chat.tap("Yes, reschedule")
    assert chat.shows("✅ <b>Rescheduled!</b> Your {service} appointment is now on {when}.")
    screen = chat.reply.screens[-1]
    assert not screen.edit and screen.attachment is not None
    [after] = sandbox.store.appointment_list()
    assert after.appointment_id == before[0] and after.start != before[1]
    [row] = storage.bookings_for_user(1001)
    assert row.start == after.start
    assert not chat.untranslated()


async def test_reschedule_to_a_slot_taken_meanwhile(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await book_one(chat)
    await open_first_booking(chat)
    await chat.tap("🔁 Reschedule")
    await chat.tap_action(Action.DAY, 1)
    await chat.tap_action(Action.TIME, 0)
    state = state_of(storage)
    async with make_client(sandbox) as other:
        service = await other.get_service(state.draft.service_id or "")
        await other.hold(
            service=service, start=state.managing.new_start, location_id=state.draft.location_id
        )
    await chat.tap("Yes, reschedule")
    assert chat.shows(
        "Sorry, someone else has just booked that time. Here are the times still available:"
    )
    assert state_of(storage).nav.step == Step.TIME
    assert state.managing.new_start not in state_of(storage).draft.slots


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_cancel_a_booking(
    lang: str, engine: Conversation, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = Chat(engine, customer(lang=lang))
    await book_one(chat)
    await open_first_booking(chat)
    await chat.tap("🗑 Cancel appointment")
    assert chat.shows("Are you sure you want to cancel your {service} appointment on {when}?")
    await chat.tap("No, keep it")
    assert sandbox.store.appointment_list("confirmed")
    await chat.tap("🗑 Cancel appointment")
    await chat.tap("Yes, cancel it")
    assert chat.shows("Your appointment is cancelled.")
    assert chat.shows("Cancelled: {booking}")
    assert chat.shows("You have no upcoming appointments.")
    assert not sandbox.store.appointment_list("confirmed")
    assert not storage.bookings_for_user(1001)[0].active
    assert not chat.untranslated()


async def test_a_booking_cancelled_elsewhere_shows_as_cancelled(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await book_one(chat)
    [appointment] = sandbox.store.appointment_list()
    async with make_client(sandbox) as business:
        await business.cancel(appointment.appointment_id)
    await chat.command("mybookings")
    assert chat.shows("Cancelled: {booking}")
    assert not storage.bookings_for_user(1001)[0].active


async def test_list_shows_stored_data_when_the_api_is_down(
    chat: Chat, sandbox: SandboxServer
) -> None:
    await book_one(chat)
    sandbox.faults.fail_next(20, 503, path="/appointments/{appointment_id}")
    await chat.command("mybookings")
    assert chat.shows("Tap an appointment to reschedule or cancel it.")


async def test_someone_elses_booking_is_refused(
    engine: Conversation, storage: Storage, sandbox: SandboxServer
) -> None:
    owner = Chat(engine, customer(user_id=1001))
    await book_one(owner)
    [row] = storage.bookings_for_user(1001)
    intruder = Chat(engine, customer(user_id=2002))
    await intruder.command("start")
    for action in (Action.OPEN_BOOKING, Action.RESCHEDULE, Action.CANCEL_BOOKING, Action.KEEP):
        await intruder.tap_data(booking_data(action, row.id))
        assert intruder.reply.toast == NOT_YOURS
        assert state_of(storage, 2002).nav.step == Step.MENU
    await intruder.tap_data(booking_data(Action.OPEN_BOOKING, 999_999))
    assert intruder.reply.toast == NOT_YOURS
    await intruder.tap_data(booking_data(Action.CONFIRM, row.id))  # not a booking action
    assert intruder.reply.toast == INVALID
    assert sandbox.store.appointment_list("confirmed")


async def test_booking_buttons_work_from_an_old_message(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await book_one(chat)
    await chat.command("mybookings")
    old_list_button = chat.find("{when} · {service}").data
    await chat.command("help")  # the list message is old now
    await chat.tap_data(old_list_button)
    assert chat.shows("<b>Reference:</b> {reference}")
    [row] = storage.bookings_for_user(1001)
    await chat.tap_data(booking_data(Action.KEEP, row.id))
    assert chat.reply.toast is not None and not chat.reply.screens
    await chat.tap_data(booking_data(Action.CANCEL_BOOKING, row.id))
    assert chat.shows("Are you sure you want to cancel your {service} appointment on {when}?")


async def test_booking_costs_four_api_calls_with_warm_caches(
    api: ZimunClient, engine: Conversation, sandbox: SandboxServer
) -> None:
    await api.list_locations()
    await api.list_services()
    chat = Chat(engine, customer())
    await chat.command("start")
    await chat.tap("📅 Book an appointment")
    await chat.tap("Madrid – Chamberí")
    sandbox.stats.reset()
    await chat.tap_msg("{service} ({duration})", service="Consultation")
    await chat.tap_action(Action.DAY)
    await chat.tap_action(Action.TIME)
    await chat.tap("Use “{name}”")
    await chat.say("ana@example.com")
    await chat.tap("✅ Confirm")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}.")
    assert sandbox.stats.total_requests <= 4, sandbox.stats.__dict__


async def test_one_sqlite_write_per_event(chat: Chat, storage: Storage) -> None:
    steps = [
        lambda: chat.command("start"),
        lambda: chat.tap("📅 Book an appointment"),
        lambda: chat.tap("Madrid – Chamberí"),
        lambda: chat.tap_msg("{service} ({duration})", service="Consultation"),
        lambda: chat.tap_action(Action.DAY),
        lambda: chat.tap_action(Action.TIME),
        lambda: chat.tap("Use “{name}”"),
        lambda: chat.say("ana@example.com"),
    ]
    for step in steps:
        before = storage.writes
        await step()
        assert storage.writes - before <= 1
    before = storage.writes
    await chat.tap("✅ Confirm")
    assert storage.writes - before == 2  # the pending confirm first, then the result


async def test_back_from_an_appointment_returns_to_the_page_it_was_opened_from(
    chat: Chat, storage: Storage
) -> None:
    """Issue 18, item 9: « Back from an appointment on page 2 of My appointments led to page 1."""
    for _ in range(BOOKINGS_PER_PAGE + 1):
        await book_one(chat)
    await chat.command("mybookings")
    await chat.tap("Later ›")
    assert state_of(storage).managing.list_page == 1
    [later] = chat.actions(Action.OPEN_BOOKING)  # the one appointment on page 2
    await chat.tap_data(later.data)
    await chat.tap("« Back")
    assert state_of(storage).nav.step == Step.BOOKINGS
    assert state_of(storage).managing.list_page == 1
    assert [b.data for b in chat.actions(Action.OPEN_BOOKING)] == [later.data]


async def test_a_new_booking_says_what_really_ended(chat: Chat, sandbox: SandboxServer) -> None:
    """Issue 18, item 6: "freed up its time" was said when nothing was held, and a customer
    who was rescheduling read that an unfinished booking was dropped."""
    await to_calendar(chat)  # a branch and a service chosen, no time held
    await chat.command("book")
    assert chat.shows(DISCARDED.key) and not chat.shows(DROPPED.key), chat.describe()

    await to_name(chat)  # a time held
    await chat.command("book")
    assert chat.shows(DROPPED.key) and not sandbox.store.active_holds()

    await book_one(chat)
    await open_first_booking(chat)
    await chat.tap("🔁 Reschedule")
    await chat.command("book")
    assert chat.shows(MOVE_STOPPED.key), chat.describe()
    assert not chat.shows(DROPPED.key) and not chat.shows(DISCARDED.key)
    assert sandbox.store.appointment_list()[0].active


async def test_a_new_booking_during_a_reschedule_that_parked_a_booking_says_both(
    chat: Chat, sandbox: SandboxServer
) -> None:
    await book_one(chat)
    await to_name(chat)  # a second booking, its time held
    await open_first_booking(chat)
    await chat.tap("🔁 Reschedule")  # parks the booking in progress
    await chat.command("book")
    assert chat.shows(MOVE_STOPPED.key) and chat.shows(DROPPED.key), chat.describe()
    assert not sandbox.store.active_holds()


CHANGES = {
    "reschedule": ("/appointments/reschedule", "Yes, reschedule", RESCHEDULED),
    "cancel": ("/appointments/cancel", "Yes, cancel it", CANCELLED),
}


@pytest.mark.parametrize("kind", list(CHANGES))
async def test_a_change_whose_answer_a_crash_lost_is_the_customers_after_a_restart(
    kind: str, storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    """Issue 18, item 1: Zimun made the change, the bot died before its answer; after the
    restart the scan took it for the business's ("Centro Storico has rescheduled...")."""
    path, yes, told = CHANGES[kind]
    api = make_client(sandbox, max_retries=0)
    chat = Chat(Conversation(api, storage, now=sandbox.clock.now), customer())
    await book_one(chat)
    await ask_change(chat, kind)
    sandbox.faults.drop_response_next(path, n=5, status=503)
    await chat.tap(yes)  # Zimun made the change; its answer never came back
    sandbox.faults.clear()
    assert state_of(storage).unsettled.changing is not None
    [before] = storage.bookings_for_user(1001)

    # The bot restarts: the scan runs (due at once), then the change is finished.
    restarted = Storage(db_path)
    async with make_client(sandbox) as fresh_api:
        engine = Conversation(fresh_api, restarted, now=sandbox.clock.now)
        heard: list[BookingChange] = []
        engine.listeners.append(heard.append)
        restarted.update_booking(before.id, next_check_at=sandbox.clock.now())
        reconciler = Reconciler(fresh_api, engine.ledger, now=sandbox.clock.now)
        assert (await reconciler.check_due()).changed == 0
        [(chat_id, reply)] = await engine.resume_pending()
        assert await engine.resume_pending() == []
    restarted.close()
    await api.aclose()
    assert chat_id == 1001
    assert any(told in set(_keys(line)) for s in reply.screens for line in s.body)
    assert not storage.notices_for_booking(before.id)  # nothing announced as the business's
    assert [(c.by_customer, c.booking_id) for c in heard] == [(True, before.id)]
    assert state_of(storage).unsettled.changing is None
