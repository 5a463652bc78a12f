"""My bookings: the list (refreshed from the API), a booking's detail, reschedule and cancel.

Every action on a booking goes through `Ctx.owned_booking`, which refuses a booking row that is
not the tapping user's, whatever the payload says. What happens to a booking is emitted as a
ledger entry (bot.followup.ledger), which the engine writes with the rest of the event.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

from bot.chat import detours
from bot.chat.book import calendar_file, open_calendar, start_book, times_after_conflict
from bot.chat.context import Ctx, Outcome, Refused, goto
from bot.chat.views import booking_names_contact, booking_pages
from bot.core.details import Details, detail_lines
from bot.core.errors import AppointmentNotActive, NotBookable, SlotUnavailable
from bot.core.records import BookingRow
from bot.core.rules import ChangeAction, Verdict
from bot.core.screens import DateTimeValue, Msg
from bot.core.state import ChatState, Flow, PendingChange, Step
from bot.core.words import call_us, refusal
from bot.followup.ledger import Cancelled, Moved

log = logging.getLogger("bot.booking")

REFRESH_LIMIT = 10  # upcoming bookings refreshed per list view
TOO_SOON = Msg("Sorry, that time is now too soon to book. Here are the times still available:")


async def _refresh(ctx: Ctx, rows: list[BookingRow]) -> list[BookingRow]:
    """Statuses and times from the API, concurrently, reconciled through the ledger (a change
    made at the business is recorded and announced like one the scan finds); a failure keeps
    the stored row."""
    targets = [r for r in rows if r.active and r.start > ctx.now][:REFRESH_LIMIT]
    answers = await asyncio.gather(
        *(ctx.ledger.look(ctx.api, r, ctx.now) for r in targets), return_exceptions=True
    )
    fresh = {r.id: r for r in rows}
    for row, seen in zip(targets, answers, strict=True):
        if isinstance(seen, BaseException):
            log.info("refresh of booking %s failed: %s", row.id, type(seen).__name__)
            continue
        ctx.out.emit(seen)
        fresh[row.id] = ctx.out.fresh[row.id] = seen.applied_to(row)
    return sorted(fresh.values(), key=lambda r: r.start)


FRESH_FOR = timedelta(minutes=2)


async def _current(ctx: Ctx, row: BookingRow) -> BookingRow:
    """The booking as Zimun has it, asked unless it was compared a moment ago (a list shown
    just before did): a booking the business cancelled or moved meanwhile is shown as it is,
    before the customer spends any effort on it."""
    if not row.active or row.start <= ctx.now:
        return row
    if row.checked_at is not None and ctx.now - row.checked_at < FRESH_FOR:
        return row
    [current] = [r for r in await _refresh(ctx, [row]) if r.id == row.id]
    return current


def _replace(row: BookingRow, **changes: object) -> BookingRow:
    return replace(row, **changes)  # type: ignore[arg-type]


async def show_bookings(ctx: Ctx, arg: int | None = None) -> Outcome:
    """My appointments from its first page (the command, the menu's button)."""
    ctx.state.managing.list_page = 0
    return await _list_bookings(ctx)


async def back_to_bookings(ctx: Ctx, arg: int | None = None) -> Outcome:
    """« Back from an appointment: the page it was opened from (the view clamps a page that
    no longer exists to the last one)."""
    return await _list_bookings(ctx)


async def _list_bookings(ctx: Ctx) -> Outcome:
    detours.step_aside(ctx)
    rows = await ctx.storage.bookings_for_user(ctx.customer.user_id)
    ctx.out.bookings = await _refresh(ctx, rows)
    ctx.state.nav.step = Step.BOOKINGS
    return Outcome()


async def page_bookings(ctx: Ctx, arg: int | None) -> Outcome:
    """Another page of My bookings (what is stored: the list was refreshed when it opened)."""
    pages = booking_pages(ctx, await ctx.storage.bookings_for_user(ctx.customer.user_id))
    if arg is None or not 0 <= arg < pages:
        raise Refused(f"bookings page {arg} out of range")
    ctx.state.managing.list_page = arg
    return Outcome()


def _about(ctx: Ctx, row: BookingRow) -> None:
    """Turning to a booking: a detour from a booking in progress; a reschedule of another
    booking that was waiting is over (nothing was held for it)."""
    if ctx.state.managing.booking_id != row.id:
        detours.end_reschedule(ctx.state)
    detours.step_aside(ctx)


async def open_booking(ctx: Ctx, booking_id: int | None) -> Outcome:
    row = await _current(ctx, await ctx.owned_booking(booking_id))
    _about(ctx, row)
    ctx.state.managing.booking_id = row.id
    ctx.state.nav.step = Step.BOOKING
    return Outcome()


def _refused(
    ctx: Ctx, row: BookingRow, kind: ChangeAction, *, aside: bool = False
) -> Outcome | None:
    """None when the customer may make this change now; else the booking's screen with why
    not and, where the operator's rules refuse it, whom to call (once: the booking's screen
    already names it when no change is offered at all). `aside`: tapped on a message the bot
    sent on its own (a reminder, a notice), which stays as it was: the answer is a new
    message."""
    verdict = ctx.rules.may_change(kind, row.start, ctx.now) if row.active else Verdict.STARTED
    if verdict is Verdict.ALLOWED:
        return None
    detours.end_reschedule(ctx.state)  # out of the change in progress, back to the booking
    ctx.state.managing.booking_id = row.id
    ctx.state.nav.step = Step.BOOKING
    named = verdict is Verdict.STARTED or booking_names_contact(ctx)
    lead = [] if named else call_us(ctx.business, ctx.lang)
    return Outcome(note=refusal(kind, verdict, ctx.rules), lead=lead, new_message=aside)


async def start_reschedule(ctx: Ctx, booking_id: int | None, *, aside: bool = False) -> Outcome:
    row = await _current(ctx, await ctx.owned_booking(booking_id))
    _about(ctx, row)
    refused = _refused(ctx, row, "reschedule", aside=aside)
    if refused is not None:
        return refused
    state = ctx.state
    if state.draft.flow == Flow.BOOK and detours.substantial(state):
        state.park()  # the booking in progress waits until this reschedule is over
    state.nav.resume = state.nav.resume_nonce = None
    state.draft.flow = Flow.RESCHEDULE
    state.managing.booking_id = row.id
    state.draft.service_id = row.service_id
    state.draft.location_id = row.location_id
    state.draft.tz = row.timezone
    return await open_calendar(ctx)


async def reschedule_below(ctx: Ctx, booking_id: int | None) -> Outcome:
    """A reminder's or a notice's Reschedule: the calendar as a new message below it (the
    notice, its old and new time and its reference, stays readable)."""
    return (await start_reschedule(ctx, booking_id)).below()


async def reschedule_here(ctx: Ctx, arg: int | None) -> Outcome:
    return await start_reschedule(ctx, ctx.state.managing.booking_id)


async def ask_cancel(ctx: Ctx, booking_id: int | None, *, aside: bool = False) -> Outcome:
    row = await _current(ctx, await ctx.owned_booking(booking_id))
    _about(ctx, row)
    ctx.state.managing.booking_id = row.id
    refused = _refused(ctx, row, "cancel", aside=aside)
    if refused is not None:
        return refused
    ctx.state.nav.step = Step.CANCEL_CONFIRM
    return Outcome()


async def ask_cancel_below(ctx: Ctx, booking_id: int | None) -> Outcome:
    """A reminder's or a notice's Cancel: the question as a new message below it."""
    return (await ask_cancel(ctx, booking_id)).below()


async def ask_cancel_here(ctx: Ctx, arg: int | None) -> Outcome:
    return await ask_cancel(ctx, ctx.state.managing.booking_id)


async def keep_booking(ctx: Ctx, booking_id: int | None) -> Outcome:
    await ctx.owned_booking(booking_id)
    return Outcome(toast=Msg("Great, see you then!"), show=False)


async def book_again(ctx: Ctx, booking_id: int | None) -> Outcome:
    """From the notice of a booking the business cancelled: a new booking at the same branch
    for the same service, as a new message (the notice stays readable above it)."""
    row = await ctx.owned_booking(booking_id)
    outcome = await start_book(ctx, location_id=row.location_id, service_id=row.service_id)
    return outcome.below()


back_to_booking = goto(Step.BOOKING)


def _no_target(state: ChatState) -> None:
    state.managing.new_start = None


back_to_times = goto(Step.TIME, _no_target)


async def _no_longer_active(ctx: Ctx, row: BookingRow) -> Outcome:
    """Zimun says the booking cannot change (cancelled or past): record what it is now and
    show it, so its buttons go and My bookings follows."""
    ctx.not_changing(row.id)
    await _refresh(ctx, [row])
    detours.end_reschedule(ctx.state)
    ctx.state.managing.booking_id = row.id
    ctx.state.nav.step = Step.BOOKING
    return Outcome(note=Msg("This appointment can no longer be changed."))


async def do_cancel(ctx: Ctx, arg: int | None) -> Outcome:
    row = await ctx.owned_booking(ctx.state.managing.booking_id)
    refused = _refused(ctx, row, "cancel")  # the question may have waited past the cutoff
    if refused is not None:
        return refused
    key = ctx.out.idempotency_key()
    await _intend(ctx, PendingChange(kind="cancel", booking_id=row.id, key=key))
    return await _send_cancel(ctx, row)


async def _intend(ctx: Ctx, change: PendingChange) -> None:
    """Write the change down before asking Zimun (crash-safe, like a confirm): a restart
    finishes it with the same key, and meanwhile the ledger knows it is the customer's."""
    ctx.state.unsettled.changing = change
    await ctx.save_now()


async def finish_change(ctx: Ctx) -> Outcome:
    """Resolve a reschedule or cancel whose answer is not known (a crash, Zimun silent), with
    its stored key: Zimun replays its answer, and the customer is told as if it had come."""
    change = ctx.state.unsettled.changing
    assert change is not None
    row = await ctx.owned_booking(change.booking_id)
    ctx.state.managing.booking_id = row.id
    if change.kind == "cancel":
        return await _send_cancel(ctx, row)
    ctx.state.managing.new_start = change.new_start
    return await _send_move(ctx, row)


async def _send_cancel(ctx: Ctx, row: BookingRow) -> Outcome:
    change = ctx.state.unsettled.changing
    assert change is not None
    ctx.changing(row.id)
    try:
        appointment = await ctx.api.cancel(row.appointment_id, idempotency_key=change.key)
        status = appointment.status if not appointment.active else "cancelled"
    except AppointmentNotActive:
        ctx.state.unsettled.changing = None
        return await _no_longer_active(ctx, row)
    ctx.state.unsettled.changing = None
    ctx.out.emit(Cancelled(row.id, status=status, contact_name=appointment.contact_name))
    ctx.out.tally("cancelled")
    rows = await ctx.storage.bookings_for_user(ctx.customer.user_id)
    ctx.out.bookings = [_replace(r, status=status) if r.id == row.id else r for r in rows]
    ctx.state.managing.booking_id = None
    ctx.state.nav.step = Step.BOOKINGS
    return Outcome(note=Msg("Your appointment is cancelled."))


async def do_move(ctx: Ctx, arg: int | None) -> Outcome:
    row = await ctx.owned_booking(ctx.state.managing.booking_id)
    new_start = ctx.state.managing.new_start
    if new_start is None:
        ctx.state.nav.step = Step.TIME
        return Outcome()
    refused = _refused(ctx, row, "reschedule")  # the question may have waited past the cutoff
    if refused is not None:
        return refused
    if not ctx.rules.bookable(new_start, ctx.now):  # the lead time passed over it meanwhile
        ctx.state.managing.new_start = None
        return await times_after_conflict(ctx, TOO_SOON)
    key = ctx.out.idempotency_key()
    await _intend(ctx, PendingChange(kind="move", booking_id=row.id, key=key, new_start=new_start))
    return await _send_move(ctx, row)


async def _send_move(ctx: Ctx, row: BookingRow) -> Outcome:
    change = ctx.state.unsettled.changing
    assert change is not None and change.new_start is not None
    new_start = change.new_start
    ctx.changing(row.id)
    try:
        appointment = await ctx.api.reschedule(
            row.appointment_id, new_start, idempotency_key=change.key
        )
    except (SlotUnavailable, NotBookable):
        ctx.state.unsettled.changing = None
        ctx.state.managing.new_start = None
        return await times_after_conflict(
            ctx,
            Msg(
                "Sorry, someone else has just booked that time. Here are the times still available:"
            ),
        )
    except AppointmentNotActive:
        ctx.state.unsettled.changing = None
        return await _no_longer_active(ctx, row)
    ctx.state.unsettled.changing = None
    start = appointment.start or new_start
    end = appointment.end or (row.end and start + (row.end - row.start))
    ctx.out.emit(
        Moved(row.id, start, end, status=appointment.status, contact_name=appointment.contact_name)
    )
    ctx.out.tally("moved")
    service, location = await ctx.service(), await ctx.location()
    ctx.state.nav.step = Step.MENU
    detours.end_reschedule(ctx.state)  # a booking the reschedule parked comes back
    return Outcome(
        lead=[
            Msg(
                "✅ <b>Rescheduled!</b> Your {service} appointment is now on {when}.",
                service=row.service_name,
                when=DateTimeValue(start, row.timezone, "full", ctx.today.year),
            ),
            *detail_lines(Details(reference=row.appointment_id)),
            Msg("The attached file updates your calendar."),
        ],
        attachment=calendar_file(
            row.appointment_id,
            start,
            end or start,
            service,
            location,
            ctx.now,
            sequence=int(ctx.now.timestamp()) // 60,
        ),
        new_message=True,
    )
