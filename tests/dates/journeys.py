"""The customer journeys that touch dates, through the real bot at a pinned instant: book,
reschedule, the .ics file and the reminders. Each checks what the customer reads against the
instant Zimun holds, computed independently on the branch's wall clock (zoneinfo), so a wrong
offset, a wrong day or a wrong duration shows up as a mismatch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.payload import Action
from sandbox.store import AppointmentRecord
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import ChatMessage
from tests.reminders.harness import OpsBot
from tests.telegram.harness import DAY_RE, TIME_RE, Chat


@dataclass(frozen=True)
class Point:
    """One instant of the date matrix, and where the customer books then."""

    label: str
    local: str  # "YYYY-MM-DD HH:MM" on the wall clock of `zone`
    zone: str
    branch: str
    service: str = "Consultation"
    language: str = "en"

    @property
    def instant(self) -> datetime:
        return datetime.fromisoformat(self.local).replace(tzinfo=ZoneInfo(self.zone))

    @property
    def id(self) -> str:
        return f"{self.local} {self.zone}".replace(" ", "_")


def wall(moment: datetime, zone: str) -> str:
    """The local time as a person reads it, e.g. "9:30" (hour without a leading zero)."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.hour}:{local.minute:02d}"


def shows_time(text: str, moment: datetime, zone: str) -> bool:
    """`text` names the wall-clock time of `moment` ("9:30", "09:30" or "9.30")."""
    local = moment.astimezone(ZoneInfo(zone))
    pattern = rf"(?<!\d)0?{local.hour}[:.]{local.minute:02d}(?!\d)"
    return re.search(pattern, text) is not None


def ics_times(content: bytes) -> tuple[datetime, datetime]:
    text = content.decode()
    start = re.search(r"DTSTART:(\d{8}T\d{6})Z", text)
    end = re.search(r"DTEND:(\d{8}T\d{6})Z", text)
    assert start and end, text
    parse = "%Y%m%dT%H%M%S"
    return (
        datetime.strptime(start.group(1), parse).replace(tzinfo=UTC),
        datetime.strptime(end.group(1), parse).replace(tzinfo=UTC),
    )


def calendar_has_a_day(chat: Chat) -> bool:
    return any(DAY_RE.match(label) for label in chat.keyboard.labels)


async def book(chat: Chat, sandbox: SandboxServer, point: Point) -> AppointmentRecord:
    """From /start to the confirmation; returns the appointment Zimun holds."""
    await chat.command("start")
    await chat.tap_action(Action.BOOK)
    await chat.tap(point.branch)
    await chat.tap(point.service)
    assert calendar_has_a_day(chat), f"{point.label}: a calendar with nothing to tap"
    await chat.pick_day()
    label = await chat.tap_where(lambda text: bool(TIME_RE.match(text)))
    await chat.send("Ana García")
    await chat.send("ana@example.com")
    documents = len(chat.fake.documents(chat.chat_id))
    await chat.tap_action(Action.CONFIRM)
    [appointment] = [a for a in sandbox.store.appointment_list() if a.active]
    zone = sandbox.seed.location(appointment.location_id).timezone  # type: ignore[union-attr]
    assert shows_time(label, appointment.start, zone), (label, appointment.start)
    confirmation = _with(chat, appointment.id)
    assert shows_time(confirmation.text or "", appointment.start, zone), confirmation.text
    assert len(chat.fake.documents(chat.chat_id)) == documents + 1
    _check_ics(chat, sandbox, appointment)
    return appointment


async def reschedule(chat: Chat, sandbox: SandboxServer, point: Point) -> AppointmentRecord:
    """My bookings, the booking, Reschedule, another day and time, Yes."""
    [before] = [a for a in sandbox.store.appointment_list() if a.active]
    was = before.start  # the store changes the record in place
    await chat.command("mybookings")
    await chat.tap_action(Action.OPEN_BOOKING)
    await chat.tap_action(Action.RESCHEDULE)
    assert calendar_has_a_day(chat), f"{point.label}: a reschedule calendar with nothing to tap"
    await chat.pick_day(1)
    await chat.tap_where(lambda text: bool(TIME_RE.match(text)))
    await chat.tap_action(Action.YES)
    [after] = [a for a in sandbox.store.appointment_list() if a.active]
    assert after.id == before.id and after.start != was
    zone = sandbox.seed.location(after.location_id).timezone  # type: ignore[union-attr]
    moved = _with(chat, after.id)  # the newest message naming the booking: "Moved!"
    assert shows_time(moved.text or "", after.start, zone), moved.text
    _check_ics(chat, sandbox, after)
    return after


async def remind(
    ops: OpsBot, chat: Chat, sandbox: SandboxServer, appointment: AppointmentRecord
) -> None:
    """Each reminder still ahead is sent at its time and names the branch's local time."""
    assert ops.storage is not None
    [row] = [r for r in ops.storage.bookings_for_user(chat.chat_id) if r.active]
    zone = row.timezone
    due = sorted(r.due_at for r in ops.db.reminders_for_booking(row.id) if r.status == "pending")
    for at in due:
        sandbox.clock.set(at + timedelta(seconds=1))
        sent = len(ops.reminders_in(chat.chat_id))
        await ops.scan()
        reminders = ops.reminders_in(chat.chat_id)
        assert len(reminders) == sent + 1, at
        assert shows_time(reminders[-1].text or "", appointment.start, zone), reminders[-1].text


def _with(chat: Chat, reference: str) -> ChatMessage:
    return next(
        m for m in reversed(chat.fake.messages(chat.chat_id)) if reference in (m.text or "")
    )


def _check_ics(chat: Chat, sandbox: SandboxServer, appointment: AppointmentRecord) -> None:
    document = chat.fake.documents(chat.chat_id)[-1]
    start, end = ics_times(document.content)
    service = sandbox.seed.service(appointment.service_id)
    assert service is not None
    assert start == appointment.start.astimezone(UTC)
    assert end - start == timedelta(minutes=service.duration_minutes)
