"""The main menu, help, language choice, cancel, and the slash commands.

Commands that start something else (/start, /book, /mybookings, /language) leave the flow in
progress, its hold released, so no slot is left held behind; /help mid-booking only explains.
"""

from __future__ import annotations

import logging

from bot.booking.book import abandon, start_book
from bot.booking.context import Ctx, Outcome
from bot.booking.manage import show_bookings
from bot.booking.screens import LanguageName, Msg
from bot.booking.state import Flow, Step
from bot.booking.views import help_lines
from bot.booking.words import own_texts, title

log = logging.getLogger("bot.booking")

STILL_BOOKING = Msg("Your booking is still in progress: carry on below, or type /cancel to stop.")
WELCOME = Msg("👋 Welcome! I can book an appointment for you, and later reschedule or cancel it.")
# (may reschedule, may cancel) -> what the bot can do, under a welcome that names the business
# or when the operator turned a change off (ALLOW_RESCHEDULE, ALLOW_CANCEL).
ABILITIES: dict[tuple[bool, bool], Msg] = {
    (True, True): Msg("I can book an appointment for you, and later reschedule or cancel it."),
    (True, False): Msg("I can book an appointment for you, and later reschedule it."),
    (False, True): Msg("I can book an appointment for you, and later cancel it."),
    (False, False): Msg("I can book an appointment for you."),
}


async def go_menu(ctx: Ctx, arg: int | None = None) -> Outcome:
    await abandon(ctx)
    return Outcome()


# Steps outside any booking or change in progress.
RESTING = frozenset({Step.MENU, Step.HELP, Step.LANGUAGE, Step.BOOKINGS})


async def cancel_flow(ctx: Ctx, arg: int | None = None) -> Outcome:
    """Cancel button or /cancel: release anything held and say what happened."""
    state = ctx.state
    was_rescheduling = state.flow == Flow.RESCHEDULE
    in_flow = state.step not in RESTING
    had_hold = state.hold is not None
    await abandon(ctx)
    if was_rescheduling:
        return Outcome(note=Msg("Cancelled: your booking was not changed."))
    if had_hold or in_flow:
        return Outcome(note=Msg("Cancelled: nothing was booked."))
    return Outcome()


async def book(ctx: Ctx, arg: int | None = None) -> Outcome:
    return await start_book(ctx)


async def show_help(ctx: Ctx, arg: int | None = None) -> Outcome:
    await abandon(ctx)
    ctx.state.step = Step.HELP
    return Outcome()


async def show_language(ctx: Ctx, arg: int | None = None) -> Outcome:
    await abandon(ctx)
    ctx.state.step = Step.LANGUAGE
    ctx.state.options = list(ctx.business.languages)
    return Outcome()


async def pick_language(ctx: Ctx, arg: int | None) -> Outcome:
    language = ctx.option(arg)
    user_id = ctx.customer.user_id
    ctx.defer(lambda: ctx.storage.set_language(user_id, language))
    ctx.lang = ctx.state.lang = language
    ctx.state.clear_draft()
    return Outcome(note=Msg("Language set to {language}.", language=LanguageName(language)))


async def back_to_menu(ctx: Ctx, arg: int | None = None) -> Outcome:
    ctx.state.clear_draft()
    return Outcome()


# ---- commands ---------------------------------------------------------------------------------


def parse_start_arg(
    arg: str, location_ids: set[str], service_ids: set[str]
) -> tuple[str | None, str | None]:
    """Deep-link payload `<part>__<part>`: each part matched exactly against ids; rest ignored."""
    location_id = service_id = None
    for part in arg.strip().split("__"):
        if part in location_ids and location_id is None:
            location_id = part
        elif part in service_ids and service_id is None:
            service_id = part
    return location_id, service_id


def welcome_lines(ctx: Ctx) -> list[Msg]:
    """/start: the operator's welcome under the business's name, else the shipped one."""
    own = own_texts(ctx.business, ctx.lang, ("welcome",))
    if own:
        return [*title(ctx.business), *own]
    can = ctx.rules.changes_allowed
    if ctx.business.name:
        return [Msg("👋 Welcome to {business}!", business=ctx.business.name), ABILITIES[can]]
    return [WELCOME] if can == (True, True) else [Msg("👋 Welcome!"), ABILITIES[can]]


async def cmd_start(ctx: Ctx, arg: str) -> Outcome:
    """The welcome; a deep link naming an offered branch and/or service starts booking it
    (ids the operator hides are not recognised, so such a link only welcomes)."""
    await abandon(ctx)
    welcome = welcome_lines(ctx)
    if arg.strip():
        locations = await ctx.catalog.offered_locations()
        services = await ctx.catalog.offered_services()
        location_id, service_id = parse_start_arg(
            arg, {loc.id for loc in locations}, {s.id for s in services}
        )
        if location_id or service_id:
            outcome = await start_book(ctx, location_id=location_id, service_id=service_id)
            if outcome.note is None:
                outcome.lead = [*welcome, *outcome.lead]
            return outcome
    return Outcome(lead=welcome)


async def cmd_book(ctx: Ctx, arg: str) -> Outcome:
    return await start_book(ctx)


async def cmd_mybookings(ctx: Ctx, arg: str) -> Outcome:
    return await show_bookings(ctx)


async def cmd_language(ctx: Ctx, arg: str) -> Outcome:
    return await show_language(ctx)


async def cmd_help(ctx: Ctx, arg: str) -> Outcome:
    """Mid-booking, help is shown above the current step: asking for help loses nothing."""
    if ctx.state.step in RESTING:
        return await show_help(ctx)
    return Outcome(lead=[*help_lines(ctx), STILL_BOOKING], reshow=True)


async def cmd_cancel(ctx: Ctx, arg: str) -> Outcome:
    outcome = await cancel_flow(ctx)
    outcome.note = outcome.note or Msg("There was nothing to cancel.")
    return outcome
