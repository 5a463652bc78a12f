"""Daylight-saving nights at a branch open round the clock: a local time that does not exist is
never offered, the hour that happens twice is offered twice and told apart, and a booking in
it keeps its instant through the confirmation, the .ics file and the reminders."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.payload import Action
from bot.core.screens import TimeValue
from bot.followup.ledger import plan
from bot.i18n import localizer
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.booking.driver import Chat
from tests.booking.steps import to_calendar
from tests.booking.test_flows import state_of

ALL_NIGHT = "Madrid – Urgencias 24 h"
CHECKUP = "Quick check-up"


async def times_of(chat: Chat, day: int) -> None:
    [button] = [b for b in chat.actions(Action.DAY) if b.label.text == str(day)]
    await chat.tap_data(button.data)
    assert chat.shows("Available times on {date}:"), chat.describe()


def labels(chat: Chat, storage: Storage, language: str) -> list[str]:
    words = localizer(language)
    return [
        words.render(TimeValue(s, "Europe/Madrid"), "plain") for s in state_of(storage).draft.slots
    ]


@pytest.mark.parametrize(
    ("language", "summer", "winter"),
    [("en", "CEST", "CET"), ("es", "CEST", "CET"), ("de", "MESZ", "MEZ")],
)
async def test_the_repeated_hour_is_offered_twice_and_told_apart(
    language: str,
    summer: str,
    winter: str,
    chat: Chat,
    sandbox: SandboxServer,
    storage: Storage,
) -> None:
    sandbox.clock.set(datetime(2027, 10, 30, 21, 0, tzinfo=UTC))  # Saturday 23:00 in Madrid
    chat.customer = chat.customer.__class__(**{**chat.customer.__dict__, "language_code": language})
    await to_calendar(chat, branch=ALL_NIGHT, service=CHECKUP)
    await times_of(chat, 31)
    slots = state_of(storage).draft.slots
    first, second = (datetime(2027, 10, 31, h, 30, tzinfo=UTC) for h in (0, 1))
    assert first in slots and second in slots  # 02:30 summer time, then 02:30 winter time
    shown = labels(chat, storage, language)
    assert shown[slots.index(first)].endswith(f"2:30\u00a0{summer}")
    assert shown[slots.index(second)].endswith(f"2:30\u00a0{winter}")
    assert len(set(shown)) == len(shown)  # no two times read the same
    plain = [s for s in shown if "\u00a0" not in s]
    assert all(not re.match(r"0?2:", s) for s in plain)  # only the repeated hour is named
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(slots))


async def test_a_booking_in_the_repeated_hour_keeps_its_instant(
    chat: Chat, sandbox: SandboxServer, storage: Storage
) -> None:
    sandbox.clock.set(datetime(2027, 10, 30, 21, 0, tzinfo=UTC))
    await to_calendar(chat, branch=ALL_NIGHT, service=CHECKUP)
    await times_of(chat, 31)
    second = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # 02:30 CET, the hour's second pass
    index = state_of(storage).draft.slots.index(second)
    if index >= 12:
        await chat.tap("Later ›")
    [button] = [b for b in chat.actions(Action.TIME) if b.label.value == second]
    await chat.tap_data(button.data)
    await chat.tap("Use “{name}”")
    await chat.say("ana@example.com")
    assert any("02:30 CET" in line for line in chat.rendered)  # the summary says which
    await chat.tap("✅ Confirm")
    [appointment] = sandbox.store.appointment_list()
    assert appointment.start == second
    assert any("02:30 CET" in line for line in chat.rendered)
    ics = chat.reply.screens[0].attachment
    assert ics is not None and b"DTSTART:20271031T013000Z" in ics.content
    assert b"DTEND:20271031T014500Z" in ics.content
    [row] = storage.bookings_for_user(1001)
    assert plan(row.start, (timedelta(hours=2),), sandbox.clock.now()) == [
        (120, datetime(2027, 10, 30, 23, 30, tzinfo=UTC))  # 2 hours before, in real time
    ]


async def test_the_hour_that_does_not_exist_is_never_offered(
    chat: Chat, sandbox: SandboxServer, storage: Storage
) -> None:
    sandbox.clock.set(datetime(2027, 3, 27, 22, 0, tzinfo=UTC))  # Saturday 23:00 in Madrid
    await to_calendar(chat, branch=ALL_NIGHT, service=CHECKUP)
    await times_of(chat, 28)
    slots = state_of(storage).draft.slots
    shown = labels(chat, storage, "en")
    assert not [s for s in shown if s.startswith("02:")]
    assert shown[shown.index("01:45") + 1] == "03:00"  # straight from 01:45 to 03:00
    assert slots[shown.index("03:00")] - slots[shown.index("01:45")] == timedelta(minutes=15)
