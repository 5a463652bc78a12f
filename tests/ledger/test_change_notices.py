"""Changes made at the business reach the customer, through the real bot: a booking cancelled
or moved at the sandbox (as the front desk would) is noticed by the reconcile scan, announced
once in the customer's language with one-tap ways on, and the stored booking, its reminders and
My bookings follow; restarts in the middle lose nothing and repeat nothing. Simulated time:
the sandbox clock is the bot's clock, and each scan runs when the test says so."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.core.cadence import CADENCE
from bot.core.records import BookingRow, NoticeRow
from bot.core.screens import DateTimeValue, Msg
from bot.core.state import ChatState, Step
from bot.followup.ledger import Ledger
from bot.followup.reconcile import Reconciler
from bot.i18n import localizer
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.fakes.bot_api import ChatMessage
from tests.reminders.harness import OpsBot
from tests.telegram.harness import DAY_RE, TIME_RE, Chat

SECOND = timedelta(seconds=1)
STAFF_GROUP = -100500
CANCELLED = (
    "🗑 <b>Cancelled:</b> the business has cancelled your {service} appointment at "
    "{location} on {when}."
)
MOVED = (
    "🔁 <b>New time:</b> the business has rescheduled your {service} appointment at "
    "{location} to {when}."
)


def text(language: str, key: str, **values: object) -> str:
    return localizer(language).render(Msg(key, **values), "html")  # type: ignore[arg-type]


def label(language: str, key: str) -> str:
    return localizer(language).render(Msg(key), "plain")


def when(booking: BookingRow, start: datetime) -> DateTimeValue:
    return DateTimeValue(start, booking.timezone, "full", MONDAY.year)  # this year: no year


async def book_wednesday(chat: Chat) -> BookingRow:
    """The first time on Wednesday 25 November, two days ahead: checked once an hour."""
    await chat.book(day=2)
    [row] = chat.bot.storage.bookings_for_user(chat.chat_id)  # type: ignore[union-attr]
    return row


def pending_reminders(ops: OpsBot, booking: BookingRow) -> list[datetime]:
    return [r.due_at for r in ops.db.reminders_for_booking(booking.id) if r.status == "pending"]


def state_of(ops: OpsBot, chat: Chat) -> ChatState:
    row = ops.db.load_conversation(chat.chat_id)
    assert row is not None
    return ChatState.loads(row.state)


async def tap_on(ops: OpsBot, chat: Chat, message: ChatMessage, key: str) -> int:
    """Tap the button of `message` (not necessarily the newest) whose label is `key`."""
    wanted = label(chat.language or "en", key)
    [data] = [d for row in message.buttons for lab, d in row if lab == wanted]
    update = ops.fake.user_taps(chat.chat_id, message.message_id, data)
    await ops.settle()
    return update


async def test_a_booking_cancelled_at_the_business_is_announced_once_in_the_customers_language(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = "es"
    booking = await book_wednesday(chat)
    assert len(pending_reminders(ops, booking)) == 2
    sandbox.store.cancel(booking.appointment_id)  # at the front desk

    sandbox.clock.set(MONDAY + timedelta(minutes=30))  # a far booking is not checked yet
    assert (await ops.reconcile()).checked == 0
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    result = await ops.reconcile()
    assert (result.checked, result.changed) == (1, 1)

    [notice] = ops.notices_in(chat.chat_id)
    assert notice.text is not None
    assert notice.text.startswith(
        text(
            "es",
            CANCELLED,
            location=booking.location_name,
            service=booking.service_name,
            when=when(booking, booking.start),
        )
    )
    assert booking.appointment_id in notice.text
    assert notice.labels == [label("es", "📅 Book again")]
    stored = ops.db.get_booking(booking.id)
    assert stored is not None and stored.status == "cancelled"
    assert pending_reminders(ops, booking) == []  # dropped
    [row] = ops.db.notices_for_booking(booking.id)
    assert (row.kind, row.status, row.language) == ("cancelled", "sent", "es")

    # Told once: later scans, a restart and the reminders' own times add nothing.
    for moment in (booking.start - timedelta(hours=24), booking.start - timedelta(hours=2)):
        sandbox.clock.set(moment + SECOND)
        await ops.reconcile()
        await ops.restart()
        await ops.reconcile()
        await ops.scan()
    assert len(ops.notices_in(chat.chat_id)) == 1
    assert ops.reminders_in(chat.chat_id) == []

    # My bookings follows.
    await chat.command("mybookings")
    assert chat.latest is not None and chat.latest.text is not None
    assert text("es", "You have no upcoming appointments.") in chat.latest.text

    # "Book again": a new booking of the same service at the same branch, as a new message.
    await tap_on(ops, chat, notice, "📅 Book again")
    state = state_of(ops, chat)
    assert (state.nav.step, state.draft.service_id, state.draft.location_id) == (
        Step.DAY,
        booking.service_id,
        booking.location_id,
    )
    [kept] = [m for m in ops.fake.messages(chat.chat_id) if m.message_id == notice.message_id]
    assert kept.text == notice.text  # the notice was not replaced


async def test_a_booking_moved_at_the_business_is_announced_with_the_new_time_and_reminded_then(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = "de"
    booking = await book_wednesday(chat)
    new_start = booking.start + timedelta(days=2)  # Friday, same time
    sandbox.store.reschedule(booking.appointment_id, new_start)

    sandbox.clock.set(MONDAY + CADENCE.far_every)
    assert (await ops.reconcile()).changed == 1
    [notice] = ops.notices_in(chat.chat_id)
    assert notice.text is not None
    assert notice.text.startswith(
        text(
            "de",
            MOVED,
            location=booking.location_name,
            service=booking.service_name,
            when=when(booking, new_start),
        )
    )
    assert text("de", "It was on {old}.", old=when(booking, booking.start)) in notice.text
    assert notice.labels == [
        label("de", key)
        for key in ("👍 Keep the new time", "🔁 Pick another time", "🗑 Cancel appointment")
    ]
    calendar = ops.fake.documents(chat.chat_id)[-1]  # the calendar file follows the notice
    assert f"DTSTART:{new_start:%Y%m%dT%H%M%SZ}".encode() in calendar.content

    moved = ops.db.get_booking(booking.id)
    assert moved is not None and (moved.start, moved.status) == (new_start, "confirmed")
    assert pending_reminders(ops, booking) == [
        new_start - timedelta(hours=24),
        new_start - timedelta(hours=2),
    ]

    # Reminded at the new time, not at the old one.
    sandbox.clock.set(booking.start - timedelta(hours=2) + SECOND)
    await ops.scan()
    assert ops.reminders_in(chat.chat_id) == []
    sandbox.clock.set(new_start - timedelta(hours=24) + SECOND)
    assert (await ops.scan()).sent == 1
    [reminder] = ops.reminders_in(chat.chat_id)
    reminded = when(booking, new_start)  # this year: no year, like every sentence date
    assert localizer("de").render(reminded, "html") in (reminder.text or "")
    assert len(ops.notices_in(chat.chat_id)) == 1

    # Keep: a thank-you toast and nothing else.
    keep = await tap_on(ops, chat, notice, "👍 Keep the new time")
    answer = ops.fake.answer_to(keep)
    assert answer is not None and answer.get("text") == label("de", "Great, see you then!")
    # Pick another time: the reschedule calendar of this booking.
    await tap_on(ops, chat, notice, "🔁 Pick another time")
    state = state_of(ops, chat)
    assert (state.nav.step, state.managing.booking_id) == (Step.DAY, booking.id)
    # ...below the notice, which stays as it was (issue 18, item 7): so does "Cancel".
    await tap_on(ops, chat, notice, "🗑 Cancel appointment")
    assert state_of(ops, chat).nav.step == Step.CANCEL_CONFIRM
    [kept] = [m for m in ops.fake.messages(chat.chat_id) if m.message_id == notice.message_id]
    assert (kept.text, kept.buttons) == (notice.text, notice.buttons)
    assert chat.latest is not None and chat.latest.message_id > notice.message_id


async def test_a_restart_while_the_business_changes_a_booking_loses_nothing(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await ops.stop()
    sandbox.store.cancel(booking.appointment_id)  # while the bot is down
    sandbox.clock.set(MONDAY + timedelta(hours=3))  # and it stays down past its check
    await ops.start()
    assert (await ops.reconcile()).changed == 1
    await ops.restart()
    await ops.reconcile()
    assert len(ops.notices_in(chat.chat_id)) == 1


async def test_a_crash_after_the_change_is_recorded_and_before_the_notice_still_tells_once(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """The process records the move (row, reminders and notice in one transaction) and dies
    before sending: the next start sends the notice, once."""
    booking = await book_wednesday(chat)
    new_start = booking.start + timedelta(days=2)
    sandbox.store.reschedule(booking.appointment_id, new_start)
    await ops.stop()
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    [pending] = await record_without_sending(ops, sandbox)  # the dying process's last act
    assert (pending.booking_id, pending.kind, pending.status) == (booking.id, "moved", "pending")
    assert ops.notices_in(chat.chat_id) == []

    await ops.start()  # the start-up catch-up sends what was left
    await ops.fake.wait_for(lambda: ops.notices_in(chat.chat_id))
    await ops.reconcile()
    await ops.restart()
    sandbox.clock.set(MONDAY + 3 * CADENCE.far_every)
    await ops.reconcile()
    assert len(ops.notices_in(chat.chat_id)) == 1
    assert [n.status for n in ops.db.notices_for_booking(booking.id)] == ["sent"]


async def test_a_notice_telegram_refused_is_sent_after_a_restart(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    sandbox.store.cancel(booking.appointment_id)
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    ops.fake.fail(2, 502, "Bad Gateway")  # the notice certainly did not arrive, twice
    await ops.reconcile()  # tried as the change is recorded, and after the scan
    assert ops.notices_in(chat.chat_id) == []
    [row] = ops_notices(ops, booking)
    assert (row.status, row.attempts) == ("pending", 2)
    await ops.restart()
    await ops.fake.wait_for(lambda: ops.notices_in(chat.chat_id))
    await ops.restart()
    assert len(ops.notices_in(chat.chat_id)) == 1


async def test_a_calendar_file_that_fails_does_not_repeat_the_notice(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    sandbox.store.reschedule(booking.appointment_id, booking.start + timedelta(days=2))
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    documents = len(ops.fake.documents(chat.chat_id))  # the confirmation's
    ops.fake.fail(1, 502, "Bad Gateway", frozenset({"sendDocument"}))
    await ops.reconcile()
    await ops.restart()
    await ops.reconcile()
    assert len(ops.notices_in(chat.chat_id)) == 1
    assert len(ops.fake.documents(chat.chat_id)) == documents
    assert [n.status for n in ops.db.notices_for_booking(booking.id)] == ["sent"]


@pytest.mark.parametrize("settings_overrides", [{"ADMIN_CHAT_ID": STAFF_GROUP}])
async def test_the_customers_own_changes_are_not_announced_back_and_the_staff_hear_both(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await chat.command("mybookings")
    await chat.tap_index(0)  # the booking
    await chat.tap_index(0)  # Reschedule
    await chat.tap_where(lambda label: bool(DAY_RE.match(label)), nth=4)
    await chat.tap_where(lambda label: bool(TIME_RE.match(label)))
    await chat.tap_index(0)  # Yes, move it
    for hours in (1, 2, 30):
        sandbox.clock.set(MONDAY + timedelta(hours=hours))
        await ops.reconcile()
    await chat.command("mybookings")
    await chat.tap_index(0)
    await chat.tap_index(1)  # Cancel booking
    await chat.tap_index(0)  # Yes, cancel it
    sandbox.clock.set(MONDAY + timedelta(hours=32))
    await ops.reconcile()
    assert ops.notices_in(chat.chat_id) == []
    assert ops.db.notices_for_booking(booking.id) == []

    # A change at the business: the customer is told, and the staff chat hears it, marked.
    other = Chat(ops, chat_id=2002)
    await other.book(day=3)
    [theirs] = ops.db.bookings_for_user(other.chat_id)
    sandbox.store.cancel(theirs.appointment_id)
    sandbox.clock.set(MONDAY + timedelta(hours=40))
    await ops.reconcile()
    assert len(ops.notices_in(other.chat_id)) == 1
    await ops.fake.wait_for(lambda: len(ops.fake.messages(STAFF_GROUP)) == 5)
    staff = [m.text or "" for m in ops.fake.messages(STAFF_GROUP)]
    outside = text(
        "en", "Changed outside the bot (front desk, website or Zimun); the bot tells the customer."
    )
    assert [outside in t for t in staff] == [False, False, False, False, True]
    assert staff[-1].startswith("🗑 <b>Cancelled:</b> ") and theirs.appointment_id in staff[-1]


async def test_a_notice_leaves_a_booking_in_progress_alone(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    await chat.open_booking()
    await chat.pick_slot(day=3)  # a time held on Thursday
    await chat.send("Ana García")
    before = state_of(ops, chat)
    assert before.nav.step == Step.EMAIL and before.draft.hold is not None

    sandbox.store.cancel(booking.appointment_id)
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    await ops.reconcile()
    assert len(ops.notices_in(chat.chat_id)) == 1
    assert state_of(ops, chat) == before  # the draft, its hold and its buttons are as they were

    await chat.send("ana@example.com")
    await chat.tap_index(0)  # the summary's Confirm
    assert len([a for a in sandbox.store.appointment_list() if a.active]) == 1
    assert state_of(ops, chat).nav.step == Step.MENU


async def test_a_near_appointment_is_noticed_within_five_minutes_a_far_one_within_the_hour(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """The JobQueue's scan every 30 s, simulated: how long until the customer hears."""
    near = Chat(ops, chat_id=3003)
    await near.book(day=0)  # today, in a few hours
    await chat.book(day=2)  # Wednesday
    [today] = ops.db.bookings_for_user(near.chat_id)
    [wednesday] = ops.db.bookings_for_user(chat.chat_id)
    assert today.start - MONDAY < CADENCE.near < wednesday.start - MONDAY

    sandbox.clock.set(MONDAY + SECOND)  # just after both were checked (at booking)
    sandbox.store.reschedule(today.appointment_id, today.start + timedelta(minutes=30))
    sandbox.store.cancel(wednesday.appointment_id)
    told: dict[int, timedelta] = {}
    step = timedelta(seconds=30)
    moment = MONDAY + SECOND
    looked_up = sandbox.stats.count("GET", "/appointments/{appointment_id}", 200)
    while len(told) < 2 and moment < MONDAY + timedelta(hours=2):
        moment += step
        sandbox.clock.set(moment)
        await ops.reconcile()
        for who in (near, chat):
            if ops.notices_in(who.chat_id) and who.chat_id not in told:
                told[who.chat_id] = moment - MONDAY
    assert told[near.chat_id] <= timedelta(minutes=5)
    assert told[chat.chat_id] <= timedelta(hours=1)
    # What it cost meanwhile: the near one every 4 minutes, the far one once (cancelled, it is
    # not checked again).
    calls = sandbox.stats.count("GET", "/appointments/{appointment_id}", 200) - looked_up
    assert calls == told[chat.chat_id] // CADENCE.near_every + 1


async def record_without_sending(ops: OpsBot, sandbox: SandboxServer) -> list[NoticeRow]:
    """What a bot process does in a reconcile scan up to the commit, with nothing listening:
    its own storage, client and ledger over the same database file. Returns the notices."""
    storage = Storage(ops.settings.BOT_DB_PATH)
    try:
        async with ZimunClient.from_settings(ops.settings) as client:
            reconciler = Reconciler(client, Ledger(storage), now=sandbox.clock.now)
            assert (await reconciler.check_due()).changed == 1
        return storage.pending_notices()
    finally:
        storage.close()


def ops_notices(ops: OpsBot, booking: BookingRow) -> list[NoticeRow]:
    return ops.db.notices_for_booking(booking.id)
