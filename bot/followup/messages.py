"""Every message the bot sends on its own, outside a conversation: the reminder before an
appointment, the notice of a change made at the business, and the waiting list's news of a
freed time. Each is a new message in the customer's language and the branch's time; it
arrives outside any conversation and leaves the chat's step and draft alone. Its buttons name
the booking or the entry (booking-scoped payloads, checked against the tapping customer), so
they work whatever the chat does meanwhile:

- the reminder: 👍 I'll be there, 🔁 Reschedule, 🗑 Cancel appointment;
- the notice, built from the ledger's notice row (what changed, and the time the customer
  knew) and the booking as stored now:
  - cancelled: 📅 Book again (the same service at the same branch);
  - moved: 👍 Keep the new time, 🔁 Pick another time, 🗑 Cancel booking; with a calendar
    file that updates the event the confirmation added;
- the freed time: 📅 See the available times.

Change buttons (on reminders and notices) follow the operator's rules at the time of sending
(`Changes`): a change turned off (ALLOW_RESCHEDULE, ALLOW_CANCEL) or inside CHANGE_CUTOFF is not
offered, and the message says whom to call instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.core.business import Business
from bot.core.details import Details, detail_lines
from bot.core.ics import booking_event, build_ics
from bot.core.payload import Action, booking_data, waitlist_data
from bot.core.records import BookingRow, NoticeRow, WaitlistRow
from bot.core.rules import BookingRules
from bot.core.screens import (
    Attachment,
    Button,
    DateTimeValue,
    DateValue,
    Msg,
    Reply,
    Screen,
    Value,
)
from bot.core.words import call_us

Rows = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class House:
    """The operator's rules and words a message sent on its own follows: which changes it may
    offer (BookingRules) and the contact line for those it may not (Business). The defaults
    allow every change, as the bot does without settings."""

    rules: BookingRules = field(default_factory=BookingRules)
    business: Business = field(default_factory=Business)

    def language(self, *candidates: str | None) -> str:
        """The customer's language among those the operator offers now (BOT_LANGUAGES): a
        stored choice the operator no longer offers falls through, as in the chat."""
        return self.business.language(*candidates)

    def changes(self, booking: BookingRow, language: str, now: datetime) -> Changes:
        reschedule, cancel = self.rules.offered_changes(booking.start, now)
        contact = () if reschedule and cancel else tuple(call_us(self.business, language))
        return Changes(reschedule, cancel, contact)


@dataclass(frozen=True)
class Changes:
    """The change buttons one message offers for a booking, and whom to call for the rest."""

    reschedule: bool = True
    cancel: bool = True
    contact: tuple[Msg, ...] = ()

    def rows(self, booking_id: int, reschedule: Msg) -> Rows:
        """The allowed change buttons, one a row: "🗑 Cancel appointment" needs a phone's full
        width (bot/core/widths.py). `reschedule` is the message's own label for a move."""
        rows: list[tuple[Button, ...]] = []
        if self.reschedule:
            rows.append((Button(reschedule, booking_data(Action.RESCHEDULE, booking_id)),))
        if self.cancel:
            cancel = Msg("🗑 Cancel appointment")
            rows.append((Button(cancel, booking_data(Action.CANCEL_BOOKING, booking_id)),))
        return tuple(rows)


ALL_CHANGES = Changes()


def build_reminder(
    booking: BookingRow,
    language: str,
    changes: Changes = ALL_CHANGES,
    *,
    this_year: int | None = None,
) -> Reply:
    """The reminder, with buttons that name the booking (valid on this old message whatever
    the chat does meanwhile; the engine checks the booking is the tapping customer's): only
    the changes the operator's rules allow now (`changes`), with whom to call for the others.
    `this_year`: the year a date in a sentence leaves out (the sender's clock)."""
    body = [
        Msg(
            "⏰ <b>Reminder:</b> your {service} appointment is on {when}.",
            service=booking.service_name,
            when=DateTimeValue(booking.start, booking.timezone, "full", this_year),
        ),
        *_where(booking),
        *changes.contact,
    ]
    buttons = (
        (Button(Msg("👍 I'll be there"), booking_data(Action.KEEP, booking.id)),),
        *changes.rows(booking.id, Msg("🔁 Reschedule")),
    )
    return Reply(language, screens=(Screen(body=tuple(body), buttons=buttons, edit=False),))


def build_notice(
    notice: NoticeRow,
    booking: BookingRow,
    language: str,
    now: datetime,
    house: House | None = None,
) -> Reply:
    changes = (house or House()).changes(booking, language, now)
    builder = _BUILDERS[notice.kind]
    return Reply(language, screens=(builder(notice, booking, now, changes),))


def _where(booking: BookingRow) -> list[Msg]:
    """Branch, address and reference: the headline already names the service and the time."""
    return detail_lines(replace(Details.of_row(booking), service=None, start=None))


def _what(notice: NoticeRow, booking: BookingRow, now: datetime) -> dict[str, Value]:
    """A notice headline's placeholders: where, what and when (the time the notice is about;
    its year only when it is not this year's)."""
    return {
        "location": booking.location_name,
        "service": booking.service_name,
        "when": DateTimeValue(notice.start, booking.timezone, "full", now.year),
    }


def _cancelled(notice: NoticeRow, booking: BookingRow, now: datetime, changes: Changes) -> Screen:
    body = (
        Msg(
            "🗑 <b>Cancelled:</b> the business has cancelled your {service} appointment at "
            "{location} on {when}.",
            **_what(notice, booking, now),
        ),
        *_where(booking),
        Msg("Sorry about this. Would you like to book another time?"),
    )
    buttons = ((Button(Msg("📅 Book again"), booking_data(Action.BOOK_AGAIN, booking.id)),),)
    return Screen(body=body, buttons=buttons, edit=False)


def _moved(notice: NoticeRow, booking: BookingRow, now: datetime, changes: Changes) -> Screen:
    body = (
        Msg(
            "🔁 <b>New time:</b> the business has rescheduled your {service} appointment at "
            "{location} to {when}.",
            **_what(notice, booking, now),
        ),
        Msg(
            "It was on {old}.",
            old=DateTimeValue(notice.previous_start, booking.timezone, "full", now.year),
        ),
        *_where(booking),
        Msg("If the new time suits you, there's nothing more to do."),
        Msg("The attached file updates your calendar."),
        *changes.contact,
    )
    buttons = (
        (Button(Msg("👍 Keep the new time"), booking_data(Action.KEEP, booking.id)),),
        *changes.rows(booking.id, Msg("🔁 Pick another time")),
    )
    return Screen(
        body=body, buttons=buttons, edit=False, attachment=_calendar(notice, booking, now)
    )


def _calendar(notice: NoticeRow, booking: BookingRow, now: datetime) -> Attachment:
    duration = booking.end - booking.start if booking.end else None
    event = booking_event(
        booking.appointment_id,
        notice.start,
        notice.start + duration if duration else notice.start,
        service_name=booking.service_name,
        location_name=booking.location_name,
        address=booking.location_address,
        sequence=int(now.timestamp()) // 60,
    )
    content = build_ics(event, stamp=now.astimezone(UTC))
    return Attachment(filename="booking.ics", content=content, mime_type="text/calendar")


_BUILDERS = {"cancelled": _cancelled, "moved": _moved}


def build_freed_notice(entry: WaitlistRow, language: str, *, this_year: int | None = None) -> Reply:
    """A time freed up on the day the customer waits for: one message, one button
    (`this_year`: the year the date leaves out)."""
    body = (
        Msg(
            "🔔 <b>A time has freed up</b> on {date} for {service} at {location}.",
            date=DateValue(entry.day, "full", this_year),
            service=entry.service_name,
            location=entry.location_name,
        ),
        Msg(
            "I can't keep it for you, so book it soon if you want it. If it's gone when you "
            "look, you can join the waiting list again."
        ),
    )
    buttons = (
        (Button(Msg("📅 See the available times"), waitlist_data(Action.WAITLIST_OPEN, entry.id)),),
    )
    return Reply(language, screens=(Screen(body=body, buttons=buttons, edit=False),))
