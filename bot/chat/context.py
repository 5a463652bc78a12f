"""What a handler reads (Ctx), what it produces (Effects), and what it answers (Outcome).

A handler reads the frozen Ctx, changes `ctx.state` (the new state, kept in `ctx.out`), calls
the API, and returns an Outcome; the engine then renders the current step, renews the screen
nonce, and persists everything in one write. Storage writes a handler wants are deferred
(`ctx.out.defer`, coroutine functions awaited in the engine's batch) into that same
transaction, so no transaction is ever held across a call to the API or Telegram (only the
store's own awaits happen inside it); what happens to a booking is emitted as a ledger entry
(`ctx.out.emit`), which the engine writes through the ledger in that transaction too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

from bot.chat.availability import AvailabilityCache
from bot.chat.catalog import Catalog
from bot.core.business import Business
from bot.core.calendar import Window
from bot.core.draws import Draws
from bot.core.events import Customer
from bot.core.models import Location, Service, zone
from bot.core.records import BookingRow, FunnelEvent
from bot.core.rules import BookingRules
from bot.core.screens import Attachment, Msg
from bot.core.state import ChatState, Flow, Step
from bot.followup.ledger import Entry, Ledger
from bot.store.contract import Store

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient


class Refused(Exception):
    """The input does not fit the current screen (bad index, action not offered): re-show it."""


@dataclass
class Outcome:
    """What to answer besides the current step's screen.

        `note` is a line above the step's screen (an error to fix, "Cancelled"); `lead` are lines
        after it (a confirmation's details), with an optional `attachment` (a calendar file); a
        confirmation is a `new_message` rather than an edit of the tapped one (`below` a notice: the
    notice keeps its buttons too). `show=False` answers
        with the toast only, leaving the screen as it is; `reshow` marks a re-display of the same
        step (the nonce is kept, so the buttons already on screen stay valid).
    """

    note: Msg | None = None
    toast: Msg | None = None
    lead: list[Msg] = field(default_factory=list)
    attachment: Attachment | None = None
    new_message: bool = False
    show: bool = True
    reshow: bool = False
    keep_tapped: bool = False  # a new message below a notice, which keeps its buttons

    def below(self) -> Outcome:
        """Answer a notice's or reminder's button below it: a new message, the notice left
        as it was (its other buttons still work)."""
        self.new_message = self.keep_tapped = True
        return self


@dataclass
class Effects:
    """What a handler produces besides its Outcome: the chat's new state and language, and
    what the engine writes with it in one transaction.

    `deferred` are storage writes, `entries` what happened to a booking (written through the
    ledger), `funnel` anonymous statistics; `fresh` are rows as Zimun has them now (refreshed
    during this event), `bookings` the rows the bookings screen shows, `holding` the bookings
    this event is changing, `forget` a confirmed /forget (delete the customer's rows, save
    nothing). `retry_key` is the idempotency key of the operation a Retry repeats, `last_key`
    the one handed out last (kept with the Retry button), `saved` the state as last persisted
    and `saved_in_flight` whether it held a confirm, reschedule or cancel in flight. `draws`
    gives the event's button codes and keys, the same each time the same update is handled
    (bot.core.draws).
    """

    state: ChatState
    lang: str
    at: datetime  # the event's instant: funnel events are stamped with it
    saved: str = ""
    saved_in_flight: bool = False
    retry_key: str | None = None
    last_key: str | None = None
    deferred: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    funnel: list[FunnelEvent] = field(default_factory=list)
    fresh: dict[int, BookingRow] = field(default_factory=dict)
    bookings: list[BookingRow] | None = None
    holding: list[int] = field(default_factory=list)
    forget: bool = False
    draws: Draws = field(default_factory=Draws)  # the event's button codes and keys

    def defer(self, write: Callable[[], Awaitable[object]]) -> None:
        """A store write for the event's transaction: a coroutine function (a lambda calling
        the store's method is one), awaited inside the engine's batch."""
        self.deferred.append(write)

    def emit(self, entry: Entry) -> None:
        self.entries.append(entry)

    def track(self, event: str, step: str | None = None, **names: str | None) -> None:
        """Record a funnel event of the current booking attempt (nothing outside one)."""
        attempt = self.state.draft.attempt
        if attempt is None or self.state.draft.flow != Flow.BOOK:
            return
        self.funnel.append(FunnelEvent(self.at, attempt, event, step, **names))

    def tally(self, event: str) -> None:
        """Record an event outside any booking attempt (a booking moved or cancelled)."""
        self.funnel.append(FunnelEvent(self.at, "", event))

    def idempotency_key(self) -> str:
        """One key per logical operation: a Retry of the same operation reuses it."""
        key = self.retry_key or self.draws.key()
        self.retry_key = None
        self.last_key = key
        return key

    def discard(self) -> None:
        """Drop the writes, ledger entries and funnel events (written, or undone)."""
        self.deferred.clear()
        self.entries.clear()
        self.funnel.clear()


@dataclass(frozen=True)
class Ctx:
    """What a handler reads, the same for the whole event: the request (who, which message,
    the step it came in at), the business's words and rules, the clock's value, the catalog and
    the services behind it; and `out`, where it puts what it produces (`ctx.state` is
    `ctx.out.state`, changed in place)."""

    api: ZimunClient
    storage: Store
    ledger: Ledger
    customer: Customer
    now: datetime
    out: Effects
    save_now: Callable[[], Awaitable[None]]  # persist the state immediately (before a risky call)
    message_id: int | None = None  # the customer's message this event answers, if any
    entry_step: Step = Step.MENU  # the step before this event (funnel: steps reached)
    free_times: AvailabilityCache = field(default_factory=AvailabilityCache)
    rules: BookingRules = field(default_factory=BookingRules)  # the operator's rules
    business: Business = field(default_factory=Business)  # the operator's words

    @property
    def state(self) -> ChatState:
        """The customer's state: as it came in, changed by the handler into the new one."""
        return self.out.state

    @property
    def lang(self) -> str:
        return self.out.lang

    @property
    def catalog(self) -> Catalog:
        """Branches and services as offered (the operator's hide lists and order applied)."""
        return Catalog(self.api, self.rules.offer)

    def changing(self, booking_id: int) -> None:
        """Call before asking Zimun to change a booking: until this event is persisted, a
        comparison running meanwhile must not take the bot's change for the business's."""
        self.ledger.hold(booking_id)
        self.out.holding.append(booking_id)

    def not_changing(self, booking_id: int) -> None:
        """Zimun refused the change `changing` announced: comparisons may see the booking
        again at once (what Zimun says now is the business's doing, not the bot's)."""
        if booking_id in self.out.holding:
            self.out.holding.remove(booking_id)
            self.ledger.release(booking_id)

    async def prefs(self) -> dict[str, object]:
        return await self.storage.get_prefs(self.customer.user_id)

    async def location(self) -> Location | None:
        if not self.state.draft.location_id:
            return None
        return await self.api.get_location(self.state.draft.location_id)

    async def service(self) -> Service | None:
        if not self.state.draft.service_id:
            return None
        return await self.api.get_service(self.state.draft.service_id)

    @property
    def tz_name(self) -> str:
        return self.state.draft.tz or "UTC"

    @property
    def window(self) -> Window:
        """The instants bookable now: the operator's lead time and horizon (BOOKING_LEAD_TIME,
        BOOKING_HORIZON), else from now to the calendar's default horizon."""
        return self.rules.calendar_window(self.now)

    @property
    def zone(self) -> tzinfo:
        """The branch's timezone (UTC until known)."""
        return zone(self.state.draft.tz)

    @property
    def today(self) -> date:
        """Today in the branch's timezone."""
        return self.now.astimezone(zone(self.state.draft.tz)).date()

    def option(self, index: int | None) -> str:
        if index is None or not 0 <= index < len(self.state.draft.options):
            raise Refused(f"option {index} out of range")
        return self.state.draft.options[index]

    async def owned_booking(self, booking_id: int | None) -> BookingRow:
        """The booking if it belongs to the customer; Refused (and the caller logs) otherwise."""
        row = self.out.fresh.get(booking_id) if booking_id is not None else None
        if row is None and booking_id is not None:
            row = await self.storage.get_booking(booking_id)
        if row is None or row.user_id != self.customer.user_id:
            raise NotYours(booking_id)
        return row


def goto(
    step: Step, before: Callable[[ChatState], None] | None = None
) -> Callable[[Ctx, int | None], Awaitable[Outcome]]:
    """A tap handler that only moves to `step`, changing the state with `before` first (a Back
    button, "Change my name"): the transition table names it like any other handler."""

    async def handler(ctx: Ctx, arg: int | None) -> Outcome:
        if before is not None:
            before(ctx.state)
        ctx.state.nav.step = step
        return Outcome()

    return handler


class NotYours(Refused):
    """A booking id that is not the customer's: refused with its own toast, and logged."""
