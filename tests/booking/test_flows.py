"""Every path of the booking conversation, against the sandbox over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.chat.engine import INVALID, STALE, UNKNOWN_COMMAND, USE_BUTTONS, Conversation
from bot.core.events import Customer
from bot.core.payload import Action
from bot.core.state import ChatState, Managing, Navigation, Step
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import LANGUAGES, customer, make_client
from tests.booking.driver import Chat
from tests.booking.steps import to_calendar, to_name, to_summary, to_times


def state_of(storage: Storage, chat_id: int = 1001) -> ChatState:
    row = storage.load_conversation(chat_id)
    assert row is not None
    return ChatState.loads(row.state)


async def take_slot_elsewhere(sandbox: SandboxServer, storage: Storage, index: int = 0) -> None:
    """Another customer (another API client) holds the slot our customer is looking at."""
    state = state_of(storage)
    async with make_client(sandbox) as other:
        service = await other.get_service(state.draft.service_id or "")
        assert service is not None
        await other.hold(
            service=service, start=state.draft.slots[index], location_id=state.draft.location_id
        )


# ---- summary: change a field --------------------------------------------------------------------


async def test_change_name_email_and_time_from_summary(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    await chat.tap("✏️ Change")
    await chat.tap("Name")
    await chat.say("  Beatriz   Ruiz ")
    assert chat.shows("Please check the details:")
    assert "Beatriz Ruiz" in chat.rendered[0]
    await chat.tap("✏️ Change")
    await chat.tap("Email")
    await chat.say("not-an-email")
    assert chat.shows("An email address has exactly one @, like name@example.com.")
    assert state_of(storage).nav.step == Step.EMAIL
    await chat.say("bea@example.com")
    assert chat.shows("Please check the details:")
    first_hold = state_of(storage).draft.hold
    assert first_hold is not None
    await chat.tap("✏️ Change")
    await chat.tap("Day and time")
    await chat.tap_action(Action.DAY)
    await chat.tap_action(Action.TIME, 1)
    assert chat.shows("Please check the details:")  # name and email kept: straight back
    holds = sandbox.store.active_holds()
    assert [h.hold_id for h in holds] == [state_of(storage).draft.hold.hold_id]
    assert holds[0].hold_id != first_hold.hold_id  # the old one was released
    await chat.tap("✅ Confirm")
    [appointment] = sandbox.store.appointment_list()
    assert appointment.contact_name == "Beatriz Ruiz"
    assert appointment.contact_email == "bea@example.com"
    assert not sandbox.store.active_holds()


async def test_back_from_change_to_summary_keeps_the_hold(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    await chat.tap("✏️ Change")
    await chat.tap("Day and time")
    await chat.tap("« Back")
    assert chat.shows("Please check the details:")
    assert len(sandbox.store.active_holds()) == 1


# ---- cancelling, going back: nothing stays held -------------------------------------------------


@pytest.mark.parametrize("where", ["name", "email", "summary", "change"])
async def test_cancel_button_releases_the_hold(
    where: str, chat: Chat, sandbox: SandboxServer
) -> None:
    await to_name(chat)
    if where != "name":
        await chat.tap("Use “{name}”")
    if where in ("summary", "change"):
        await chat.say("ana@example.com")
    if where == "change":
        await chat.tap("✏️ Change")
    assert len(sandbox.store.active_holds()) == 1
    await chat.tap("Exit")
    assert chat.shows("OK, nothing was booked.")
    assert chat.shows("What would you like to do?")
    assert not sandbox.store.active_holds()
    assert not sandbox.store.appointment_list()


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("cancel", "OK, nothing was booked."),
        ("book", "I've discarded your unfinished booking and freed up its time."),
    ],
)
async def test_cancel_and_a_new_booking_end_the_draft_and_release_the_hold(
    command: str, said: str, chat: Chat, sandbox: SandboxServer, storage: Storage
) -> None:
    await to_summary(chat)
    await chat.command(command)
    assert not sandbox.store.active_holds()
    assert chat.shows(said)
    assert state_of(storage).draft.name is None


@pytest.mark.parametrize("command", ["start", "mybookings", "language", "privacy", "forget"])
async def test_detour_commands_keep_the_draft_and_the_hold(
    command: str, chat: Chat, sandbox: SandboxServer, storage: Storage
) -> None:
    await to_summary(chat)
    [hold] = sandbox.store.active_holds()
    await chat.command(command)
    assert sandbox.store.active_holds() == [hold]
    state = state_of(storage)
    assert state.nav.resume == Step.SUMMARY and state.draft.name == "Ana García"
    assert chat.reply.screens


async def test_help_mid_flow_explains_and_keeps_the_booking_in_progress(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    await chat.command("help")
    assert chat.shows("/cancel – stop what you're doing")
    assert chat.shows("You haven't finished booking: carry on below, or type /cancel to stop.")
    assert chat.shows("Please check the details:")  # the summary, shown again below
    assert state_of(storage).nav.step == Step.SUMMARY
    assert len(sandbox.store.active_holds()) == 1
    await chat.tap("✅ Confirm")  # the buttons shown before /help still work
    assert len(sandbox.store.appointment_list()) == 1


async def test_back_all_the_way_releases_and_reaches_the_menu(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    expected = [
        "Which email address should I send the confirmation to? Please type it.",
        "What name should the appointment be under? Please type it.",
        "Available times on {date}:",
        "Which day in {month} suits you? Days marked · can't be booked.",
        "Which service would you like at {location}?",
        "Where would you like your appointment?",
        "What would you like to do?",
    ]
    for msgid in expected:
        await chat.tap("« Back")
        assert chat.shows(msgid), chat.describe()
        if msgid == "Available times on {date}:":
            assert not sandbox.store.active_holds()
    assert state_of(storage).nav.step == Step.MENU


async def test_picking_another_time_swaps_the_hold(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_name(chat)
    await chat.tap("« Back")
    await chat.tap_action(Action.TIME, 2)
    holds = sandbox.store.active_holds()
    assert len(holds) == 1 and holds[0].hold_id == state_of(storage).draft.hold.hold_id


# ---- hold expiry and conflicts ------------------------------------------------------------------


async def test_expired_hold_is_taken_again_on_confirm(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_summary(chat)
    held = state_of(storage).draft.hold
    sandbox.clock.advance(601)
    await chat.tap("✅ Confirm")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}.")
    [appointment] = sandbox.store.appointment_list()
    assert appointment.start == held.start
    assert not sandbox.store.active_holds()


async def test_expired_hold_whose_slot_was_taken_offers_fresh_times(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_name(chat)
    await chat.tap("Use “{name}”")
    await chat.say("ana@example.com")
    state = state_of(storage)
    sandbox.clock.advance(601)
    async with make_client(sandbox) as other:
        service = await other.get_service(state.draft.service_id or "")
        await other.hold(
            service=service, start=state.draft.hold.start, location_id=state.draft.location_id
        )
    await chat.tap("✅ Confirm")
    assert chat.shows(
        "Sorry, I couldn't keep that time any longer, and someone else has booked it. Here are "
        "the times still available:"
    )
    assert state_of(storage).nav.step == Step.TIME
    assert state.draft.hold.start not in state_of(storage).draft.slots
    assert not sandbox.store.appointment_list()


async def test_server_side_expiry_on_confirm_is_handled_the_same(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    lagging = Conversation(api, storage, now=lambda: sandbox.clock.now() - timedelta(minutes=5))
    chat = Chat(lagging, customer())
    await to_summary(chat)
    sandbox.clock.advance(601)  # the server's hold is gone; our clock says 5 minutes left
    await chat.tap("✅ Confirm")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}.")
    assert len(sandbox.store.appointment_list()) == 1


async def test_slot_taken_between_list_and_tap(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_times(chat)
    taken = state_of(storage).draft.slots[0]
    await take_slot_elsewhere(sandbox, storage, 0)
    await chat.tap_action(Action.TIME, 0)
    assert chat.shows(
        "Sorry, someone else has just booked that time. Here are the times still available:"
    )
    state = state_of(storage)
    assert (
        state.nav.step == Step.TIME and taken not in state.draft.slots and state.draft.hold is None
    )


# ---- confirm: once, crash-safe -------------------------------------------------------------------


async def test_double_tap_on_confirm_books_once(chat: Chat, sandbox: SandboxServer) -> None:
    await to_summary(chat)
    confirm = chat.find("✅ Confirm").data
    await chat.tap_data(confirm)
    await chat.tap_data(confirm)
    assert chat.reply.toast == STALE
    assert len(sandbox.store.appointment_list()) == 1
    assert sandbox.stats.count("POST", "/appointments/confirm") == 1


async def test_confirm_lost_in_a_crash_is_finished_on_start_up(
    storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    api = make_client(sandbox, max_retries=0)  # the first lost answer is the end of it
    chat = Chat(Conversation(api, storage, now=sandbox.clock.now), customer())
    await to_summary(chat)
    sandbox.faults.drop_response_next("/appointments/confirm", n=5, status=503)
    await chat.tap("✅ Confirm")  # the server booked it; the answer never came back
    assert chat.shows(
        "The booking system isn't answering right now. Nothing is lost: please try again in a "
        "moment."
    )
    assert len(sandbox.store.appointment_list()) == 1
    assert state_of(storage).unsettled.pending is not None
    sandbox.faults.clear()

    # The bot restarts: a new engine over the same database and a new client.
    restarted_storage = Storage(db_path)
    async with make_client(sandbox) as fresh_api:
        engine = Conversation(fresh_api, restarted_storage, now=sandbox.clock.now)
        [(chat_id, reply)] = await engine.resume_pending()
        assert chat_id == 1001
        assert not reply.screens[-1].edit and reply.screens[-1].attachment is not None
        assert await engine.resume_pending() == []
    restarted_storage.close()
    await api.aclose()
    assert len(sandbox.store.appointment_list()) == 1
    assert len(storage.bookings_for_user(1001)) == 1
    assert state_of(storage).unsettled.pending is None


async def test_retry_after_api_down_on_confirm_books_once(
    storage: Storage, sandbox: SandboxServer
) -> None:
    api = make_client(sandbox, max_retries=0)
    chat = Chat(Conversation(api, storage, now=sandbox.clock.now), customer())
    await to_summary(chat)
    sandbox.faults.drop_response_next("/appointments/confirm", n=5, status=503)
    await chat.tap("✅ Confirm")
    sandbox.faults.clear()
    await chat.tap("🔄 Try again")
    assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}.")
    assert len(sandbox.store.appointment_list()) == 1
    assert len(storage.bookings_for_user(1001)) == 1
    await api.aclose()


# ---- API down -----------------------------------------------------------------------------------


async def test_api_down_keeps_the_step_and_retry_repeats_it(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_calendar(chat)
    before = state_of(storage)
    sandbox.clock.advance(60)  # the calendar's answer is no longer fresh: the day is asked for
    sandbox.faults.fail_next(10, 503)
    await chat.tap_action(Action.DAY)
    assert chat.shows(
        "The booking system isn't answering right now. Nothing is lost: please try again in a "
        "moment."
    )
    after = state_of(storage)
    assert after.nav.step == Step.DAY and after.draft.month == before.draft.month
    sandbox.faults.clear()
    await chat.tap("🔄 Try again")
    assert chat.shows("Available times on {date}:")


async def test_api_down_when_holding_then_retry_holds_once(
    storage: Storage, sandbox: SandboxServer
) -> None:
    api = make_client(sandbox, max_retries=0)
    chat = Chat(Conversation(api, storage, now=sandbox.clock.now), customer())
    await to_times(chat)
    sandbox.faults.drop_response_next("/appointments/hold", n=5, status=503)
    await chat.tap_action(Action.TIME, 0)
    assert state_of(storage).nav.step == Step.TIME
    sandbox.faults.clear()
    await chat.tap("🔄 Try again")  # same idempotency key: the server replays the hold
    assert chat.shows("What name should the appointment be under? Please type it.")
    assert len(sandbox.store.active_holds()) == 1
    await api.aclose()


async def test_rate_limited_is_reported_like_unavailable(
    chat: Chat, sandbox: SandboxServer
) -> None:
    sandbox.faults.fail_next(10, 429, retry_after=0)
    await chat.command("book")
    assert chat.shows(
        "The booking system isn't answering right now. Nothing is lost: please try again in a "
        "moment."
    )
    sandbox.faults.clear()
    await chat.tap("🔄 Try again")
    assert chat.shows("Where would you like your appointment?")


async def test_auth_failure_apologises(chat: Chat, sandbox: SandboxServer) -> None:
    sandbox.faults.token_fail_next(5, 401)
    await chat.command("book")
    assert chat.shows(
        "Sorry, the booking system turned down my request. The business needs to check its "
        "setup; please try again later."
    )


# ---- stale, forged, free text, unknown commands -------------------------------------------------


async def test_stale_button_is_answered_not_acted_upon(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await chat.command("book")
    old_branch = chat.find("Madrid – Chamberí").data
    await chat.tap("Madrid – Chamberí")
    writes = storage.writes
    await chat.tap_data(old_branch)
    assert chat.reply.toast == STALE
    assert chat.shows("Which service would you like at {location}?")
    assert storage.writes == writes  # nothing changed, nothing written


@pytest.mark.parametrize(
    "data", ["", "x", "abcd.p.0.zz", "@.o.1.00", "a" * 64, "🙂", "abcd.zz.1.aa", "\x00"]
)
async def test_forged_payloads_are_refused(data: str, chat: Chat, storage: Storage) -> None:
    await to_calendar(chat)
    step = state_of(storage).nav.step
    await chat.tap_data(data)
    assert chat.reply.toast == INVALID
    assert state_of(storage).nav.step == step


async def test_valid_nonce_but_wrong_action_or_index_is_refused(
    chat: Chat, storage: Storage
) -> None:
    from bot.core.payload import button_data

    await chat.command("book")
    nonce = state_of(storage).nav.nonce
    for action, arg in [(Action.CONFIRM, None), (Action.PICK, 99), (Action.TIME, 0)]:
        await chat.tap_data(button_data(nonce, action, arg))
        assert chat.reply.toast == INVALID
        assert state_of(storage).nav.step == Step.LOCATION


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_free_text_and_unknown_commands_everywhere(
    lang: str, engine: Conversation, storage: Storage
) -> None:
    chat = Chat(engine, customer(lang=lang))
    journey = [
        lambda: chat.command("start"),
        lambda: chat.tap("📅 Book an appointment"),
        lambda: chat.tap("Madrid – Chamberí"),
        lambda: chat.tap_msg("{service} ({duration})", service="Consultation"),
        lambda: chat.tap_action(Action.DAY),  # -> times
        lambda: chat.tap_action(Action.TIME),  # -> name: text is the answer here
        lambda: chat.tap("Use “{name}”"),  # -> email: idem
        lambda: chat.say("ana@example.com"),  # -> summary
        lambda: chat.tap("✏️ Change"),
        lambda: chat.command("mybookings"),
        lambda: chat.command("help"),
        lambda: chat.command("language"),
    ]
    for step in journey:
        await step()
        where = state_of(storage).nav.step
        if where not in (Step.NAME, Step.EMAIL):
            await chat.say("hello?")
            assert chat.shows(USE_BUTTONS.key) and state_of(storage).nav.step == where
        await chat.command("frobnicate")
        assert chat.shows(UNKNOWN_COMMAND.key) and state_of(storage).nav.step == where
    assert not chat.untranslated()


# ---- restart ------------------------------------------------------------------------------------


async def test_restart_mid_booking_resumes_where_it_stood(
    api: ZimunClient, storage: Storage, db_path: str, sandbox: SandboxServer
) -> None:
    chat = Chat(Conversation(api, storage, now=sandbox.clock.now), customer())
    await to_name(chat)
    name_button = chat.find("Use “{name}”").data
    storage.close()

    reopened = Storage(db_path)
    async with make_client(sandbox) as fresh_api:
        chat.engine = Conversation(fresh_api, reopened, now=sandbox.clock.now)
        await chat.tap_data(name_button)  # a button of the screen shown before the restart
        assert chat.shows("Which email address should I send the confirmation to? Please type it.")
        await chat.say("ana@example.com")
        await chat.tap("✅ Confirm")
        assert chat.shows("✅ <b>Booked!</b> Your reference is {reference}.")
    reopened.close()
    assert len(sandbox.store.appointment_list()) == 1


# ---- language, help, deep links, calendar -------------------------------------------------------


async def test_language_choice_is_stored_and_used(engine: Conversation, storage: Storage) -> None:
    who = customer(lang="es-ES")
    chat = Chat(engine, who)
    await chat.command("start")
    assert chat.reply.language == "es"
    await chat.tap("🌐 Language")
    await chat.tap_data(chat.buttons[3].data)  # en, es, it, de: Deutsch
    assert chat.reply.language == "de"
    assert chat.shows("From now on I'll write in {language}.")
    assert await engine.language_for(who) == "de"
    await chat.command("help")
    assert chat.reply.language == "de"
    assert await engine.language_for(Customer(user_id=5, chat_id=5, language_code="pt-BR")) == "en"


async def test_help_lists_commands(chat: Chat) -> None:
    await chat.command("help")
    assert chat.shows("/mybookings – see, reschedule or cancel your appointments")
    await chat.tap("« Back")
    assert chat.shows("What would you like to do?")


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        (
            "loc_milan__svc_consultation",
            "Which day in {month} suits you? Days marked · can't be booked.",
        ),
        (
            "svc_physio",
            "Which day in {month} suits you? Days marked · can't be booked.",
        ),  # Berlin only
        ("svc_consultation", "Where would you like your appointment?"),
        ("loc_berlin", "Which service would you like at {location}?"),
        ("nothing__known", "What would you like to do?"),
        ("loc_berlin__svc_whitening", "Which service would you like at {location}?"),
    ],
)
async def test_start_deep_links_preselect(arg: str, expected: str, chat: Chat) -> None:
    await chat.command("start", arg)
    assert chat.shows(expected), chat.describe()
    assert chat.shows(
        "👋 Welcome! I can book an appointment for you, and later reschedule or cancel it."
    )


async def test_calendar_marks_holidays_and_explains_unavailable_days(
    chat: Chat, sandbox: SandboxServer
) -> None:
    from datetime import UTC, datetime

    sandbox.clock.set(datetime(2026, 12, 1, 6, tzinfo=UTC))
    await to_calendar(chat)
    assert chat.shows("Holiday on {date}: {name}")
    holiday = next(b for b in chat.actions(Action.DAY_UNAVAILABLE) if "8" in b.label.text)
    await chat.tap_data(holiday.data)
    assert not chat.reply.screens
    assert chat.reply.toast is not None and chat.reply.toast.key == "Holiday: {name}"
    assert chat.reply.toast.values["name"] == "Inmaculada Concepción"
    calls = sandbox.stats.count("GET", "/availability")
    months = [chat.screen.buttons[0][1].label]
    while chat.actions(Action.MONTH_NEXT):
        await chat.tap_action(Action.MONTH_NEXT)
        months.append(chat.screen.buttons[0][1].label)
    # the booking window: today and the next 91 days, December to early March
    assert [(m.year, m.month) for m in months] == [(2026, 12), (2027, 1), (2027, 2), (2027, 3)]
    while chat.actions(Action.MONTH_PREV):
        await chat.tap_action(Action.MONTH_PREV)
    assert chat.screen.buttons[0][1].label == months[0]  # not before this month
    assert sandbox.stats.count("GET", "/availability") == calls  # one answer served them all


async def test_times_are_paged(chat: Chat, storage: Storage) -> None:
    await to_times(chat, branch="Berlin – Prenzlauer Berg", service="Quick check-up")
    assert len(chat.actions(Action.TIME)) == 12
    await chat.tap("Later ›")
    assert chat.actions(Action.TIME)
    await chat.tap("‹ Earlier")
    assert len(chat.actions(Action.TIME)) == 12


async def test_a_release_that_failed_is_retried_later(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    await to_name(chat)
    sandbox.faults.fail_next(10, 503, method="DELETE")
    await chat.tap("Exit")  # the customer is not kept waiting on a hold release
    assert chat.shows("OK, nothing was booked.")
    assert len(sandbox.store.active_holds()) == 1
    assert state_of(storage).unsettled.orphans
    sandbox.faults.clear()
    await chat.command("help")
    assert not sandbox.store.active_holds()
    assert not state_of(storage).unsettled.orphans


async def test_summary_says_when_the_hold_ran_out(chat: Chat, sandbox: SandboxServer) -> None:
    await to_summary(chat)
    sandbox.clock.advance(601)
    await chat.tap("✏️ Change")
    await chat.tap("« Back")
    assert chat.shows(
        "I'm no longer keeping this time for you: when you confirm, I'll try to get it again."
    )


# ---- robustness -------------------------------------------------------------------------------


async def test_unreadable_state_starts_over(chat: Chat, storage: Storage) -> None:
    storage.save_conversation(1001, 1001, "{not json", pending=False)
    await chat.command("book")
    assert chat.shows("Where would you like your appointment?")


async def test_an_unexpected_error_apologises_and_keeps_the_chat_usable(
    chat: Chat, storage: Storage
) -> None:
    broken = ChatState(
        nav=Navigation(step=Step.BOOKING, nonce="abcd"), managing=Managing(booking_id=424242)
    )  # no such booking
    storage.save_conversation(1001, 1001, broken.dumps(), pending=False)
    await chat.say("hello")
    assert chat.shows("Sorry, something went wrong on my side. Please try again.")
    assert chat.shows("What would you like to do?")
    await chat.tap("📅 Book an appointment")
    assert chat.shows("Where would you like your appointment?")


async def test_logs_hold_no_names_or_emails(
    chat: Chat, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await to_summary(chat, email="secret.person@example.com")
    sandbox.faults.fail_next(3, 503)
    await chat.tap("✅ Confirm")
    sandbox.faults.clear()
    await chat.tap("🔄 Try again")
    await chat.tap_data("forged")
    assert caplog.records  # something was logged
    assert "secret.person" not in caplog.text
    assert "García" not in caplog.text and "Ana" not in caplog.text
