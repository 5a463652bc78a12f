"""Reminders through the real bot: planned at booking, sent once at the right time (also
across a restart), never for a cancelled appointment, moved with a rescheduled one, caught up
after downtime only while the appointment is ahead, with working buttons. Simulated time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date

from bot.core.records import BookingRow, ReminderRow
from bot.core.screens import Msg
from bot.followup.messages import build_reminder
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.reminders.harness import OpsBot
from tests.telegram.harness import DAY_RE, TIME_RE, Chat

SECOND = timedelta(seconds=1)


async def book_wednesday(chat: Chat) -> BookingRow:
    """Book the first time on Wednesday 25 November (two days ahead): both reminders fit."""
    await chat.book(day=2)
    [row] = chat.bot.storage.bookings_for_user(chat.chat_id)  # type: ignore[union-attr]
    return row


def pending(ops: OpsBot, booking: BookingRow) -> list[ReminderRow]:
    return [r for r in ops.db.reminders_for_booking(booking.id) if r.status == "pending"]


async def test_reminders_are_planned_at_booking_and_sent_once_across_a_restart(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = "es"
    booking = await book_wednesday(chat)
    planned = ops.db.reminders_for_booking(booking.id)
    assert [(r.offset_minutes, r.due_at) for r in planned] == [
        (24 * 60, booking.start - timedelta(hours=24)),
        (2 * 60, booking.start - timedelta(hours=2)),
    ]
    assert {r.status for r in planned} == {"pending"}

    day_before, two_hours = (r.due_at for r in planned)
    sandbox.clock.set(day_before - SECOND)
    await ops.scan()
    assert ops.reminders_in(chat.chat_id) == []

    sandbox.clock.set(day_before + SECOND)
    result = await ops.scan()
    assert result.sent == 1
    [reminder] = ops.reminders_in(chat.chat_id)
    # In the customer's language and the branch's time, with Keep, Reschedule and Cancel.
    fresh = ops.db.get_booking(booking.id)
    assert fresh is not None
    expected = build_reminder(fresh, "es", this_year=sandbox.clock.now().year).screens[0]
    assert reminder.text == localizer("es").render_body(expected, "html")
    assert reminder.parse_mode == "HTML"
    local_day = booking.start.astimezone(_tz(booking)).date()
    assert format_date(local_day, "EEEE", locale="es").lower() in reminder.text.lower()
    assert booking.start.astimezone(_tz(booking)).strftime("%-H:%M") in reminder.text
    assert len(reminder.labels) == 3
    assert reminder.labels == [
        localizer("es").render(Msg(key), "plain")
        for key in ("👍 I'll be there", "🔁 Reschedule", "🗑 Cancel appointment")
    ]

    await ops.scan()  # the same moment again: nothing more
    await ops.restart()  # a new Application over the same database
    await ops.scan()
    sandbox.clock.set(two_hours - SECOND)
    await ops.restart()
    await ops.scan()
    assert len(ops.reminders_in(chat.chat_id)) == 1

    sandbox.clock.set(two_hours + SECOND)
    assert (await ops.scan()).sent == 1
    await ops.restart()
    await ops.scan()
    sandbox.clock.set(booking.start - SECOND)
    await ops.scan()
    assert len(ops.reminders_in(chat.chat_id)) == 2
    assert {r.status for r in ops.db.reminders_for_booking(booking.id)} == {"sent"}


async def test_a_booking_cancelled_through_the_bot_gets_no_reminder(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await chat.command("mybookings")
    await chat.tap_index(0)  # the booking
    await chat.tap_index(1)  # Cancel booking
    await chat.tap_index(0)  # Yes, cancel it
    assert sandbox.store.appointment(booking.appointment_id).status == "cancelled"
    assert pending(ops, booking) == []

    for moment in (booking.start - timedelta(hours=24), booking.start - timedelta(hours=2)):
        sandbox.clock.set(moment + SECOND)
        await ops.scan()
    assert ops.reminders_in(chat.chat_id) == []


async def test_a_booking_cancelled_elsewhere_gets_no_reminder_and_is_marked_cancelled(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    sandbox.store.cancel(booking.appointment_id)  # at the business, not through the bot
    looked_up = sandbox.stats.count("GET", "/appointments/{appointment_id}", 200)

    sandbox.clock.set(booking.start - timedelta(hours=24) + SECOND)
    result = await ops.scan()
    assert (result.sent, result.dropped) == (0, 1)
    assert sandbox.stats.count("GET", "/appointments/{appointment_id}", 200) == looked_up + 1
    assert ops.db.get_booking(booking.id).status == "cancelled"  # type: ignore[union-attr]
    assert pending(ops, booking) == []

    sandbox.clock.set(booking.start - timedelta(hours=2) + SECOND)
    await ops.scan()
    assert ops.reminders_in(chat.chat_id) == []


async def test_a_booking_rescheduled_through_the_bot_is_reminded_at_its_new_time(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await chat.command("mybookings")
    await chat.tap_index(0)  # the booking
    await chat.tap_index(0)  # Reschedule
    await chat.tap_where(lambda label: bool(DAY_RE.match(label)), nth=4)  # Friday 27th
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.tap_index(0)  # Yes, move it
    moved = ops.db.get_booking(booking.id)
    assert moved is not None and moved.start > booking.start + timedelta(days=1)
    assert [r.due_at for r in pending(ops, moved)] == [
        moved.start - timedelta(hours=24),
        moved.start - timedelta(hours=2),
    ]

    sandbox.clock.set(booking.start - timedelta(hours=2) + SECOND)  # the old time
    await ops.scan()
    assert ops.reminders_in(chat.chat_id) == []

    sandbox.clock.set(moved.start - timedelta(hours=24) + SECOND)
    await ops.scan()
    [reminder] = ops.reminders_in(chat.chat_id)
    assert reminder.text == localizer("en").render_body(
        build_reminder(moved, "en", this_year=sandbox.clock.now().year).screens[0], "html"
    )


async def test_a_booking_moved_elsewhere_is_reminded_at_its_new_time(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    new_start = booking.start + timedelta(days=2)  # Friday, same time
    sandbox.store.reschedule(booking.appointment_id, new_start)

    sandbox.clock.set(booking.start - timedelta(hours=24) + SECOND)
    assert (await ops.scan()).dropped == 1
    moved = ops.db.get_booking(booking.id)
    assert moved is not None and moved.start == new_start
    assert [r.due_at for r in pending(ops, moved)] == [
        new_start - timedelta(hours=24),
        new_start - timedelta(hours=2),
    ]
    assert ops.reminders_in(chat.chat_id) == []

    sandbox.clock.set(new_start - timedelta(hours=2) + SECOND)
    result = await ops.scan()
    assert (result.sent, result.skipped) == (1, 1)  # the 24 h one is superseded by the 2 h one
    assert len(ops.reminders_in(chat.chat_id)) == 1


@pytest.mark.parametrize(
    "bot_options", [{"housekeeping_interval": None, "reconcile_interval": None}]
)
async def test_after_downtime_the_scan_on_start_sends_only_the_latest_reminder(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """The JobQueue's first scan runs at start: what fell due while the bot was down goes out
    once, and only the nearest reminder (no "tomorrow" message two hours before)."""
    booking = await book_wednesday(chat)
    await ops.stop()
    sandbox.clock.set(booking.start - timedelta(minutes=90))  # both were due meanwhile
    await ops.start()
    await ops.fake.wait_for(lambda: ops.reminders_in(chat.chat_id))
    await ops.fake.wait_for(lambda: not pending(ops, booking))
    statuses = {r.offset_minutes: r.status for r in ops.db.reminders_for_booking(booking.id)}
    assert statuses == {24 * 60: "skipped", 2 * 60: "sent"}
    await ops.restart()
    await ops.scan()
    assert len(ops.reminders_in(chat.chat_id)) == 1


@pytest.mark.parametrize(
    "bot_options", [{"housekeeping_interval": None, "reconcile_interval": None}]
)
async def test_no_reminder_after_the_appointment_even_if_it_fell_due_while_down(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await ops.stop()
    sandbox.clock.set(booking.start + timedelta(minutes=5))
    await ops.start()
    await ops.fake.wait_for(lambda: not pending(ops, booking))  # the scan on start ran
    assert {r.status for r in ops.db.reminders_for_booking(booking.id)} == {"skipped"}
    assert ops.reminders_in(chat.chat_id) == []


async def test_the_reminder_buttons_keep_and_cancel(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await chat.command("help")  # the chat moves on; the reminder's buttons still work
    sandbox.clock.set(booking.start - timedelta(hours=2) + SECOND)
    await ops.scan()
    [reminder] = ops.reminders_in(chat.chat_id)

    keep = ops.fake.user_taps(chat.chat_id, reminder.message_id, reminder.buttons[0][0][1])
    await ops.settle()
    answer = ops.fake.answer_to(keep)
    assert answer is not None
    assert answer.get("text") == localizer("en").render(Msg("Great, see you then!"))
    assert sandbox.store.appointment(booking.appointment_id).status == "confirmed"

    ops.fake.user_taps(
        chat.chat_id, reminder.message_id, reminder.buttons[2][0][1]
    )  # Cancel appointment
    await ops.settle()
    await chat.tap_index(0)  # Yes, cancel it
    assert sandbox.store.appointment(booking.appointment_id).status == "cancelled"


async def test_no_reminders_when_the_offsets_are_empty(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    ops.conversation.reminder_offsets = ()  # type: ignore[union-attr]
    booking = await book_wednesday(chat)
    assert ops.db.reminders_for_booking(booking.id) == []


@pytest.mark.parametrize("offsets", [(timedelta(minutes=90),)])
async def test_a_configured_offset_is_used(ops: OpsBot, chat: Chat, sandbox: SandboxServer) -> None:
    booking = await book_wednesday(chat)
    [only] = ops.db.reminders_for_booking(booking.id)
    assert (only.offset_minutes, only.due_at) == (90, booking.start - timedelta(minutes=90))
    sandbox.clock.set(only.due_at + SECOND)
    assert (await ops.scan()).sent == 1


def _tz(booking: BookingRow):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(booking.timezone)
