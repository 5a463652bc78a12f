"""The waiting list is offered only where a freed time could be booked (issue 18, items 3 and
4), against the sandbox over HTTP: a day whose free times all fall inside BOOKING_LEAD_TIME, or
that the business has not opened for booking yet (in either form the sandbox offers for what
Zimun's docs leave unsaid), says why instead; the calendar ends where Zimun's availability
ends, whatever BOOKING_HORIZON says; and a day shown full whose times freed up meanwhile (an
old calendar, an old offer) shows those times instead of taking the customer on its list."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.chat.book import FREED_SINCE
from bot.chat.engine import Conversation
from bot.core.payload import Action
from bot.core.rules import BookingRules
from bot.core.state import Step
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.config import BEYOND_ABSENT, SandboxConfig
from sandbox.testing import SandboxServer
from tests.booking.conftest import customer
from tests.booking.driver import Chat
from tests.booking.steps import to_calendar
from tests.booking.test_waitlist_offer import OFFER, state_of, tap_day
from tests.clock import MONDAY
from tests.waitlist.steps import SATURDAY, fill_day

TOO_SOON = "The times left on that day are too soon to book."
NOT_OPEN = "That day can't be booked yet."
MONDAY_DAY = date(2026, 11, 23)
OPEN_TEN_DAYS = SandboxConfig(now=MONDAY, freeze_clock=True, open_days=10)  # to 2 December
OPEN_TEN_DAYS_ABSENT = SandboxConfig(
    now=MONDAY, freeze_clock=True, open_days=10, beyond=BEYOND_ABSENT
)
LAST_OPEN, FIRST_SHUT = date(2026, 12, 2), date(2026, 12, 3)


def chat_with(api: ZimunClient, storage: Storage, sandbox: SandboxServer, **rules: object) -> Chat:
    engine = Conversation(api, storage, now=sandbox.clock.now, rules=BookingRules(**rules))  # type: ignore[arg-type]
    return Chat(engine, customer())


def toast(chat: Chat) -> str | None:
    return chat.reply.toast.key if chat.reply.toast is not None else None


async def test_a_day_whose_free_times_are_all_too_soon_is_not_offered_the_list(
    api: ZimunClient, storage: Storage, sandbox: SandboxServer
) -> None:
    # Monday 18:00 in Madrid, a two-hour lead time: 18:30, 19:00 and 19:30 are free, too soon.
    sandbox.clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=MONDAY.tzinfo))
    chat = chat_with(api, storage, sandbox, lead_time=timedelta(hours=2))
    await to_calendar(chat)
    await tap_day(chat, MONDAY_DAY)
    assert toast(chat) == TOO_SOON
    assert not chat.shows(OFFER)
    assert state_of(storage).nav.step == Step.DAY
    assert storage.waitlist_for_user(1001, sandbox.clock.now()) == []


async def test_a_really_full_day_inside_the_window_still_offers_it(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    assert chat.shows(OFFER)


@pytest.mark.parametrize(
    "sandbox_config", [OPEN_TEN_DAYS, OPEN_TEN_DAYS_ABSENT], ids=["empty", "absent"], indirect=True
)
@pytest.mark.parametrize("horizon", [None, timedelta(days=200)], ids=["default", "200d"])
async def test_the_calendar_ends_where_zimun_opens_and_later_days_are_not_open(
    api: ZimunClient,
    storage: Storage,
    sandbox: SandboxServer,
    horizon: timedelta | None,
) -> None:
    chat = chat_with(api, storage, sandbox, horizon=horizon)
    await to_calendar(chat)
    await chat.tap_action(Action.MONTH_NEXT)  # December: open until the 2nd
    month = state_of(storage).draft.month
    assert month is not None and (month.year, month.month) == (2026, 12)
    assert month.codes[LAST_OPEN.day - 1] == "f"
    assert set(month.codes[FIRST_SHUT.day - 1 :]) == {"b"}
    assert chat.actions(Action.MONTH_NEXT) == []  # no January, February... of dead days
    await tap_day(chat, FIRST_SHUT)
    assert toast(chat) == NOT_OPEN
    assert not chat.shows(OFFER)
    assert state_of(storage).nav.step == Step.DAY
    assert storage.waitlist_for_user(1001, MONDAY) == []


async def test_a_full_day_tapped_on_an_old_calendar_after_times_freed_shows_them(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    sandbox.business_cancel(walk_ins[2].id)
    sandbox.clock.set(MONDAY + timedelta(minutes=2))  # the calendar's answer is old now
    await tap_day(chat, SATURDAY)
    assert chat.shows(FREED_SINCE.key)
    assert state_of(storage).nav.step == Step.TIME
    assert state_of(storage).draft.slots == [walk_ins[2].start]
    assert storage.waitlist_for_user(1001, MONDAY) == []


async def test_joining_a_day_whose_times_freed_meanwhile_shows_them_instead(
    chat: Chat, storage: Storage, sandbox: SandboxServer
) -> None:
    walk_ins = fill_day(sandbox, SATURDAY)
    await to_calendar(chat)
    await tap_day(chat, SATURDAY)
    assert chat.shows(OFFER)
    sandbox.business_cancel(walk_ins[0].id)
    sandbox.clock.set(MONDAY + timedelta(minutes=2))
    await chat.tap_action(Action.WAITLIST_JOIN)
    assert chat.shows(FREED_SINCE.key)
    assert state_of(storage).draft.slots == [walk_ins[0].start]
    assert storage.waitlist_for_user(1001, MONDAY) == []
