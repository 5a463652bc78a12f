"""A waiting-list customer's steps through the real bot, and the business filling a day.

Monday 23 November 2026, 07:00 in Madrid (tests/reminders/harness.MONDAY): the Consultation at
Madrid – Chamberí takes one customer per half hour; Saturday the 28th opens 10:00 to 14:00
(eight times), Tuesday the 24th 09:00-14:00 and 16:00-20:00.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.core.payload import Action, decode
from bot.core.records import WaitlistRow
from bot.core.state import ChatState
from bot.i18n import localizer
from sandbox.store import AppointmentRecord
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import ChatMessage
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat

SERVICE, BRANCH = "svc_consultation", "loc_madrid"
BRANCH_INDEX, SERVICE_INDEX = 0, 1  # their buttons' places in the lists
OTHER_SERVICE_INDEX = 2  # Dental cleaning, at the same branch
FREED = "🔔 <b>A time has freed up</b> on {date} for {service} at {location}."
SATURDAY = date(2026, 11, 28)
TUESDAY = date(2026, 11, 24)


def fill_day(
    sandbox: SandboxServer, day: date, service: str = SERVICE, branch: str = BRANCH
) -> list[AppointmentRecord]:
    """Every place of the day booked at the business (its web page, the front desk)."""
    store, booked = sandbox.store, []
    while slots := store.availability(service, branch, day=day)["slots"]:
        for slot in slots:
            start = datetime.fromisoformat(slot["start_time"])
            hold = store.hold(service, branch, start, "front-desk")
            booked.append(store.confirm(hold.hold_id, "Walk-in", "walk-in@example.org"))
    return booked


async def tap_data(chat: Chat, message: ChatMessage, data: str) -> int:
    update = chat.fake.user_taps(chat.chat_id, message.message_id, data, **chat._user())
    await chat.bot.settle()
    return update


async def open_calendar(chat: Chat, service: int = SERVICE_INDEX) -> None:
    """/start, Book, Madrid, the service: November's calendar."""
    await chat.open_booking()
    await chat.tap_index(BRANCH_INDEX)
    await chat.tap_index(service)


def day_button(chat: Chat, day: date) -> str:
    """The calendar's button for `day` (free or not)."""
    for action in (Action.DAY, Action.DAY_UNAVAILABLE):
        for data in chat.actions(action):
            payload = decode(data)
            if payload is not None and payload.arg == day.day:
                return data
    raise LookupError(f"no button for {day} on {chat.keyboard.labels}")


async def tap_day(chat: Chat, day: date) -> int:
    return await tap_data(chat, chat.keyboard, day_button(chat, day))


async def join(chat: Chat, day: date, service: int = SERVICE_INDEX) -> None:
    """From /start to the waiting list of a full `day` (the calendar is left on screen). The
    calendar opens on November 2026, the first month with a free day."""
    await open_calendar(chat, service)
    for _ in range((day.year - 2026) * 12 + day.month - 11):
        await chat.tap_action(Action.MONTH_NEXT)
    await tap_day(chat, day)
    await chat.tap_action(Action.WAITLIST_JOIN)


def freed_notices(ops: OpsBot, chat: Chat) -> list[ChatMessage]:
    """The chat's messages telling of a freed time (its button is retired once tapped)."""
    headline = localizer(chat.language).gettext(FREED).split("{")[0]
    return [m for m in ops.fake.messages(chat.chat_id) if (m.text or "").startswith(headline)]


def entries(ops: OpsBot, chat: Chat) -> list[WaitlistRow]:
    rows = ops.db.db.execute(
        "SELECT id FROM waitlist WHERE user_id = ? ORDER BY id", (chat.chat_id,)
    ).fetchall()
    found = [ops.db.waitlist_entry(row[0]) for row in rows]
    return [e for e in found if e is not None]


def state_of(ops: OpsBot, chat: Chat) -> ChatState:
    row = ops.db.load_conversation(chat.chat_id)
    assert row is not None
    return ChatState.loads(row.state)


def availability_calls(sandbox: SandboxServer) -> int:
    return sandbox.stats.count("GET", "/availability")
