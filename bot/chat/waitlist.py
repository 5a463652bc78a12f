"""The waiting list in the conversation: "tell me if a time frees up" on a full day.

Where it is offered: while booking (not while rescheduling), on a day inside the booking window
that has no free time left: a day the calendar marks full (·n·) when tapped, and a day that
turns out full when its times are loaded (taken since the calendar was drawn, or the 409
apology finding nothing left that day). Closed days and holidays never free up, so they are
not offered; nor is a day that still has free times (the customer can book one now).

Joining keeps the booking in progress as it was (back on the calendar, to pick another day if
they like). An entry is one customer, one service, one branch, one day; the customer's place
in the line dates from when they first asked and is kept until they leave the list. They see
and leave their entries under My bookings (`show_list`), or on the full day's screen. An entry
ends by itself once its day has passed, and when the customer books that service at that branch
on that day (`note_booked`, in the booking's own transaction).

Telling is bot.followup.waitlist_watch's job; the notice's button is handled in waitlist_tap.py.
"""

from __future__ import annotations

import logging
from datetime import date

from bot.chat import detours
from bot.chat.context import Ctx, Outcome, Refused
from bot.config.chat_tag import chat_tag
from bot.core import calendar as cal
from bot.core.cadence import WAIT_CADENCE, day_bounds
from bot.core.models import zone
from bot.core.records import FunnelEvent, WaitlistRow
from bot.core.screens import DateValue, Msg, Plural
from bot.core.state import DayCode, Flow, Step
from bot.followup.ledger import NewBooking

log = logging.getLogger(__name__)

MAX_WAITING = 10  # days one customer may wait for at once: each costs Zimun calls to watch
ON_THE_LIST = ("waiting", "due")  # statuses of an entry still on the list

JUST_TAKEN = Msg("Sorry, someone else just took that time.")
TOO_MANY = Plural(
    "You're already on the waiting list for {count} day, the most I can watch for one "
    "person. Please leave it under My appointments first.",
    "You're already on the waiting list for {count} days, the most I can watch for one "
    "person. Please leave one of them under My appointments first.",
    count=MAX_WAITING,
)
ENDED = Msg("That waiting list entry has ended.")
# Days where nothing that frees up could be booked: only a full day (NONE) is waited for.
NOT_WAITLISTABLE = (
    DayCode.CLOSED,
    DayCode.HOLIDAY,
    DayCode.PAST,
    DayCode.BEYOND,
    DayCode.SOON,
)


def can_wait(ctx: Ctx, day: date) -> bool:
    """Whether the full `day` may be waited for: booking (not rescheduling) a service at a
    branch, the waiting list on, the day inside the booking window and neither closed nor a
    holiday as far as the calendar knows."""
    state = ctx.state
    if not ctx.rules.waitlist or state.draft.flow != Flow.BOOK:
        return False
    if not (state.draft.service_id and state.draft.location_id):
        return False
    window, tz = ctx.window, ctx.zone
    if not window.first_day(tz) <= day <= window.last_day(tz):
        return False
    month = state.draft.month
    if month is not None and (month.year, month.month) == (day.year, day.month):
        return cal.day_code(month, day.day) not in NOT_WAITLISTABLE
    return True


def offer(ctx: Ctx, day: date, *, taken: bool = False) -> Outcome:
    """The full day's screen: join its waiting list (or leave it), or go back to the
    calendar. `taken`: the customer just lost the time they picked (the 409 path)."""
    ctx.state.waitlist.day = day
    ctx.state.nav.step = Step.WAITLIST_OFFER
    return Outcome(note=JUST_TAKEN if taken else None)


async def entry_on_offer(ctx: Ctx) -> WaitlistRow | None:
    """The customer's entry for the day on the offer screen, if they are on its list."""
    state = ctx.state
    if state.waitlist.day is None or not state.draft.service_id or not state.draft.location_id:
        return None
    entry = await ctx.storage.waitlist_entry_for(
        ctx.customer.user_id, state.draft.service_id, state.draft.location_id, state.waitlist.day
    )
    return entry if entry is not None and entry.status in ON_THE_LIST else None


def _offered_day(ctx: Ctx) -> date:
    day = ctx.state.waitlist.day
    if day is None or not can_wait(ctx, day):
        raise Refused("no full day on offer")
    return day


async def join(ctx: Ctx, arg: int | None) -> Outcome:
    """On the list for the day shown; back to the calendar with a word."""
    day = _offered_day(ctx)
    if await entry_on_offer(ctx) is None and len(await waiting_entries(ctx)) >= MAX_WAITING:
        return Outcome(note=TOO_MANY, reshow=True)
    state, customer, storage = ctx.state, ctx.customer, ctx.storage
    service, location = await ctx.service(), await ctx.location()
    starts, ends = day_bounds(day, ctx.tz_name)
    values = dict(
        user_id=customer.user_id,
        chat_id=customer.chat_id,
        service_id=state.draft.service_id or "",
        service_name=service.name if service else "",
        location_id=state.draft.location_id or "",
        location_name=location.name if location else "",
        timezone=ctx.tz_name,
        day=day,
        ends_at=ends,
        language=ctx.lang,
        now=ctx.now,
        next_check_at=WAIT_CADENCE.next_look(ctx.now, starts),
    )
    ctx.out.defer(lambda: storage.join_waitlist(**values))  # type: ignore[arg-type]
    ctx.out.tally("waitlist_joined")
    state.waitlist.day = None
    state.nav.step = Step.DAY
    return Outcome(
        note=Msg(
            "🔔 Done: I'll tell you if a time frees up on {date}. Your waiting list is under My "
            "appointments.",
            date=DateValue(day, "full", ctx.today.year),
        )
    )


async def leave_here(ctx: Ctx, arg: int | None) -> Outcome:
    """The full day's screen, when the customer is on its list: off it, back to the calendar."""
    entry = await entry_on_offer(ctx)
    if entry is None:
        raise Refused("not on this day's list")
    await _leave(ctx, entry)
    ctx.state.waitlist.day = None
    ctx.state.nav.step = Step.DAY
    return Outcome(note=left_note(entry))


async def back_to_calendar(ctx: Ctx, arg: int | None) -> Outcome:
    ctx.state.waitlist.day = None
    ctx.state.nav.step = Step.DAY
    return Outcome()


async def show_list(ctx: Ctx, arg: int | None = None) -> Outcome:
    """My bookings' waiting list: a detour, like My bookings itself."""
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.WAITLIST
    return Outcome()


async def leave_entry(ctx: Ctx, entry_id: int | None) -> Outcome:
    """An entry's button on the waiting list (an old message too): off that list."""
    entry = await owned_entry(ctx, entry_id)  # first: someone else's entry changes nothing
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.WAITLIST
    if entry is None or entry.status not in ON_THE_LIST:
        return Outcome(note=ENDED)
    await _leave(ctx, entry)
    return Outcome(note=left_note(entry))


def left_note(entry: WaitlistRow) -> Msg:
    return Msg("You've left the waiting list for {date}.", date=DateValue(entry.day, "full"))


async def _leave(ctx: Ctx, entry: WaitlistRow) -> None:
    """Written at once, not with the event: the list drawn next reads the entries."""
    await ctx.storage.leave_waitlist(entry.id)


async def owned_entry(ctx: Ctx, entry_id: int | None) -> WaitlistRow | None:
    """The entry if it is the customer's; None once it has ended (deleted after its day, or
    by /forget), and None for an entry of someone else: a forged tap is answered exactly as
    for an id that does not exist, or the answers would tell which ids exist (they are
    sequential: how many customers wait). The forgery is logged."""
    entry = await ctx.storage.waitlist_entry(entry_id) if entry_id is not None else None
    if entry is not None and entry.user_id != ctx.customer.user_id:
        log.warning(
            "user %s refused access to waiting list entry %s",
            chat_tag(ctx.customer.user_id),
            entry_id,
        )
        return None
    if entry is not None and entry.ends_at <= ctx.now:
        return None
    return entry


async def waiting_entries(ctx: Ctx) -> list[WaitlistRow]:
    return await ctx.storage.waitlist_for_user(ctx.customer.user_id, ctx.now)


def note_booked(ctx: Ctx, booking: NewBooking) -> None:
    """A booking was just made: the customer's entry for that service, branch and day is done
    (counted as booked from the waiting list), in the booking's own transaction."""
    day = booking.start.astimezone(zone(booking.timezone)).date()
    storage, now = ctx.storage, ctx.now

    async def write() -> None:
        ended = await storage.waitlist_booked(
            booking.user_id, booking.service_id, booking.location_id, day
        )
        if ended:
            await storage.record_funnel([FunnelEvent(now, "", "waitlist_booked")] * ended)

    ctx.out.defer(write)
