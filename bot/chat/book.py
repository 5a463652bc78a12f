"""The booking journey: branch, service, day, time, hold, name, email, summary, confirm.

Every handler takes a Ctx, changes the state, and returns an Outcome; the engine's table decides
which handler a (step, action) pair reaches. API calls come before state changes, so a call that
fails leaves the state as it was (the engine also restores it), and a new hold is taken before
the old one is released, so a failure never leaves the customer with nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from bot.chat import detours, waitlist
from bot.chat.changed import CatalogChanged, watching
from bot.chat.context import Ctx, Outcome, Refused, goto
from bot.chat.views import (
    booking_lines,
    day_reason,
    day_unavailable_reason,
    remembered_email,
    time_pages,
)
from bot.config.chat_tag import chat_tag
from bot.core import calendar as cal
from bot.core.errors import (
    BadRequest,
    HoldAlreadyConfirmed,
    HoldExpired,
    LocationRequired,
    NotBookable,
    NotFound,
    SlotUnavailable,
    ZimunError,
)
from bot.core.ics import booking_event, build_ics
from bot.core.models import Appointment, Availability, Hold, Location, Service
from bot.core.rules import BOOKING_DAY
from bot.core.screens import Attachment, Msg
from bot.core.state import ChatState, DayCode, Flow, HeldSlot, Month, PendingConfirm, Step
from bot.core.validation import clean_email, clean_name, shown_email
from bot.core.words import call_us, cap_refusal
from bot.followup.ledger import Booked, NewBooking

log = logging.getLogger("bot.booking")

TAKEN = Msg("Sorry, someone else has just booked that time. Here are the times still available:")
EXPIRED_TAKEN = Msg(
    "Sorry, I couldn't keep that time any longer, and someone else has booked it. Here are the "
    "times still available:"
)
FREED_SINCE = Msg("Times have freed up on that day. Here they are:")
DAY_FULL = Msg("Sorry, there are no times left on that day. Please pick another day.")


# ---- holds ------------------------------------------------------------------------------------


async def release_hold(ctx: Ctx) -> None:
    """Give the held slot back; best effort, since an unreleased hold expires by itself."""
    hold = ctx.state.draft.hold
    if hold is None:
        return
    ctx.state.draft.hold = None
    await _release(ctx, hold.hold_id)
    ctx.free_times.forget(_key(ctx))  # the time is free again: show it to the next customer


async def _release(ctx: Ctx, hold_id: str) -> bool:
    """True when the hold is gone; a failed release is remembered and retried later."""
    try:
        await ctx.api.release_hold(hold_id)
    except NotFound:
        pass
    except ZimunError as exc:
        log.warning("release of hold %s failed: %s", hold_id, type(exc).__name__)
        if hold_id not in ctx.state.unsettled.orphans:
            ctx.state.unsettled.orphans.append(hold_id)
        return False
    return True


async def release_orphans(ctx: Ctx) -> None:
    """Retry the releases that failed while the API was down (the hold may still block)."""
    for hold_id in list(ctx.state.unsettled.orphans):
        ctx.state.unsettled.orphans.remove(hold_id)
        await _release(ctx, hold_id)


async def abandon(ctx: Ctx) -> list[Msg]:
    """End whatever is in progress (a booking, a reschedule, a parked booking): release the
    holds and forget it. What ended that the customer would miss, in their words."""
    state = ctx.state
    ended = detours.what_ends(state)
    await release_hold(ctx)
    parked_hold = state.parked.draft.hold if state.parked is not None else None
    if parked_hold is not None:
        await _release(ctx, parked_hold.hold_id)
    if state.draft.flow == Flow.BOOK and state.draft.attempt is not None:
        ctx.out.track("abandoned", step=(state.nav.resume or state.nav.step).value)
    state.clear_draft()
    return ended


def _held(hold: Hold, start: datetime) -> HeldSlot:
    return HeldSlot(
        hold_id=hold.hold_id, start=hold.start or start, end=hold.end, expires_at=hold.expires_at
    )


async def _take_hold(ctx: Ctx, start: datetime) -> Hold:
    if not ctx.rules.bookable(start, ctx.now):
        # Outside the operator's window (BOOKING_LEAD_TIME, BOOKING_HORIZON), e.g. a time shown
        # before the lead time passed over it: answered like a slot the server refuses.
        raise NotBookable("outside the booking window", code="outside_booking_window")
    service = await _service_or_refuse(ctx)
    with watching(not_bookable=False):  # a 400 here is about the time: the 409 path answers
        return await ctx.api.hold(
            service=service,
            start=start,
            location_id=ctx.state.draft.location_id,
            idempotency_key=ctx.out.idempotency_key(),
        )


async def _service_or_refuse(ctx: Ctx) -> Service:
    service = await ctx.service()
    if service is None:
        raise CatalogChanged("service_not_found")
    return service


# ---- a fair share per customer ----------------------------------------------------------------


async def _over_cap(ctx: Ctx) -> Outcome | None:
    """The refusal, in the customer's words with whom to call, when one more booking would pass
    the operator's caps (MAX_UPCOMING_PER_CUSTOMER, MAX_BOOKINGS_PER_DAY); None: go ahead.
    Asked where a booking starts and again at confirm: another chat of the same account, or
    the time spent choosing, may have reached a cap meanwhile."""
    user_id, now = ctx.customer.user_id, ctx.now
    cap = ctx.rules.cap_reached(
        upcoming=await ctx.storage.upcoming_count(user_id, now),
        booked_today=await ctx.storage.booked_since(user_id, now - BOOKING_DAY),
    )
    if cap is None:
        return None
    log.info("chat %s: booking refused, cap %s reached", chat_tag(ctx.customer.chat_id), cap.value)
    ctx.state.nav.step = Step.MENU
    return Outcome(note=cap_refusal(cap, ctx.rules), lead=call_us(ctx.business, ctx.lang))


# ---- start: branch and service ----------------------------------------------------------------


async def start_book(
    ctx: Ctx, *, location_id: str | None = None, service_id: str | None = None
) -> Outcome:
    """A new booking ends whatever was in progress, with a word to the customer."""
    ended = await abandon(ctx)
    outcome = await _new_booking(ctx, location_id=location_id, service_id=service_id)
    outcome.lead[:0] = ended
    return outcome


async def _new_booking(
    ctx: Ctx, *, location_id: str | None = None, service_id: str | None = None
) -> Outcome:
    refused = await _over_cap(ctx)
    if refused is not None:
        return refused
    ctx.state.draft.flow = Flow.BOOK
    ctx.state.draft.attempt = ctx.out.draws.attempt()
    ctx.out.track("started")
    locations = await ctx.catalog.offered_locations()
    service = await ctx.catalog.offered_service(service_id)
    named = next((loc for loc in locations if loc.id == location_id), None)
    if service is not None and named is not None and not service.bookable_at(named.id):
        service = None  # the branch was named explicitly: it wins over a service it lacks
    if service is not None:
        locations = [loc for loc in locations if service.bookable_at(loc.id)]
        ctx.state.draft.service_id = service.id
    if not locations:
        ctx.state.nav.step = Step.MENU
        return Outcome(
            note=Msg("Sorry, no appointments can be booked right now."),
            lead=call_us(ctx.business, ctx.lang),
        )
    chosen = next((loc for loc in locations if loc.id == location_id), None)
    if chosen is None and len(locations) == 1:
        chosen = locations[0]
    if chosen is not None:
        return await enter_location(ctx, chosen)
    ctx.state.nav.step = Step.LOCATION
    ctx.state.draft.options = [loc.id for loc in locations]
    return Outcome()


async def enter_location(ctx: Ctx, location: Location) -> Outcome:
    state = ctx.state
    state.draft.location_id = location.id
    state.draft.tz = location.timezone
    preselected = await ctx.service()
    if preselected is not None and preselected.bookable_at(location.id):
        return await open_calendar(ctx)
    return await show_services(ctx)


async def show_services(ctx: Ctx) -> Outcome:
    services = await ctx.catalog.offered_services(ctx.state.draft.location_id or "")
    ctx.state.draft.service_id = None
    ctx.state.draft.options = [s.id for s in services]
    ctx.state.nav.step = Step.SERVICE
    return Outcome()


async def pick_location(ctx: Ctx, arg: int | None) -> Outcome:
    location_id = ctx.option(arg)
    location = await ctx.catalog.offered_location(location_id)
    if location is None:  # listed a moment ago: the business changed it since
        ctx.state.draft.location_id = location_id
        raise CatalogChanged("location_not_found")
    return await enter_location(ctx, location)


async def pick_service(ctx: Ctx, arg: int | None) -> Outcome:
    ctx.state.draft.service_id = ctx.option(arg)
    if await ctx.catalog.offered_service(ctx.state.draft.service_id) is None:
        raise CatalogChanged("service_not_found")
    return await open_calendar(ctx)


# ---- the business changed its catalog ---------------------------------------------------------


async def catalog_changed(ctx: Ctx, exc: CatalogChanged) -> Outcome:
    """What the customer was booking is no longer offered: refresh what the bot knows, say what
    changed, and show the nearest step still valid (the name and email typed are kept)."""
    state = ctx.state
    gone_location, gone_service = await ctx.location(), await ctx.service()  # names, cached
    log.info("chat %s: catalog changed under the customer (%s)", ctx.customer.chat_id, exc)
    ctx.api.invalidate_catalog()
    ctx.free_times.forget(_key(ctx))
    await release_hold(ctx)
    location = await ctx.catalog.offered_location(state.draft.location_id)
    service = await ctx.catalog.offered_service(state.draft.service_id)
    location_name = gone_location.name if gone_location else ""
    if state.draft.flow == Flow.RESCHEDULE:
        state.nav.step = Step.BOOKING
        state.managing.new_start = None
        return Outcome(
            note=Msg("Sorry, this appointment can't be rescheduled here at the moment."),
            lead=call_us(ctx.business, ctx.lang),
        )
    if location is None:
        outcome = await _branches_again(ctx)
        outcome.note = Msg(
            "Sorry, {branch} isn't taking appointments at the moment.", branch=location_name
        )
        return outcome
    if service is None or not service.bookable_at(location.id):
        outcome = await show_services(ctx)
        outcome.note = Msg(
            "Sorry, {service} can no longer be booked at {branch}.",
            service=gone_service.name if gone_service else "",
            branch=location_name,
        )
        return outcome
    return await open_calendar(ctx)  # offered after all (a passing refusal): the calendar again


async def _branches_again(ctx: Ctx) -> Outcome:
    """The branch list, fresh; the menu when no branch is offered any more."""
    locations = await ctx.catalog.offered_locations()
    ctx.state.draft.location_id = ctx.state.draft.service_id = ctx.state.draft.tz = None
    if not locations:
        ctx.state.nav.step = Step.MENU
        return Outcome(lead=call_us(ctx.business, ctx.lang))
    ctx.state.nav.step = Step.LOCATION
    ctx.state.draft.options = [loc.id for loc in locations]
    return Outcome()


async def back_to_locations(ctx: Ctx, arg: int | None) -> Outcome:
    """Back from the service list: to the branches when there is a choice, else the menu."""
    locations = await ctx.catalog.offered_locations()
    if len(locations) <= 1:
        await abandon(ctx)
        return Outcome()
    ctx.state.nav.step = Step.LOCATION
    ctx.state.draft.options = [loc.id for loc in locations]
    ctx.state.draft.service_id = None
    return Outcome()


# ---- day --------------------------------------------------------------------------------------

DAY_TAKEN = Msg(
    "Sorry, someone else has just booked that time. Here are the times still available:"
)


def _key(ctx: Ctx) -> tuple[str, str]:
    return (ctx.state.draft.service_id or "", ctx.state.draft.location_id or "")


async def _calendar_answer(ctx: Ctx) -> tuple[Availability, cal.Window]:
    """Free times from today to the end of the booking window: one (cached) range query; and
    the window it leaves, ending where the business (in Zimun) has opened bookings until."""
    today = ctx.today
    last = ctx.window.last_day(ctx.zone)
    with watching():
        answer = await ctx.free_times.get(
            _key(ctx),
            ctx.now,
            today,
            last,
            lambda: _range_availability(ctx, cal.days_ahead(today, last)),
        )
    _learn_zone(ctx, answer)
    return answer, ctx.window.until(cal.open_until(answer), ctx.zone)


async def open_calendar(ctx: Ctx, year: int | None = None, month: int | None = None) -> Outcome:
    """Show a month of the window: the one asked for, else the first with a free day."""
    answer, window = await _calendar_answer(ctx)
    tz = ctx.zone
    first, last = window.first_day(tz), window.last_day(tz)
    if year is None or month is None or not cal.in_range(first, last, year, month):
        shown = cal.opening_month(answer, window, tz)
    else:
        shown = cal.month_from(answer, window, tz, year, month)
    if not cal.has_choosable(shown):
        onward = cal.opening_month(answer, window, tz, after=(shown.year, shown.month))
        if cal.has_choosable(onward):
            shown.onward = (onward.year, onward.month)
    if window.latest < ctx.window.latest:
        shown.until = last
    ctx.state.draft.month = shown
    ctx.state.draft.first_free = cal.first_free(answer, window)
    ctx.state.nav.step = Step.DAY
    ctx.state.draft.options = []
    return Outcome()


async def _range_availability(ctx: Ctx, days: int) -> Availability:
    """One range query; narrower ones if the server refuses the range (its cap is not
    documented: Zimun's own example asks for 7 days). Days it leaves out are checked when
    tapped, so a stricter server costs a call per tapped day, never a dead calendar."""
    for ahead in dict.fromkeys((days, min(days, 31), min(days, 7))):
        try:
            answer = await ctx.api.get_availability(
                ctx.state.draft.service_id or "",
                location_id=ctx.state.draft.location_id,
                days_ahead=ahead,
            )
            asked_until = ctx.today + timedelta(days=ahead - 1)
            return answer.model_copy(update={"asked_until": asked_until})
        except (LocationRequired, NotBookable):
            raise  # not about the range: the branch or the service is not bookable (changed.py)
        except BadRequest as exc:
            log.info("availability for %s days refused (%s); asking for fewer", ahead, exc.code)
    return Availability()


def _learn_zone(ctx: Ctx, availability: Availability) -> bool:
    """Take the branch's zone from availability when the location did not name one."""
    if ctx.state.draft.tz or availability.zone_name is None:
        return False
    ctx.state.draft.tz = availability.zone_name
    return True


def _shown_month(ctx: Ctx) -> Month:
    if ctx.state.draft.month is None:
        raise Refused("no month on display")
    return ctx.state.draft.month


async def _go_to_month(ctx: Ctx, delta: int) -> Outcome:
    month = _shown_month(ctx)
    target = cal.add_months(month.year, month.month, delta)
    tz = ctx.zone
    _, window = await _calendar_answer(ctx)
    if not cal.in_range(window.first_day(tz), window.last_day(tz), *target):
        return Outcome(show=False)
    return await open_calendar(ctx, *target)


async def month_prev(ctx: Ctx, arg: int | None) -> Outcome:
    return await _go_to_month(ctx, -1)


async def month_next(ctx: Ctx, arg: int | None) -> Outcome:
    return await _go_to_month(ctx, 1)


async def month_onward(ctx: Ctx, arg: int | None) -> Outcome:
    """The way on from a month with nothing left: the next month with a free day."""
    onward = _shown_month(ctx).onward
    if onward is None:
        raise Refused("no month onward on display")
    return await open_calendar(ctx, *onward)


def _day_number(ctx: Ctx, arg: int | None) -> int:
    month = _shown_month(ctx)
    if arg is None or not 1 <= arg <= cal.days_in_month(month.year, month.month):
        raise Refused(f"day {arg} out of range")
    return arg


async def day_unavailable(ctx: Ctx, arg: int | None) -> Outcome:
    """A day that can't be picked: why not (a toast); a full one offers its waiting list."""
    number = _day_number(ctx, arg)
    month = _shown_month(ctx)
    day = date(month.year, month.month, number)
    if cal.day_code(month, number) == DayCode.NONE and waitlist.can_wait(ctx, day):
        return await _full_again(ctx, day)  # an old calendar's button too
    return Outcome(toast=day_unavailable_reason(ctx, number), show=False)


async def join_waitlist(ctx: Ctx, arg: int | None) -> Outcome:
    """The full day's "tell me" button: on its list, unless times are free there now."""
    day = ctx.state.waitlist.day
    if day is None or not waitlist.can_wait(ctx, day):
        raise Refused("no full day on offer")
    outcome = await _full_again(ctx, day)
    if ctx.state.nav.step != Step.WAITLIST_OFFER:
        return outcome  # times to pick, or no longer a day to wait for (its reason)
    return await waitlist.join(ctx, arg)


async def _full_again(ctx: Ctx, day: date) -> Outcome:
    """A day shown full, asked about again (the calendar or offer on screen may be old): still
    full, its waiting list; times freed up meanwhile, those times with a word, since nobody
    should wait for a day they can book now."""
    outcome = await load_times(ctx, day, note=None)
    if ctx.state.nav.step == Step.TIME:
        outcome.note = FREED_SINCE
    return outcome


async def pick_day(ctx: Ctx, arg: int | None) -> Outcome:
    number = _day_number(ctx, arg)
    month = _shown_month(ctx)
    if not cal.choosable(cal.day_code(month, number)):
        return Outcome(toast=day_unavailable_reason(ctx, number), show=False)
    return await load_times(ctx, date(month.year, month.month, number), note=None)


async def pick_first_free(ctx: Ctx, arg: int | None) -> Outcome:
    """The calendar's shortcut: the earliest free time, held (or proposed) in one tap."""
    start = ctx.state.draft.first_free
    if start is None:
        raise Refused("no earliest time on display")
    outcome = await load_times(ctx, start.astimezone(ctx.zone).date(), note=None)
    if ctx.state.nav.step != Step.TIME:
        return outcome  # nothing left that day: the calendar, with a word
    if start not in ctx.state.draft.slots:
        return Outcome(note=DAY_TAKEN)
    return await pick_time(ctx, ctx.state.draft.slots.index(start))


def _mark_day(ctx: Ctx, day: date, code: DayCode) -> None:
    month = ctx.state.draft.month
    if month is not None and (month.year, month.month) == (day.year, day.month):
        codes = list(month.codes)
        if 0 < day.day <= len(codes):
            codes[day.day - 1] = code
            month.codes = "".join(codes)


async def _day_times(ctx: Ctx, day: date) -> tuple[list[datetime], DayCode]:
    """The day's bookable times, from the calendar's answer while it is fresh, else asked; and
    what the day is when there are none (full, too soon, not open yet, closed...)."""
    entry = ctx.free_times.fresh(_key(ctx), ctx.now)
    answer = entry.answer if entry is not None else None
    if answer is None or answer.day(day) is None:
        try:
            with watching():
                fresh = await ctx.api.get_availability(
                    ctx.state.draft.service_id or "",
                    location_id=ctx.state.draft.location_id,
                    day=day,
                )
        except NotBookable:
            if not _past_answer(answer, day):
                raise  # the branch or the service is not bookable (changed.py)
            return [], DayCode.BEYOND  # a server that refuses days it has not opened yet
        _learn_zone(ctx, fresh)
        answer = fresh
    window = ctx.window
    info = answer.day(day)
    code = cal.code_of(info, window) if info is not None else DayCode.NONE
    return [s.start for s in answer.slots_on(day) if window.admits(s.start)], code


def _past_answer(answer: Availability | None, day: date) -> bool:
    """`day` comes after every day a range answer listed (so a refusal is about the day)."""
    return answer is not None and bool(answer.days) and day > answer.days[-1].date


async def load_times(ctx: Ctx, day: date, *, note: Msg | None) -> Outcome:
    """The free times of `day`; when none is left, its waiting list (bot/chat/waitlist.py)
    or, where it has none, back to the calendar with the reason."""
    slots, code = await _day_times(ctx, day)
    if not slots:
        waitable = code == DayCode.NONE and waitlist.can_wait(ctx, day)
        _mark_day(ctx, day, code)
        if waitable:
            return waitlist.offer(ctx, day, taken=note is not None)
        ctx.state.nav.step = Step.DAY
        return Outcome(note=DAY_FULL if code == DayCode.NONE else day_reason(code))
    ctx.state.draft.day = day
    ctx.state.draft.slots = slots
    ctx.state.draft.page = 0
    ctx.state.nav.step = Step.TIME
    return Outcome(note=note)


async def back_from_day(ctx: Ctx, arg: int | None) -> Outcome:
    if ctx.state.draft.flow == Flow.RESCHEDULE:
        ctx.state.nav.step = Step.BOOKING
        return Outcome()
    if ctx.state.draft.editing and ctx.state.draft.hold is not None:
        ctx.state.draft.editing = False
        ctx.state.nav.step = Step.SUMMARY
        return Outcome()
    return await show_services(ctx)


# ---- time -------------------------------------------------------------------------------------


async def page_times(ctx: Ctx, arg: int | None) -> Outcome:
    if arg is None or not 0 <= arg < time_pages(ctx):
        raise Refused(f"page {arg} out of range")
    ctx.state.draft.page = arg
    return Outcome()


def _slot(ctx: Ctx, arg: int | None) -> datetime:
    if arg is None or not 0 <= arg < len(ctx.state.draft.slots):
        raise Refused(f"slot {arg} out of range")
    return ctx.state.draft.slots[arg]


async def pick_time(ctx: Ctx, arg: int | None) -> Outcome:
    start = _slot(ctx, arg)
    if ctx.state.draft.flow == Flow.RESCHEDULE:
        ctx.state.managing.new_start = start
        ctx.state.nav.step = Step.MOVE_CONFIRM
        return Outcome()
    try:
        hold = await _take_hold(ctx, start)
    except (SlotUnavailable, NotBookable):
        return await times_after_conflict(ctx, TAKEN)
    ctx.free_times.taken(_key(ctx), start)
    await release_hold(ctx)  # the previous hold, if the customer changed their mind
    ctx.state.draft.hold = _held(hold, start)
    ctx.state.draft.editing = False
    ctx.state.nav.step = _next_detail(ctx.state)
    return Outcome()


def _next_detail(state: ChatState) -> Step:
    """After a time is held: the first detail not given yet. Those already given (a change of
    time, a time taken after the hold ran out, a freed time picked at the email step) are
    never asked twice."""
    if not state.draft.name:
        return Step.NAME
    return Step.SUMMARY if state.draft.email else Step.EMAIL


async def times_after_conflict(ctx: Ctx, note: Msg) -> Outcome:
    """A time was taken meanwhile: what the calendar knew is stale; the day's times, fresh."""
    ctx.free_times.forget(_key(ctx))
    hold = ctx.state.draft.hold
    day = ctx.state.draft.day or (hold.start.astimezone(ctx.zone).date() if hold else ctx.today)
    return await load_times(ctx, day, note=note)


async def back_from_time(ctx: Ctx, arg: int | None) -> Outcome:
    ctx.state.nav.step = Step.DAY
    return Outcome()


# ---- name and email ---------------------------------------------------------------------------


def _after_name(ctx: Ctx) -> None:
    if ctx.state.draft.editing and ctx.state.draft.email:
        ctx.state.draft.editing = False
        ctx.state.nav.step = Step.SUMMARY
    else:
        ctx.state.nav.step = Step.EMAIL


async def use_telegram_name(ctx: Ctx, arg: int | None) -> Outcome:
    return await name_typed(ctx, ctx.customer.display_name)


async def name_typed(ctx: Ctx, text: str) -> Outcome:
    name, problem = clean_name(text)
    if name is None:
        return Outcome(note=problem, reshow=True)
    ctx.state.draft.name = name
    _remember_message(ctx, "name")
    _after_name(ctx)
    return Outcome()


def _remember_message(ctx: Ctx, field: str) -> None:
    """Which message gave this answer: editing that message later changes the answer."""
    if ctx.message_id is not None:
        ctx.state.draft.typed[field] = ctx.message_id
    else:
        ctx.state.draft.typed.pop(field, None)


async def edited(ctx: Ctx, field: str, text: str) -> Outcome:
    """The message that gave the name or the email was edited: the booking takes the new one,
    wherever the customer is in it now."""
    if field == "name":
        value, problem = clean_name(text)
    else:
        value, problem = clean_email(text)
    if value is None:
        return Outcome(note=problem, reshow=True)
    if field == "name":
        ctx.state.draft.name = value
        note = Msg("Done: the appointment is now under the name {name}.", name=value)
    else:
        typed = text.strip()
        ctx.state.draft.email = value
        ctx.state.draft.email_shown = typed if typed != value else None
        note = Msg("Done: I'll send the confirmation to {email}.", email=typed)
    return Outcome(note=note, reshow=True)


async def email_typed(ctx: Ctx, text: str) -> Outcome:
    email, problem = clean_email(text)
    if email is None:
        return Outcome(note=problem, reshow=True)
    typed = text.strip()
    ctx.state.draft.email = email
    ctx.state.draft.email_shown = typed if typed != email else None
    _remember_message(ctx, "email")
    ctx.state.draft.editing = False
    ctx.state.nav.step = Step.SUMMARY
    return Outcome()


async def use_remembered_email(ctx: Ctx, arg: int | None) -> Outcome:
    email = await remembered_email(ctx)
    if email is None:
        raise Refused("no remembered email")
    return await email_typed(ctx, shown_email(email))


async def toggle_remember_email(ctx: Ctx, arg: int | None) -> Outcome:
    """The summary's tick box: remember the email for next time (asked once, opt-in)."""
    if "email_consent" in await ctx.prefs():
        raise Refused("consent already given or refused")
    ctx.state.draft.remember_email = not ctx.state.draft.remember_email
    return Outcome(reshow=True)


async def _email_prefs(ctx: Ctx) -> dict[str, object] | None:
    """What to store after a booking: the answer to the one-time question, or the current
    email when the customer already agreed to have it remembered; None: nothing to store."""
    prefs = await ctx.prefs()
    email = ctx.state.draft.email
    if "email_consent" not in prefs:
        remember = ctx.state.draft.remember_email
        return {"email_consent": remember, "email": email if remember else None}
    if prefs.get("email_consent") is True and email and prefs.get("email") != email:
        return {"email": email}
    return None


async def back_from_name(ctx: Ctx, arg: int | None) -> Outcome:
    """Back to the times: the hold is given back, and the day's times include it again."""
    if ctx.state.draft.editing:
        ctx.state.draft.editing = False
        ctx.state.nav.step = Step.SUMMARY
        return Outcome()
    day = ctx.state.draft.day or ctx.today
    await release_hold(ctx)  # first: the customer's own time must be among those listed
    return await load_times(ctx, day, note=None)


async def back_from_email(ctx: Ctx, arg: int | None) -> Outcome:
    if ctx.state.draft.editing:
        ctx.state.draft.editing = False
        ctx.state.nav.step = Step.SUMMARY
    else:
        ctx.state.nav.step = Step.NAME
    return Outcome()


# ---- summary and change -----------------------------------------------------------------------


back_from_summary = goto(Step.EMAIL)
show_change = goto(Step.CHANGE)


def _editing(on: bool) -> Callable[[ChatState], None]:
    """Whether the details steps came from the summary's Change (and go back there when done)."""

    def mark(state: ChatState) -> None:
        state.draft.editing = on

    return mark


back_to_summary = goto(Step.SUMMARY, _editing(False))


async def change_time(ctx: Ctx, arg: int | None) -> Outcome:
    ctx.state.draft.editing = True
    day = ctx.state.draft.day or ctx.today
    return await open_calendar(ctx, day.year, day.month)


change_name = goto(Step.NAME, _editing(True))
change_email = goto(Step.EMAIL, _editing(True))


# ---- confirm ----------------------------------------------------------------------------------


async def rehold(ctx: Ctx) -> Outcome | None:
    """Hold the same slot again (the old hold ran out); an Outcome when that is impossible."""
    old = ctx.state.draft.hold
    if old is None:
        raise Refused("nothing held")
    await release_hold(ctx)  # harmless if it already expired; frees it if our clock ran ahead
    try:
        hold = await _take_hold(ctx, old.start)
    except (SlotUnavailable, NotBookable):
        return await times_after_conflict(ctx, EXPIRED_TAKEN)
    ctx.state.draft.hold = _held(hold, old.start)
    return None


async def confirm(ctx: Ctx, arg: int | None) -> Outcome:
    state = ctx.state
    if state.draft.hold is None or not state.draft.name or not state.draft.email:
        raise Refused("summary incomplete")
    if (refused := await _over_cap(ctx)) is not None:
        await abandon(ctx)  # the time kept goes back to others at once; the menu follows
        return refused
    if ctx.now >= state.draft.hold.expires_at:
        failed = await rehold(ctx)
        if failed is not None:
            return failed
    return await send_confirm(ctx)


async def send_confirm(ctx: Ctx) -> Outcome:
    """Persist the pending confirm with its key, then call the API (crash-safe)."""
    assert ctx.state.draft.hold is not None
    ctx.state.unsettled.pending = PendingConfirm(
        hold_id=ctx.state.draft.hold.hold_id, key=ctx.out.idempotency_key()
    )
    await ctx.save_now()
    return await finish_pending(ctx, allow_rehold=True)


async def finish_pending(ctx: Ctx, *, allow_rehold: bool = True) -> Outcome:
    """Resolve a confirm whose outcome is unknown, with its stored key (the server replays)."""
    state = ctx.state
    pending = state.unsettled.pending
    assert pending is not None
    try:
        appointment = await ctx.api.confirm(
            pending.hold_id,
            name=state.draft.name or "",
            email=state.draft.email or "",
            idempotency_key=pending.key,
        )
    except (HoldExpired, NotFound):
        state.unsettled.pending = None
        if not allow_rehold or state.draft.hold is None:
            return await times_after_conflict(ctx, EXPIRED_TAKEN)
        failed = await rehold(ctx)
        if failed is not None:
            return failed
        state.unsettled.pending = PendingConfirm(
            hold_id=state.draft.hold.hold_id, key=ctx.out.idempotency_key()
        )
        await ctx.save_now()
        return await finish_pending(ctx, allow_rehold=False)
    except HoldAlreadyConfirmed:
        log.error("hold %s was confirmed by an earlier request whose key is lost", pending.hold_id)
        state.unsettled.pending = None
        state.draft.hold = None
        state.clear_draft()
        return Outcome(
            note=Msg("This appointment was already booked. You'll find it under My appointments.")
        )
    except BadRequest:
        state.unsettled.pending = None
        state.nav.step = Step.EMAIL
        return Outcome(note=Msg("The booking system didn't accept this email address."))
    return await booked(ctx, appointment)


async def booked(ctx: Ctx, appointment: Appointment) -> Outcome:
    """Store the booking and send the confirmation as a new message with a calendar file."""
    state, customer = ctx.state, ctx.customer
    hold = state.draft.hold
    assert hold is not None
    service, location = await ctx.service(), await ctx.location()
    start = appointment.start or hold.start
    end = appointment.end or hold.end or _end_of(start, service)
    lines = await booking_lines(ctx, start)
    new = NewBooking(
        user_id=customer.user_id,
        chat_id=customer.chat_id,
        appointment_id=appointment.id,
        service_id=state.draft.service_id or "",
        service_name=service.name if service else "",
        location_id=state.draft.location_id or "",
        location_name=location.name if location else "",
        location_address=(location.address or "") if location else "",
        timezone=ctx.tz_name,
        start=start,
        end=end,
        status=appointment.status,
    )
    ctx.out.emit(Booked(new, contact_name=state.draft.name))
    waitlist.note_booked(ctx, new)  # a waiting-list entry for that day is done
    email_prefs = await _email_prefs(ctx)
    if email_prefs is not None:
        ctx.out.defer(lambda: ctx.storage.update_prefs(customer.user_id, **email_prefs))
    ctx.out.track("confirmed", location_name=new.location_name, service_name=new.service_name)
    state.clear_draft()
    state.nav.step = Step.MENU
    return Outcome(
        lead=[
            Msg("✅ <b>Booked!</b> Your reference is {reference}.", reference=appointment.id),
            *lines,
            Msg("See you then! The attached file adds it to your calendar."),
        ],
        attachment=calendar_file(appointment.id, start, end, service, location, ctx.now),
        new_message=True,
    )


def _end_of(start: datetime, service: Service | None) -> datetime:
    minutes = service.duration_minutes if service and service.duration_minutes else 30
    return start + timedelta(minutes=minutes)


def calendar_file(
    reference: str,
    start: datetime,
    end: datetime,
    service: Service | None,
    location: Location | None,
    now: datetime,
    *,
    sequence: int = 0,
) -> Attachment:
    event = booking_event(
        reference,
        start,
        end,
        service_name=service.name if service else "",
        location_name=location.name if location else "",
        address=(location.address or "") if location else "",
        sequence=sequence,
    )
    content = build_ics(event, stamp=now.astimezone(UTC))
    return Attachment(filename="booking.ics", content=content, mime_type="text/calendar")
