"""The business changes things while customers are on them: a service removed, a branch that
stops taking bookings, an appointment cancelled at the front desk, more bookings than fit on a
screen. The customer is told what changed in their language and shown the nearest valid step;
no traceback, no "something went wrong", no hold left behind, no lost name and email."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.chat.engine import OOPS
from bot.core.payload import Action
from bot.core.screens import Msg
from bot.core.state import Step
from sandbox.testing import SandboxServer
from tests.telegram.harness import TIME_RE, Chat, RunningBot

LANGUAGES = ["en", "de"]
SERVICE_GONE = Msg("Sorry, {service} can no longer be booked at {branch}.")
BRANCH_CLOSED = Msg("Sorry, {branch} isn't taking appointments at the moment.")


def said(chat: Chat, msg: Msg) -> bool:
    """The newest message shows `msg`, rendered in the customer's language."""
    from bot.i18n import localizer

    text = localizer(chat.language).render(msg, "html")
    return bool(chat.latest and text in (chat.latest.text or ""))


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_service_removed_under_the_customer(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.open_booking()
    await chat.pick_slot()  # Madrid, Quick check-up: a time held
    await chat.send("Ana García")
    assert len(sandbox.store.active_holds()) == 1
    await chat.tap_action(Action.BACK)  # back to the name step...
    await chat.tap_action(Action.BACK)  # ...and to the day's times
    sandbox.remove_service("svc_checkup")
    sandbox.clock.advance(120)  # what the bot knew of the day is stale: it asks Zimun
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    gone = Msg(SERVICE_GONE.key, service="Quick check-up", branch="Madrid – Chamberí")
    assert said(chat, gone), chat.latest
    assert not said(chat, OOPS)
    state = bot.state(chat.chat_id)
    assert state.nav.step == Step.SERVICE and "svc_checkup" not in state.draft.options
    assert state.draft.name == "Ana García"  # what the customer typed is kept
    assert not sandbox.store.active_holds()
    assert "svc_checkup" not in " ".join(chat.keyboard.labels).lower()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_branch_that_stops_taking_bookings(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.open_booking()
    await chat.tap_index(2)  # Berlin
    await chat.tap_index(0)  # a service: the calendar
    sandbox.deactivate_location("loc_berlin")
    sandbox.clock.advance(120)
    await chat.pick_day()
    assert said(chat, Msg(BRANCH_CLOSED.key, branch="Berlin – Prenzlauer Berg")), chat.latest
    state = bot.state(chat.chat_id)
    assert state.nav.step == Step.LOCATION and "loc_berlin" not in state.draft.options
    await chat.command("book")  # a fresh /book no longer offers it
    assert not [label for label in chat.keyboard.labels if "Berlin" in label]
    assert not sandbox.store.active_holds()


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_booking_cancelled_at_the_business_opened_from_an_old_list(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.book()
    listing = await chat.command("mybookings")
    assert listing is not None
    [appointment] = sandbox.store.appointment_list()
    sandbox.business_cancel(appointment.id)
    sandbox.clock.advance(int(timedelta(minutes=10).total_seconds()))
    await chat.tap_action(Action.OPEN_BOOKING, message=listing)
    shown = next(m for m in chat.fake.messages(chat.chat_id) if m.message_id == listing.message_id)
    assert not chat.actions(Action.RESCHEDULE, shown)  # nothing left to do with it
    assert not chat.actions(Action.CANCEL_BOOKING, shown)
    assert bot.storage is not None
    [row] = bot.storage.bookings_for_user(chat.chat_id)
    assert row.status == "cancelled"  # the bot's record follows Zimun


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_reschedule_of_a_booking_cancelled_meanwhile_stops_before_any_effort(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    await chat.book()
    await chat.command("mybookings")
    detail = await chat.tap_action(Action.OPEN_BOOKING)
    [appointment] = sandbox.store.appointment_list()
    sandbox.business_cancel(appointment.id)
    sandbox.clock.advance(600)
    assert detail is not None
    await chat.tap_action(Action.RESCHEDULE, message=chat.keyboard)
    assert not chat.actions(Action.DAY)  # no calendar to spend effort on
    assert not chat.actions(Action.RESCHEDULE)
    assert bot.storage is not None
    assert bot.storage.bookings_for_user(chat.chat_id)[0].status == "cancelled"


@pytest.mark.parametrize("language", LANGUAGES)
# Nine bookings in a few seconds are far more updates than a customer sends: no update budget.
@pytest.mark.parametrize("bot_options", [{"update_budget": None}], indirect=True)
async def test_my_bookings_pages_through_all_of_them(
    language: str, bot: RunningBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = language
    for _ in range(9):
        await chat.book()
    await chat.command("mybookings")
    seen: set[str] = set(chat.actions(Action.OPEN_BOOKING))
    assert len(seen) == 6
    await chat.tap_action(Action.PAGE)  # Later ›
    later = set(chat.actions(Action.OPEN_BOOKING))
    assert len(later) == 3 and not later & seen
    await chat.tap_action(Action.PAGE)  # ‹ Earlier
    assert set(chat.actions(Action.OPEN_BOOKING)) == seen
    assert len(seen | later) == len(sandbox.store.appointment_list()) == 9
