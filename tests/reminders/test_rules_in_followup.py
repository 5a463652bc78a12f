"""The operator's rules on the messages the bot sends on its own (issue 18, items 2 and 8): a
reminder or a notice of a move offers only the changes ALLOW_RESCHEDULE, ALLOW_CANCEL and
CHANGE_CUTOFF allow at the time it is sent, with the contact line for the rest; a tap on an
older one that the rules now refuse answers in a new message and leaves the reminder as it
was; a stored language the operator no longer offers is not used. Through the real bot against
the sandbox, simulated time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.core.cadence import CADENCE
from bot.core.payload import Action
from bot.core.records import BookingRow
from bot.core.screens import Msg
from bot.i18n import localizer
from sandbox.testing import SandboxServer
from tests.clock import MONDAY
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat

SECOND = timedelta(seconds=1)
CONTACT = "+34 600 000 000"
CONTACT_LINE = localizer("en").render(Msg("<b>Contact:</b> {contact}", contact=CONTACT), "html")
KEEP, RESCHEDULE, PICK, CANCEL = (
    "👍 I'll be there",
    "🔁 Reschedule",
    "🔁 Pick another time",
    "🗑 Cancel appointment",
)


async def book_wednesday(chat: Chat) -> BookingRow:
    """The first time on Wednesday 25 November, two days ahead."""
    await chat.book(day=2)
    [row] = chat.bot.storage.bookings_for_user(chat.chat_id)  # type: ignore[union-attr]
    return row


def rules(**values: Any) -> Any:
    return pytest.mark.parametrize("settings_overrides", [{"CONTACT": CONTACT, **values}])


@pytest.mark.parametrize(
    ("settings_overrides", "labels", "contact_lines"),
    [
        ({"CONTACT": CONTACT, "CHANGE_CUTOFF": "48h"}, [KEEP], 1),  # inside the cutoff
        ({"CONTACT": CONTACT, "ALLOW_CANCEL": False}, [KEEP, RESCHEDULE], 1),
        ({"CONTACT": CONTACT}, [KEEP, RESCHEDULE, CANCEL], 0),  # nothing to call about
    ],
    ids=["inside-cutoff", "no-cancel", "all-allowed"],
)
async def test_a_reminder_offers_only_the_allowed_changes_and_whom_to_call_for_the_rest(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer, labels: list[str], contact_lines: int
) -> None:
    booking = await book_wednesday(chat)
    sandbox.clock.set(booking.start - timedelta(hours=24) + SECOND)
    assert (await ops.scan()).sent == 1
    [reminder] = ops.reminders_in(chat.chat_id)
    assert reminder.labels == labels
    assert (reminder.text or "").count(CONTACT_LINE) == contact_lines


@rules(ALLOW_RESCHEDULE=False)
async def test_a_notice_of_a_move_offers_only_the_allowed_change(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    booking = await book_wednesday(chat)
    sandbox.store.reschedule(booking.appointment_id, booking.start + timedelta(days=2))
    sandbox.clock.set(MONDAY + CADENCE.far_every)
    assert (await ops.reconcile()).changed == 1
    [notice] = ops.notices_in(chat.chat_id)
    assert notice.labels == ["👍 Keep the new time", CANCEL]
    assert CONTACT_LINE in (notice.text or "")


@rules(CHANGE_CUTOFF="24h")
@pytest.mark.parametrize("offsets", [(timedelta(hours=25),)])
async def test_a_change_the_cutoff_now_refuses_answers_below_the_reminder_once(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    """A reminder sent before the cutoff keeps its buttons; tapped once inside it, the refusal
    is a new message naming the contact once, and the reminder keeps its text."""
    booking = await book_wednesday(chat)
    sandbox.clock.set(booking.start - timedelta(hours=25) + SECOND)
    assert (await ops.scan()).sent == 1
    [reminder] = ops.reminders_in(chat.chat_id)
    assert reminder.labels == [KEEP, RESCHEDULE, CANCEL]
    before = reminder.text

    sandbox.clock.set(booking.start - timedelta(hours=23))
    await chat.tap_action(Action.RESCHEDULE, message=reminder)
    [still] = [m for m in ops.fake.messages(chat.chat_id) if m.message_id == reminder.message_id]
    assert still.text == before
    answer = chat.latest
    assert answer is not None and answer.message_id != reminder.message_id
    assert "can no longer be changed here" in (answer.text or "")
    assert (answer.text or "").count(CONTACT_LINE) == 1


@pytest.mark.parametrize(
    "settings_overrides", [{"BOT_LANGUAGES": "en,es", "BOT_DEFAULT_LANGUAGE": "en"}]
)
async def test_a_stored_language_no_longer_offered_is_not_used_for_reminders(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.language = "en"
    await chat.book(day=2)
    [booking] = ops.db.bookings_for_user(chat.chat_id)
    ops.db.set_language(chat.chat_id, "de")  # chosen when German was still offered
    sandbox.clock.set(booking.start - timedelta(hours=24) + SECOND)
    assert (await ops.scan()).sent == 1
    [reminder] = ops.reminders_in(chat.chat_id)
    assert reminder.labels[0] == localizer("en").render(Msg("👍 I'll be there"), "plain")
