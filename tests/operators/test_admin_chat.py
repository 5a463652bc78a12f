"""The staff chat (ADMIN_CHAT_ID): a notice of each booking made, moved or cancelled through the
bot or at the business, /stats there and nowhere else, and its own command menu."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.core.changes import BookingChange, ChangeKind
from bot.core.records import FunnelEvent
from bot.core.screens import Msg, Plural
from bot.i18n import localizer
from bot.ops.staff import Bursts
from bot.ops.stats import stats_of
from bot.store.storage import Storage
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import DAY_RE, TIME_RE, Chat

STAFF_GROUP = -100500
OWNER = 9009  # a private admin chat: the owner is also a customer


def text(key: str, **values: object) -> str:
    return localizer("en").render(Msg(key, **values), "html")  # type: ignore[arg-type]


@pytest.mark.parametrize("settings_overrides", [{"ADMIN_CHAT_ID": STAFF_GROUP}])
async def test_the_staff_chat_hears_of_new_moved_and_cancelled_bookings(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.book(name="Ana <b>García</b>", day=2)
    [appointment] = sandbox.store.appointment_list()
    await ops.fake.wait_for(lambda: ops.fake.messages(STAFF_GROUP))
    [new] = ops.fake.messages(STAFF_GROUP)
    assert new.text is not None and new.text.startswith("🆕 <b>New appointment:</b> ")
    assert "Quick check-up" in new.text and "Madrid – Chamberí" in new.text
    assert text("<b>Name:</b> {name}", name="Ana <b>García</b>") in new.text  # escaped
    assert appointment.id in new.text

    await chat.command("mybookings")
    await chat.tap_index(0)
    await chat.tap_index(0)  # Reschedule
    await chat.tap_where(lambda label: bool(DAY_RE.match(label)), nth=4)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.tap_index(0)  # Yes, move it
    await ops.fake.wait_for(lambda: len(ops.fake.messages(STAFF_GROUP)) == 2)
    moved = ops.fake.messages(STAFF_GROUP)[-1].text or ""
    assert moved.startswith("🔁 <b>Rescheduled:</b> ") and " from " in moved

    await chat.command("mybookings")
    await chat.tap_index(0)
    await chat.tap_index(1)  # Cancel booking
    await chat.tap_index(0)  # Yes, cancel it
    await ops.fake.wait_for(lambda: len(ops.fake.messages(STAFF_GROUP)) == 3)
    cancelled = ops.fake.messages(STAFF_GROUP)[-1].text or ""
    assert cancelled.startswith("🗑 <b>Cancelled:</b> ")
    assert appointment.id in cancelled

    # A booking cancelled at the business is announced too, once, marked as such.
    other = Chat(ops, chat_id=2002)
    await other.book(day=3)
    await ops.fake.wait_for(lambda: len(ops.fake.messages(STAFF_GROUP)) == 4)
    cancelled_there = sandbox.store.appointment_list("confirmed")[0].id
    sandbox.store.cancel(cancelled_there)
    await other.command("mybookings")  # the refresh notices the cancellation
    await ops.restart()  # any queued notice is sent before the stop completes
    await other.command("mybookings")  # nothing new to notice
    assert len(ops.fake.messages(STAFF_GROUP)) == 5
    elsewhere = ops.fake.messages(STAFF_GROUP)[-1].text or ""
    assert elsewhere.startswith("🗑 <b>Cancelled:</b> ") and cancelled_there in elsewhere
    assert elsewhere.endswith(
        text("Changed outside the bot (front desk, website or Zimun); the bot tells the customer.")
    )
    assert len(ops.notices_in(other.chat_id)) == 1  # and the customer was told


@pytest.mark.parametrize("settings_overrides", [{"ADMIN_CHAT_ID": OWNER}])
async def test_stats_answer_in_the_staff_chat_only(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    await chat.book(day=2)  # one confirmed
    await chat.open_booking()  # one given up at the summary
    await chat.pick_slot(day=3)
    await chat.give_details("Ana", "ana@example.com")
    await chat.tap_index(2)  # the summary's Cancel
    await chat.command("mybookings")  # and one cancelled
    await chat.tap_index(0)
    await chat.tap_index(1)
    await chat.tap_index(0)

    owner = Chat(ops, chat_id=OWNER)
    await owner.command("stats")
    stats = owner.latest
    assert stats is not None and stats.text is not None
    lines = stats.text.splitlines()
    assert lines[0] == localizer("en").render(
        Plural(
            "📊 <b>Booking statistics, last {count} day</b>",
            "📊 <b>Booking statistics, last {count} days</b>",
            count=30,
        ),
        "html",
    )
    assert (
        text(
            "Booked: {booked} · rescheduled: {moved} · cancelled: {cancelled}",
            booked=1,
            moved=0,
            cancelled=1,
        )
        in lines
    )
    assert (
        text(
            "Started: {started} · confirmed: {confirmed} ({percent}%) · in progress: {open}",
            started=2,
            confirmed=1,
            percent=50,
            open=0,
        )
        in lines
    )
    assert text("{label}: {count}", label="Madrid – Chamberí", count=1) in lines
    assert text("{label}: {count}", label="Quick check-up", count=1) in lines
    assert text("{label}: {count}", label=Msg("checking the details"), count=1) in lines

    await chat.command("stats")  # any other chat: an unknown command
    assert chat.latest is not None and chat.latest.text is not None
    assert chat.latest.text.startswith(
        text("I don't know that command. Type /help to see what I can do.")
    )

    # The owner's chat menu has the customer commands plus /stats; others do not see it.
    for language in ("", "en", "es", "it", "de"):
        names = [c["command"] for c in ops.fake.chat_commands[(OWNER, language)]]
        assert names[-1] == "stats" and "book" in names
        assert "stats" not in [c["command"] for c in ops.fake.private_commands[language]]


@pytest.mark.parametrize("settings_overrides", [{"ADMIN_CHAT_ID": STAFF_GROUP}])
async def test_a_staff_group_gets_only_stats_in_its_menu(ops: OpsBot) -> None:
    assert [c["command"] for c in ops.fake.chat_commands[(STAFF_GROUP, "it")]] == ["stats"]
    description = ops.fake.chat_commands[(STAFF_GROUP, "it")][0]["description"]
    assert description == localizer("it").render(Msg("Booking statistics"))


async def test_without_an_admin_chat_stats_is_unknown_and_nobody_is_notified(
    ops: OpsBot, chat: Chat
) -> None:
    await chat.book(day=2)
    await chat.command("stats")
    assert chat.latest is not None and (chat.latest.text or "").startswith("I don't know")
    assert not ops.fake.chat_commands
    chats = {c.chat_id for c in ops.fake.calls_of("sendMessage")}
    assert chats == {chat.chat_id}


def test_stats_count_attempts_conversion_and_where_customers_stopped(tmp_path: Path) -> None:
    now = MONDAY
    minute = timedelta(minutes=1)

    def attempt(name: str, *steps: str, end: str | None = None, at: datetime = now) -> list:
        events = [FunnelEvent(at, name, "started")]
        events += [FunnelEvent(at + minute, name, "step", s) for s in steps]
        if end == "confirmed":
            events.append(FunnelEvent(at + 2 * minute, name, end, None, "Milano", "Cleaning"))
        elif end == "abandoned":
            events.append(FunnelEvent(at + 2 * minute, name, end, steps[-1]))
        return events

    events = [
        *attempt(
            "a",
            "location",
            "service",
            "day",
            "time",
            "name",
            "email",
            "summary",
            end="confirmed",
            at=now - timedelta(days=2),
        ),
        *attempt("b", "location", "service", end="abandoned", at=now - timedelta(hours=3)),
        *attempt("c", "location", "day", "time", at=now - timedelta(hours=5)),  # went quiet
        *attempt("d", "location", at=now - 2 * minute),  # still going on
        *attempt("old", "location", end="confirmed", at=now - timedelta(days=40)),
        FunnelEvent(now - timedelta(days=1), "", "cancelled"),
    ]
    storage = Storage(str(tmp_path / "bot.db"))
    storage.record_funnel(events)
    stats = stats_of(storage, now + 3 * minute)
    assert (stats.started, stats.confirmed, stats.open, stats.cancelled) == (4, 1, 1, 1)
    assert stats.conversion == 25
    assert dict(stats.stopped_at) == {"service": 1, "time": 1}
    assert stats.per_location == [("Milano", 1)] and stats.per_service == [("Cleaning", 1)]
    per_day = dict(stats.per_day)
    assert len(per_day) == 7 and per_day[(now - timedelta(days=2)).date()] == 1
    assert sum(per_day.values()) == 1
    storage.close()
    assert stats_of(Storage(str(tmp_path / "empty.db")), now).conversion == 0


@pytest.mark.parametrize("settings_overrides", [{"ADMIN_CHAT_ID": STAFF_GROUP}])
async def test_a_burst_of_new_appointments_by_one_account_is_told_once(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """Issue 18, item 12: one account booking again and again gets one notice for its first
    appointment and one line for the rest, not a message each; another customer's booking in
    the meantime is told at once, on its own."""
    for day in (2, 3, 4):
        await chat.book(day=day)
    await ops.fake.wait_for(lambda: ops.fake.messages(STAFF_GROUP))
    other = Chat(ops, chat_id=2002)
    await other.book(day=2)
    await ops.fake.wait_for(lambda: len(ops.fake.messages(STAFF_GROUP)) == 2)
    assert all(
        (m.text or "").startswith("🆕 <b>New appointment:</b> ")
        for m in ops.fake.messages(STAFF_GROUP)
    )
    await ops.restart()  # the burst's window ends at the latest when the bot stops
    messages = ops.fake.messages(STAFF_GROUP)
    assert len(messages) == 3
    first, second, third = (r.appointment_id for r in ops.db.bookings_for_user(chat.chat_id))
    assert first in (messages[0].text or "")
    burst = messages[-1].text or ""
    assert burst.startswith("🆕 <b>2 more new appointments</b> from the same Telegram account ")
    assert burst.endswith(f": {second}, {third}"), burst


def test_a_burst_window_opens_with_a_customers_first_new_appointment() -> None:
    bursts = Bursts(timedelta(minutes=10))

    def change(user: int, kind: ChangeKind = ChangeKind.BOOKED) -> BookingChange:
        return BookingChange(kind, f"a_{user}", MONDAY, "S", "L", "UTC", user_id=user)

    assert bursts.admit(change(1), MONDAY)  # the first: told at once
    assert not bursts.admit(change(1), MONDAY + timedelta(minutes=9))  # held
    assert bursts.admit(change(2), MONDAY + timedelta(minutes=9))  # another customer
    assert bursts.admit(change(1, ChangeKind.CANCELLED), MONDAY + timedelta(minutes=9))
    assert bursts.closes_at(1) == MONDAY + timedelta(minutes=10)
    assert [c.user_id for c in bursts.close(1)] == [1]
    assert bursts.close(2) == [] and bursts.open_bursts() == []
    assert bursts.admit(change(1), MONDAY + timedelta(minutes=11))  # a new window
