"""The main menu, help, language choice, cancel, and the slash commands.

Help, language, the menu and My bookings are detours (bot/chat/detours.py): a booking in
progress waits behind them, its time still held, and Back or Continue lead back to it. Only
Cancel (/cancel), a new booking (/book, Book, a deep link) and /forget end it.
"""

from __future__ import annotations

import logging

from bot.chat import detours
from bot.chat.book import abandon, start_book
from bot.chat.context import Ctx, Outcome, Refused
from bot.chat.manage import show_bookings
from bot.chat.views import help_lines
from bot.core.screens import LanguageName, Msg
from bot.core.state import Flow, Step
from bot.core.words import cutoff_note, own_texts, title

log = logging.getLogger("bot.booking")

STILL_BOOKING = Msg("You haven't finished booking: carry on below, or type /cancel to stop.")
WELCOME = Msg("👋 Welcome! I can book an appointment for you, and later reschedule or cancel it.")
NOTHING_IN_PROGRESS = Msg(
    "There was nothing to stop. Your appointments are unchanged: you'll find them under My "
    "appointments."
)
# (may reschedule, may cancel) -> what the bot can do, under a welcome that names the business
# or when the operator turned a change off (ALLOW_RESCHEDULE, ALLOW_CANCEL).
ABILITIES: dict[tuple[bool, bool], Msg] = {
    (True, True): Msg("I can book an appointment for you, and later reschedule or cancel it."),
    (True, False): Msg("I can book an appointment for you, and later reschedule it."),
    (False, True): Msg("I can book an appointment for you, and later cancel it."),
    (False, False): Msg("I can book an appointment for you."),
}


async def go_menu(ctx: Ctx, arg: int | None = None) -> Outcome:
    """The main menu; a booking in progress waits behind it (the menu offers Continue)."""
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.MENU
    return Outcome()


async def resume(ctx: Ctx, arg: int | None = None) -> Outcome:
    """The menu's Continue: back to the booking in progress."""
    if not detours.waiting(ctx.state):
        ctx.state.nav.step = Step.MENU
        return Outcome(note=Msg("There's no unfinished booking to continue."))
    return detours.come_back(ctx)


async def cancel_flow(ctx: Ctx, arg: int | None = None) -> Outcome:
    """Cancel button or /cancel: end what is in progress, release any hold, say what happened."""
    state = ctx.state
    if state.draft.flow == Flow.RESCHEDULE and detours.unfinished(state):
        state.nav.step = Step.MENU
        detours.end_reschedule(state)  # a booking it parked comes back
        return Outcome(note=Msg("OK, your appointment stays as it was."))
    if not detours.unfinished(state):
        state.clear_draft()
        state.nav.step = Step.MENU
        return Outcome()
    await abandon(ctx)
    return Outcome(note=Msg("OK, nothing was booked."))


async def book(ctx: Ctx, arg: int | None = None) -> Outcome:
    return await start_book(ctx)


async def show_help(ctx: Ctx, arg: int | None = None) -> Outcome:
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.HELP
    return Outcome()


async def show_language(ctx: Ctx, arg: int | None = None) -> Outcome:
    detours.step_aside(ctx)
    ctx.state.nav.step = Step.LANGUAGE
    return Outcome()


async def pick_language(ctx: Ctx, arg: int | None) -> Outcome:
    """A language: set, then back to what the customer was doing, in that language."""
    offered = ctx.business.languages  # by index: the list on screen is not kept in the state
    if arg is None or not 0 <= arg < len(offered):
        raise Refused(f"language {arg} out of range")
    language = offered[arg]
    user_id = ctx.customer.user_id
    ctx.out.defer(lambda: ctx.storage.set_language(user_id, language))
    ctx.out.lang = ctx.state.lang = language
    note = Msg("From now on I'll write in {language}.", language=LanguageName(language))
    return detours.come_back(ctx, note)


async def back_to_menu(ctx: Ctx, arg: int | None = None) -> Outcome:
    """Back from a detour: to the step it interrupted, else the menu."""
    return detours.come_back(ctx)


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
    note = cutoff_note(ctx.rules)  # the promise of changes has a limit: say it
    if ctx.business.name:
        welcome = Msg("👋 Welcome to {business}!", business=ctx.business.name)
        return [welcome, ABILITIES[can], *note]
    if can == (True, True):
        return [WELCOME, *note]
    return [Msg("👋 Welcome!"), ABILITIES[can], *note]


async def cmd_start(ctx: Ctx, arg: str) -> Outcome:
    """/start: the welcome and the menu (a booking in progress waits behind it); a deep link
    naming an offered branch and/or service starts a new booking there (ids the operator hides
    are not recognised, so such a link only welcomes)."""
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
    await go_menu(ctx)
    return Outcome(lead=welcome)


async def cmd_book(ctx: Ctx, arg: str) -> Outcome:
    return await start_book(ctx)


async def cmd_mybookings(ctx: Ctx, arg: str) -> Outcome:
    return await show_bookings(ctx)


async def cmd_language(ctx: Ctx, arg: str) -> Outcome:
    """/language; with one language offered (BOT_LANGUAGES) there is nothing to pick: the menu."""
    if len(ctx.business.languages) < 2:
        return await go_menu(ctx)
    return await show_language(ctx)


async def cmd_help(ctx: Ctx, arg: str) -> Outcome:
    """Mid-booking, help is shown above the current step: asking for help loses nothing."""
    if not detours.in_progress(ctx.state):
        return await show_help(ctx)
    return Outcome(lead=[*help_lines(ctx), STILL_BOOKING], reshow=True)


async def cmd_cancel(ctx: Ctx, arg: str) -> Outcome:
    outcome = await cancel_flow(ctx)
    outcome.note = outcome.note or NOTHING_IN_PROGRESS
    return outcome
