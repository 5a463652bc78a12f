"""The notice of a freed time, tapped: that day's times, asked of Zimun afresh.

The button names the waiting-list entry (an entry-scoped payload, checked against the tapping
customer) and works whatever the chat does meanwhile. What it does depends on what the customer
has in progress, so that a booking they started is never lost without them saying so:

- nothing in progress (or nothing they would miss: no branch, service or time chosen yet): a
  new booking of that service at that branch, on that day's times;
- a booking in progress of the same service at the same branch: that day's times inside it.
  Nothing is dropped: the name and email stay, and a time they hold is only given back once
  they pick a new one (as changing the time from the summary does); Back leads to the calendar
  and, with a time held, to the summary;
- anything else in progress (another service or branch, a reschedule, a booking a reschedule
  parked): a question first, "drop what you started and see the free times?" (a detour, so
  No leads back to exactly where they were); Yes drops it with a word, as a new booking does.

The times are fresh: the calendar's cached answer is renewed first, since it may be older than
the freed time, unless it was asked within availability.RENEW_AFTER (so taps cost at most one
call per service and branch in that time, whoever taps). Only an entry whose customer was told
(status told, or re-joined keeping its offer) is answered: another one's button has no notice
behind it, and would cost a call for nothing. A time gone again by then is the 409 path: the
full day's screen, with an apology, offering the list again (re-armed by the customer only,
keeping their place).
"""

from __future__ import annotations

from bot.chat import detours
from bot.chat.book import load_times, open_calendar, start_book
from bot.chat.context import Ctx, Outcome
from bot.chat.waitlist import ENDED, owned_entry
from bot.core.records import WaitlistRow
from bot.core.screens import Msg
from bot.core.state import ChatState, Flow, Step

GONE_AGAIN = Msg("Sorry, that time has been taken again.")


async def open_freed(ctx: Ctx, entry_id: int | None) -> Outcome:
    """The notice's "See the free times" (a new message: the notice stays readable)."""
    entry = await owned_entry(ctx, entry_id)
    if entry is None:
        return Outcome(toast=ENDED, show=False)
    if not _told(entry):
        return Outcome(toast=GONE_AGAIN, show=False)  # no notice to answer: nothing to ask
    state = ctx.state
    if _same_booking(state, entry):
        if state.nav.resume is not None:
            detours.return_to_resume(state)  # off the detour, back into the booking
        # Back leads to the summary of the held time, when there is one to go back to.
        state.draft.editing = state.draft.hold is not None and bool(
            state.draft.name and state.draft.email
        )
        outcome = await _day_times(ctx, entry)
    elif _would_lose(state):
        detours.step_aside(ctx)
        state.waitlist.entry = entry.id
        state.nav.step = Step.WAITLIST_SWITCH
        outcome = Outcome()
    else:
        outcome = await _new_booking(ctx, entry)
    return outcome.below()


async def switch(ctx: Ctx, arg: int | None) -> Outcome:
    """Yes: drop what was in progress and show the freed day's times."""
    entry = await owned_entry(ctx, ctx.state.waitlist.entry)
    ctx.state.waitlist.entry = None
    if entry is None:
        return detours.come_back(ctx, ENDED)
    if not _told(entry):
        return detours.come_back(ctx, GONE_AGAIN)
    return await _new_booking(ctx, entry)


async def stay(ctx: Ctx, arg: int | None) -> Outcome:
    """No: back to exactly where the customer was."""
    ctx.state.waitlist.entry = None
    return detours.come_back(ctx)


def _told(entry: WaitlistRow) -> bool:
    """Whether a notice of a freed time went out for the entry (it may have re-joined since,
    keeping its offer): only then does its button mean anything. An entry never told, or
    told of a time the watch has since found taken, has nothing to show."""
    return entry.status == "told" or entry.offered_at is not None


def _same_booking(state: ChatState, entry: WaitlistRow) -> bool:
    return (
        state.draft.flow == Flow.BOOK
        and detours.unfinished(state)
        and state.draft.service_id == entry.service_id
        and state.draft.location_id == entry.location_id
    )


def _would_lose(state: ChatState) -> bool:
    """Something the customer started would be dropped by a new booking."""
    rescheduling = state.draft.flow == Flow.RESCHEDULE and detours.unfinished(state)
    return rescheduling or detours.substantial(state)


async def _new_booking(ctx: Ctx, entry: WaitlistRow) -> Outcome:
    """A new booking of the entry's service at its branch (what was in progress is dropped,
    with a word), on the entry's day when both are still offered."""
    ctx.free_times.renew((entry.service_id, entry.location_id), ctx.now)
    outcome = await start_book(ctx, location_id=entry.location_id, service_id=entry.service_id)
    state = ctx.state
    if (state.nav.step, state.draft.service_id, state.draft.location_id) != (
        Step.DAY,
        entry.service_id,
        entry.location_id,
    ):
        return outcome  # no longer offered as it was: the choice the bot can offer now
    times = await _day_times(ctx, entry, fresh=True)
    times.lead = [*outcome.lead, *times.lead]
    return times


async def _day_times(ctx: Ctx, entry: WaitlistRow, *, fresh: bool = False) -> Outcome:
    """The entry's day's times, from an answer asked for now (`fresh`: just asked), with its
    month behind them for Back; when none is left, the full day's screen and an apology."""
    if not fresh:
        ctx.free_times.renew((entry.service_id, entry.location_id), ctx.now)
    await open_calendar(ctx, entry.day.year, entry.day.month)
    outcome = await load_times(ctx, entry.day, note=None)
    if ctx.state.nav.step == Step.WAITLIST_OFFER:
        outcome.note = GONE_AGAIN
    return outcome
