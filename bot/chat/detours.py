"""Detours: customers step aside (help, language, privacy, My bookings, an old button) and come
back to what they were doing, exactly as they left it, with the time still held while it lasts.

Only three things end a booking in progress: an explicit cancel, a new booking, and /forget.
Everything else is a detour: the step the customer left is remembered (`ChatState.nav.resume`)
with its screen code (`resume_nonce`), so Back, the menu's Continue button, a button still on
the old screen, or simply typing the answer the old step asked for, all lead back to it.

A reschedule is the one detour that needs the day and time screens while a booking is in
progress: the booking is parked for its duration (`ChatState.park`) and comes back when the
reschedule ends, however it ends (`settle`).
"""

from __future__ import annotations

from bot.chat.context import Ctx, Outcome
from bot.core.screens import Msg
from bot.core.state import ChatState, Flow, Step

BOOKING_STEPS = frozenset(
    {
        Step.LOCATION,
        Step.SERVICE,
        Step.DAY,
        Step.TIME,
        Step.NAME,
        Step.EMAIL,
        Step.SUMMARY,
        Step.CHANGE,
        Step.WAITLIST_OFFER,
    }
)
MOVE_STEPS = frozenset({Step.BOOKING, Step.DAY, Step.TIME, Step.MOVE_CONFIRM, Step.CANCEL_CONFIRM})

WELCOME_BACK = Msg("Here's where you left off.")
DROPPED = Msg("I've discarded your unfinished booking and freed up its time.")
DISCARDED = Msg("I've discarded your unfinished booking.")  # no time was held for it
MOVE_STOPPED = Msg("I've stopped rescheduling: your appointment stays as it was.")


def in_progress(state: ChatState) -> bool:
    """The customer is on a step of a booking or a reschedule (not on a detour)."""
    steps = MOVE_STEPS if state.draft.flow == Flow.RESCHEDULE else BOOKING_STEPS
    return state.nav.step in steps


def waiting(state: ChatState) -> bool:
    """Something the customer started waits for them behind a detour."""
    return state.nav.resume is not None


def unfinished(state: ChatState) -> bool:
    """A booking or reschedule is under way, on screen or behind a detour or parked."""
    return in_progress(state) or waiting(state) or state.parked is not None


def substantial(state: ChatState) -> bool:
    """A booking the customer would miss if it ended: a choice made or a time held, on screen,
    behind a detour, or parked during a reschedule."""
    chosen = bool(state.draft.location_id or state.draft.service_id or state.draft.hold)
    booking = state.draft.flow == Flow.BOOK and unfinished(state) and chosen
    return booking or state.parked is not None


def what_ends(state: ChatState) -> list[Msg]:
    """What ending everything in progress ends, in the customer's words: a reschedule (the
    appointment stays), a booking with its held time, or a booking with nothing held yet."""
    said: list[Msg] = []
    if state.draft.flow == Flow.RESCHEDULE and unfinished(state):
        said.append(MOVE_STOPPED)
    draft = state.parked.draft if state.parked is not None else state.draft
    if substantial(state):
        said.append(DROPPED if draft.hold is not None else DISCARDED)
    return said


def step_aside(ctx: Ctx) -> None:
    """Entering a detour: remember where the customer was (the first step left, if several
    detours follow each other)."""
    state = ctx.state
    if state.nav.resume is None and in_progress(state):
        state.nav.resume, state.nav.resume_nonce = state.nav.step, state.nav.nonce


def return_to_resume(state: ChatState) -> None:
    """Back on the step a detour interrupted, with that screen's code, so its buttons work."""
    assert state.nav.resume is not None
    state.nav.step, state.nav.resume = state.nav.resume, None
    if state.nav.resume_nonce:
        state.nav.nonce = state.nav.resume_nonce
    state.nav.resume_nonce = None


def come_back(ctx: Ctx, note: Msg | None = None, *, otherwise: Step = Step.MENU) -> Outcome:
    """End a detour: back where the customer left off, else to `otherwise`."""
    state = ctx.state
    if state.nav.resume is None:
        state.nav.step = otherwise
        return Outcome(note=note)
    return_to_resume(state)
    return Outcome(note=note or WELCOME_BACK, reshow=True)


def resumes(state: ChatState, scope: str) -> bool:
    """A tap on a button of the screen a detour interrupted (still shown in an older message)."""
    return (
        state.nav.resume is not None
        and bool(state.nav.resume_nonce)
        and scope == state.nav.resume_nonce
    )


def takes_text(state: ChatState, steps: frozenset[Step]) -> bool:
    """The step behind the detour asks for typed text (a name, an email): typing it resumes."""
    return state.nav.resume in steps


def end_reschedule(state: ChatState) -> None:
    """A reschedule in progress (on screen or behind a detour) is over: forget it, and bring
    back the booking it parked, if any. Nothing of a booking in progress is touched."""
    if state.draft.flow == Flow.RESCHEDULE:
        state.nav.resume = None
        state.end_move()


def settle(state: ChatState) -> None:
    """After each event: a reschedule whose screens were left (done, cancelled, or the customer
    went elsewhere, not on a detour) is over, and the booking it parked comes back."""
    if state.draft.flow != Flow.RESCHEDULE or state.nav.resume is not None:
        return
    if state.nav.step in MOVE_STEPS:
        return
    state.end_move()
