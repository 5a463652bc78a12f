"""Every button fits a phone's width, in every language, with the sandbox's real names.

The limits are those of bot/core/widths.py, per number of buttons in the row (a full-width
button shows about 34 average characters; 16 each in a row of two, 10 in a row of three, 7 in
a row of four, 3 in the calendar's rows of seven): Telegram cuts a longer label with "…".

Two kinds of proof. A customer's whole journey through the real conversation and the sandbox
(five branches, six services, their real names), in each language, measuring every keyboard
the bot shows on the way. And the labels whose width depends on the date or the time, over a
whole year: the calendar's month row, the earliest-time shortcut, the entries of My
appointments, the times of a daylight-saving night.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.chat.engine import Conversation
from bot.chat.views import booking_label
from bot.core.events import Customer
from bot.core.payload import Action
from bot.core.records import BookingRow, NoticeRow
from bot.core.screens import Button, DateValue, MonthValue, Msg, Reply, TimeValue, WeekdayValue
from bot.core.widths import label_width, row_limit
from bot.followup.messages import build_notice, build_reminder
from bot.i18n import localizer
from bot.store.storage import Storage
from bot.telegram.render import OPEN_PRIVATE_CHAT
from sandbox.config import DEFAULT_SEED_PATH
from sandbox.seed import load_seed
from sandbox.testing import SandboxServer
from tests.booking.conftest import LANGUAGES, customer
from tests.booking.driver import Chat
from tests.booking.steps import book_one, pick_day

LONG_NAME = {"first_name": "Maximiliana Alejandra", "last_name": "Fernández de la Concepción"}
LONG_EMAIL = "maximiliana.alejandra.fernandez@clinica-dental-example.com"
YEAR = [date(2027, 1, 1) + timedelta(days=n) for n in range(365)]


def too_wide(rows: tuple[tuple[Button, ...], ...], lang: str) -> list[str]:
    """The labels of these rows wider than their row allows, as "width > limit: label"."""
    loc = localizer(lang)
    problems = []
    for row in rows:
        limit = row_limit(len(row))
        for button in row:
            text = loc.render(button.label, "plain")
            if label_width(text) > limit:
                problems.append(
                    f"{lang}: {label_width(text):g} > {limit:g} (row of {len(row)}): {text!r}"
                )
    return problems


class MeasuredChat(Chat):
    """A Chat that measures every keyboard it is shown."""

    def __init__(self, engine: Conversation, person: Customer) -> None:
        super().__init__(engine, person)
        self.problems: list[str] = []

    async def send(self, event: object) -> Reply:  # type: ignore[override]
        reply = await super().send(event)  # type: ignore[arg-type]
        for screen in reply.screens:
            self.problems += too_wide(screen.buttons, reply.language)
        return reply


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_keyboard_of_a_journey_fits(
    lang: str, engine: Conversation, storage: Storage, sandbox: SandboxServer
) -> None:
    chat = MeasuredChat(engine, customer(lang=lang, **LONG_NAME))
    await chat.command("start")
    await chat.command("help")
    await chat.command("language")
    await chat.command("privacy")
    sandbox.faults.fail_next(5, 503)
    await chat.command("book")  # the error screen: Try again, Exit
    assert chat.has_button("🔄 Try again"), chat.describe()
    sandbox.faults.clear()
    await chat.command("book")
    locations = [b.label for b in chat.actions(Action.PICK)]
    assert len(locations) == 5, chat.describe()
    for nth in range(len(locations)):  # every branch, every service it offers: its calendar
        await chat.command("book")
        await chat.tap_data(chat.actions(Action.PICK)[nth].data)
        for service in range(len(chat.actions(Action.PICK))):
            await chat.tap_data(chat.actions(Action.PICK)[service].data)
            assert chat.actions(Action.MONTH_NEXT) or chat.actions(Action.DAY), chat.describe()
            await chat.tap_action(Action.BACK)
    await chat.command("book")
    await chat.tap("Madrid – Urgencias 24 h")  # times round the clock: every page of times
    await chat.tap_action(Action.PICK)
    await pick_day(chat)
    while chat.actions(Action.PAGE)[-1:] and chat.has_button("Later ›"):
        await chat.tap("Later ›")
    await chat.tap_action(Action.TIME)
    await chat.command("start")  # the menu offers to continue the booking
    assert chat.has_button("▶️ Continue booking"), chat.describe()
    await chat.tap("▶️ Continue booking")
    await chat.tap("Use “{name}”")
    await chat.say(LONG_EMAIL)
    await chat.tap_action(Action.REMEMBER_EMAIL)
    await chat.tap("✏️ Change")
    await chat.tap("« Back")
    await chat.tap("✅ Confirm")
    await book_one(chat)  # a second booking: the remembered email is offered
    await chat.command("mybookings")
    await chat.tap("{when} · {service}")
    await chat.tap("🔁 Reschedule")
    await pick_day(chat, 1)
    await chat.tap_action(Action.TIME)
    assert chat.has_button("Yes, reschedule"), chat.describe()
    await chat.tap("« Back")
    await chat.command("mybookings")
    await chat.tap("{when} · {service}")
    await chat.tap("🗑 Cancel appointment")
    assert chat.has_button("Yes, cancel it"), chat.describe()
    await chat.command("forget")
    assert not chat.problems, "\n".join(chat.problems)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_labels_that_depend_on_the_date_fit_all_year(lang: str) -> None:
    rows: list[tuple[Button, ...]] = []
    for month in range(1, 13):  # the calendar's month row: ‹ Sept 2027 ›
        title = MonthValue(2027, month, short=True)
        rows.append((Button(Msg("‹"), ""), Button(title, ""), Button(Msg("›"), "")))
        rows.append((Button(Msg("{month} ›", month=MonthValue(2027, month)), ""),))
    rows.append(tuple(Button(WeekdayValue(d, "short"), "") for d in range(7)))
    rows.append(tuple(Button(Msg("·{n}·".replace("{n}", "30")), "") for _ in range(7)))
    for day in YEAR:  # the earliest free time, late in the evening of every day of a year
        late = datetime(day.year, day.month, day.day, 21, 45, tzinfo=UTC)
        label = Msg(
            "⚡ Earliest: {date}, {time}",
            date=DateValue(day, "MMMEd"),
            time=TimeValue(late, "Europe/Madrid"),
        )
        rows.append((Button(label, ""),))
    assert not too_wide(tuple(rows), lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_my_appointments_entries_fit_with_every_service_all_year(lang: str) -> None:
    """Each service of the seed on every day of a year, at the widest time, at each branch;
    and the buttons of a reminder and of a notice of a change, for each of them."""
    seed = load_seed(DEFAULT_SEED_PATH)
    rows: list[tuple[Button, ...]] = []
    for service in seed.services:
        for location in seed.locations:
            row = _row(service.name, location.name, location.timezone)
            rows += [(Button(booking_label(replace(row, start=_at(day))), ""),) for day in YEAR]
            rows += list(build_reminder(row, lang).screens[0].buttons)
            for kind in ("cancelled", "moved"):
                notice = NoticeRow(1, row.id, 1, 1, kind, row.start, row.start, lang, "sent", 0)
                rows += list(build_notice(notice, row, lang, row.start).screens[0].buttons)
    rows.append((Button(OPEN_PRIVATE_CHAT, ""),))
    assert not too_wide(tuple(rows), lang)


def test_times_of_a_daylight_saving_night_fit_three_to_a_row() -> None:
    """In the hour the autumn switch repeats, a time names its zone ("02:30 MESZ"): the time
    screen then shows three times a row (bot/chat/views.py)."""
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST in Madrid
    second = first + timedelta(hours=1)  # 02:30 CET
    for lang in LANGUAGES:
        row = tuple(Button(TimeValue(t, "Europe/Madrid"), "") for t in (first, second, second))
        assert "2:30" in localizer(lang).render(row[0].label)
        assert not too_wide((row,), lang)
        plain = tuple(
            Button(TimeValue(first - timedelta(hours=3), "Europe/Madrid"), "") for _ in range(4)
        )
        assert not too_wide((plain,), lang)


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 22, 45, tzinfo=UTC)


def _row(service: str, location: str, tz: str) -> BookingRow:
    start = _at(YEAR[0])
    return BookingRow(
        id=1,
        user_id=1,
        chat_id=1,
        appointment_id="a_0123456789abcdef",
        service_id="svc",
        service_name=service,
        location_id="loc",
        location_name=location,
        location_address="",
        timezone=tz,
        start=start,
        end=start + timedelta(hours=1),
        status="confirmed",
        created_at="",
        updated_at="",
    )
