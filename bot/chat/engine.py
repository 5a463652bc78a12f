"""The conversation engine: one event in, one Reply out, the chat's state persisted between.

`handle` loads the chat's state, checks a tap's payload (scope, action, argument) before anything
else, finds the handler in the transition table, renders the resulting step, and saves the
state in one write. It never raises for a customer's input or an API failure: a stale or forged
button is answered with a toast and the current screen, an unanswering API with a Retry button
and the state unchanged, and anything unexpected with an apology and a usable state.

The adapter handles one chat's events strictly in order and different chats concurrently, so
nothing here is shared between chats except the API client and the store. The store is
asynchronous (bot.store.contract: SQLite answers at once, PostgreSQL awaits its driver); an
event's writes go in one `batch()`, which belongs to the task handling that event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.chat import book, detours, manage, menu, privacy, waitlist, waitlist_tap
from bot.chat.availability import AvailabilityCache
from bot.chat.book import finish_pending, release_orphans
from bot.chat.changed import CatalogChanged
from bot.chat.context import Ctx, Effects, NotYours, Outcome, Refused
from bot.chat.views import render
from bot.config.chat_tag import chat_tag
from bot.config.clock import utc_now
from bot.core.business import Business
from bot.core.draws import Draws
from bot.core.errors import ApiUnavailable, AuthError, InvalidResponse, RateLimited, ZimunError
from bot.core.events import Command, Customer, Edited, Event, Look, Tap, Text
from bot.core.payload import Action, Payload, button_data, decode
from bot.core.rules import BookingRules
from bot.core.screens import Button, Msg, Reply, Screen
from bot.core.state import ChatState, Retry, Step
from bot.core.words import contact_lines
from bot.followup.ledger import DEFAULT_OFFSETS, Ledger, Listener
from bot.store.contract import Store
from bot.store.sqlite_async import as_store
from bot.store.storage import Storage

if TYPE_CHECKING:
    from bot.zimun.client import ZimunClient

log = logging.getLogger("bot.booking")

TapHandler = Callable[[Ctx, int | None], Awaitable[Outcome]]
TextHandler = Callable[[Ctx, str], Awaitable[Outcome]]

S, A = Step, Action

# Actions every screen offers (the Cancel button, "Main menu").
ANYWHERE: dict[Action, TapHandler] = {A.CANCEL: menu.cancel_flow, A.MENU: menu.go_menu}

# (step, action) -> handler: the whole state machine for buttons.
TRANSITIONS: dict[tuple[Step, Action], TapHandler] = {
    (S.MENU, A.BOOK): menu.book,
    (S.MENU, A.MY_BOOKINGS): manage.show_bookings,
    (S.MENU, A.LANGUAGE): menu.show_language,
    (S.MENU, A.HELP): menu.show_help,
    (S.MENU, A.RESUME): menu.resume,
    (S.HELP, A.BOOK): menu.book,
    (S.HELP, A.BACK): menu.back_to_menu,
    (S.LANGUAGE, A.PICK): menu.pick_language,
    (S.LANGUAGE, A.BACK): menu.back_to_menu,
    (S.LOCATION, A.PICK): book.pick_location,
    (S.LOCATION, A.BACK): menu.go_menu,
    (S.SERVICE, A.PICK): book.pick_service,
    (S.SERVICE, A.BACK): book.back_to_locations,
    (S.DAY, A.DAY): book.pick_day,
    (S.DAY, A.DAY_UNAVAILABLE): book.day_unavailable,
    (S.DAY, A.MONTH_PREV): book.month_prev,
    (S.DAY, A.MONTH_NEXT): book.month_next,
    (S.DAY, A.MONTH_ONWARD): book.month_onward,
    (S.DAY, A.FIRST_FREE): book.pick_first_free,
    (S.DAY, A.BACK): book.back_from_day,
    (S.TIME, A.TIME): book.pick_time,
    (S.TIME, A.PAGE): book.page_times,
    (S.TIME, A.BACK): book.back_from_time,
    (S.NAME, A.USE_NAME): book.use_telegram_name,
    (S.NAME, A.BACK): book.back_from_name,
    (S.EMAIL, A.USE_EMAIL): book.use_remembered_email,
    (S.EMAIL, A.BACK): book.back_from_email,
    (S.SUMMARY, A.CONFIRM): book.confirm,
    (S.SUMMARY, A.REMEMBER_EMAIL): book.toggle_remember_email,
    (S.SUMMARY, A.CHANGE): book.show_change,
    (S.SUMMARY, A.BACK): book.back_from_summary,
    (S.CHANGE, A.CHANGE_TIME): book.change_time,
    (S.CHANGE, A.CHANGE_NAME): book.change_name,
    (S.CHANGE, A.CHANGE_EMAIL): book.change_email,
    (S.CHANGE, A.BACK): book.back_to_summary,
    (S.BOOKINGS, A.BOOK): menu.book,
    (S.BOOKINGS, A.BACK): menu.back_to_menu,
    (S.BOOKINGS, A.PAGE): manage.page_bookings,
    (S.BOOKING, A.RESCHEDULE): manage.reschedule_here,
    (S.BOOKING, A.CANCEL_BOOKING): manage.ask_cancel_here,
    (S.BOOKING, A.BACK): manage.back_to_bookings,
    (S.MOVE_CONFIRM, A.YES): manage.do_move,
    (S.MOVE_CONFIRM, A.BACK): manage.back_to_times,
    (S.CANCEL_CONFIRM, A.YES): manage.do_cancel,
    (S.CANCEL_CONFIRM, A.BACK): manage.back_to_booking,
    (S.PRIVACY, A.FORGET): privacy.ask_forget,
    (S.PRIVACY, A.BACK): menu.back_to_menu,
    (S.FORGET_CONFIRM, A.YES): privacy.do_forget,
    (S.FORGET_CONFIRM, A.BACK): menu.back_to_menu,
    # the waiting list (bot/chat/waitlist.py, waitlist_tap.py)
    (S.WAITLIST_OFFER, A.WAITLIST_JOIN): book.join_waitlist,
    (S.WAITLIST_OFFER, A.WAITLIST_LEAVE): waitlist.leave_here,
    (S.WAITLIST_OFFER, A.BACK): waitlist.back_to_calendar,
    (S.BOOKINGS, A.WAITLIST): waitlist.show_list,
    (S.WAITLIST, A.BACK): manage.show_bookings,
    (S.WAITLIST_SWITCH, A.YES): waitlist_tap.switch,
    (S.WAITLIST_SWITCH, A.BACK): waitlist_tap.stay,
}

# Payloads naming a booking row (old list messages, reminders, notices of changes made at the
# business) or a waiting-list entry (its notice, its list): valid in any step, owner only.
BOOKING_ACTIONS: dict[Action, TapHandler] = {
    A.OPEN_BOOKING: manage.open_booking,
    A.RESCHEDULE: manage.reschedule_below,
    A.CANCEL_BOOKING: manage.ask_cancel_below,
    A.KEEP: manage.keep_booking,
    A.BOOK_AGAIN: manage.book_again,
    A.WAITLIST_OPEN: waitlist_tap.open_freed,
    A.WAITLIST_LEAVE: waitlist.leave_entry,
}

# Steps that take typed text.
TEXT_INPUT: dict[Step, TextHandler] = {S.NAME: book.name_typed, S.EMAIL: book.email_typed}
TEXT_STEPS = frozenset(TEXT_INPUT)
TEXT_FIELDS: dict[Step, str] = {S.NAME: "name", S.EMAIL: "email"}

COMMANDS: dict[str, TextHandler] = {
    "start": menu.cmd_start,
    "book": menu.cmd_book,
    "mybookings": menu.cmd_mybookings,
    "language": menu.cmd_language,
    "help": menu.cmd_help,
    "cancel": menu.cmd_cancel,
    "privacy": privacy.cmd_privacy,
    "forget": privacy.cmd_forget,
}

# Steps of the booking funnel: reaching one is recorded (anonymously) for the statistics.
FUNNEL_STEPS = frozenset({S.LOCATION, S.SERVICE, S.DAY, S.TIME, S.NAME, S.EMAIL, S.SUMMARY})

USE_BUTTONS = Msg("Please use the buttons below.")
EDIT_IGNORED = Msg(
    "Editing an earlier message changes nothing here. Please use the buttons below, or send a "
    "new message."
)
STALE = Msg("That button is from an earlier step. Here's where we are now.")
INVALID = Msg("That button isn't valid.")
NOT_YOURS = Msg("That appointment isn't yours.")
UNKNOWN_COMMAND = Msg("I don't know that command. Type /help to see what I can do.")
UNAVAILABLE = Msg(
    "The booking system isn't answering right now. Nothing is lost: please try again in a moment."
)
BROKEN = Msg(
    "Sorry, the booking system turned down my request. The business needs to check its "
    "setup; please try again later."
)
OOPS = Msg("Sorry, something went wrong on my side. Please try again.")
CALENDAR = Msg("📅 Calendar")

# Screens that offer the booking page (Mini App) when the operator serves one: choosing a
# branch and a service, where a month of days is next.
CALENDAR_STEPS = frozenset({S.LOCATION, S.SERVICE})


def in_flight(state: ChatState) -> bool:
    """A confirm, reschedule or cancel was sent to Zimun and its answer is not known yet."""
    return state.unsettled.pending is not None or state.unsettled.changing is not None


def _settles(ctx: Ctx) -> bool:
    """The event answered a change stored as in flight: its reply tells the customer."""
    return ctx.out.saved_in_flight and not in_flight(ctx.state)


def _message_of(event: Event) -> int | None:
    """The customer's message an event answers (typed or edited text), for Ctx.message_id."""
    return event.message_id if isinstance(event, Text | Edited) else None


class Conversation:
    def __init__(
        self,
        api: ZimunClient,
        storage: Store | Storage,
        *,
        default_language: str = "en",
        now: Callable[[], datetime] = utc_now,
        reminder_offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
        rules: BookingRules | None = None,
        business: Business | None = None,
        calendar_url: str | None = None,
    ) -> None:
        self.api = api
        # The booking page's address (MINI_APP_URL): a "📅 Calendar" button opens it from the
        # branch and service screens. None: no such button.
        self.calendar_url = calendar_url
        # A synchronous Storage (a tool's, a test's) is served through SQLite's adapter.
        self.storage: Store = as_store(storage)
        # The operator's rules and words (bot/config/operator.py); `business` names the languages
        # offered and the default, so `default_language` only matters without it.
        self.rules = rules or BookingRules()
        self.business = business or Business(default_language=default_language)
        self.default_language = self.business.default_language
        self.now = now
        # Free times shared by every chat for a few seconds (bot/chat/availability.py).
        self.free_times = AvailabilityCache()
        # Every booking's row, reminders and changes go through it (bot.followup.ledger).
        self.ledger = Ledger(self.storage, offsets=reminder_offsets)
        # chat id -> an event that settled a change in flight, its reply not yet delivered
        # (`handle(until_delivered=True)`, `delivered`): written once the customer has it.
        self._undelivered: dict[int, Ctx] = {}

    @property
    def reminder_offsets(self) -> tuple[timedelta, ...]:
        return self.ledger.offsets

    @reminder_offsets.setter
    def reminder_offsets(self, offsets: Sequence[timedelta]) -> None:
        self.ledger.offsets = tuple(offsets)

    @property
    def listeners(self) -> list[Listener]:
        """Told about each booking change once committed (the ledger's listeners)."""
        return self.ledger.listeners

    # ---- public --------------------------------------------------------------------------------

    async def language_for(self, customer: Customer, last_used: str | None = None) -> str:
        """The customer's language by the one rule (Business.language): their stored choice,
        then Telegram's language or, when Telegram sends none (a confirm resumed after a
        restart), the chat's last; each only if offered, else the business's default."""
        return self._language(
            customer, await self.storage.get_language(customer.user_id), last_used
        )

    def _language(self, customer: Customer, stored: str | None, last_used: str | None) -> str:
        told = customer.language_code
        return self.business.language(stored, last_used if told is None else told)

    async def handle(
        self,
        customer: Customer,
        event: Event,
        *,
        until_delivered: bool = False,
        seed: str | None = None,
    ) -> Reply:
        """Answer one event. `until_delivered` (the adapter's way): an event that settles a
        confirm, reschedule or cancel in flight leaves it written down as in flight until
        `delivered` is called, so a process killed before the reply went out finishes it
        after the restart (same key, Zimun replays) and tells the customer then. `seed`: the
        same for each delivery of the same update (bot.core.draws), so that handling it again
        from the same state gives the same answer."""
        await self.recall()
        await self.delivered(customer.chat_id)  # a reply never reported: settle it first
        ctx, original = await self._context(customer, _message_of(event), seed)
        try:
            return await self._handle(ctx, original, event, until_delivered=until_delivered)
        finally:
            for booking_id in ctx.out.holding:
                self.ledger.release(booking_id)

    async def delivered(self, chat_id: int) -> None:
        """The reply to the chat's last event was sent, or sending it failed for good: what
        that event settled (the booking's row, the final state) is written now, and the
        listeners (the staff chat) hear of it after the customer. Nothing when nothing
        waits."""
        ctx = self._undelivered.pop(chat_id, None)
        if ctx is not None:
            await self._persist(ctx)

    async def _handle(
        self, ctx: Ctx, original: str, event: Event, *, until_delivered: bool
    ) -> Reply:
        edit = isinstance(event, Tap)
        handled = False
        try:
            if ctx.state.unsettled.orphans:
                await release_orphans(ctx)
            if ctx.state.unsettled.pending is not None:
                outcome = await finish_pending(ctx)
            elif ctx.state.unsettled.changing is not None:
                outcome = await manage.finish_change(ctx)
            else:
                outcome = await self._dispatch(ctx, event)
            detours.settle(ctx.state)
            handled = True
            reply = await self._reply(ctx, outcome, edit=edit)
        except (ApiUnavailable, RateLimited) as exc:
            log.warning("API unavailable in step %s: %s", ctx.state.nav.step, type(exc).__name__)
            reply = self._failed(ctx, original, event, UNAVAILABLE, edit=edit, handled=handled)
        except (AuthError, InvalidResponse) as exc:
            log.error("Zimun rejected the bot (step %s): %s", ctx.state.nav.step, exc)
            reply = self._failed(ctx, original, event, BROKEN, edit=edit, handled=handled)
        except Exception:
            log.exception("unexpected error in step %s", ctx.state.nav.step)
            reply = await self._recover(ctx, original, edit=edit)
        await self._persist(ctx, until_delivered=until_delivered)
        return reply

    async def resume_pending(self, *, until_delivered: bool = False) -> list[tuple[int, Reply]]:
        """Finish the confirms, reschedules and cancels a crash interrupted, with their stored
        keys (never twice), and tell each customer as if the answer had come (with
        `until_delivered`, each stays in flight until its `delivered`, as in `handle`)."""
        await self.recall()
        replies: list[tuple[int, Reply]] = []
        for row in await self.storage.pending_conversations():
            customer = Customer(user_id=row.user_id, chat_id=row.chat_id)
            ctx, _ = await self._context(customer)
            if not in_flight(ctx.state):
                continue
            try:
                if ctx.state.unsettled.pending is not None:
                    outcome = await finish_pending(ctx)
                else:
                    outcome = await manage.finish_change(ctx)
                reply = await self._reply(ctx, outcome, edit=False)
            except ZimunError as exc:
                log.warning(
                    "pending confirm of chat %s not resolved: %s", chat_tag(row.chat_id), exc
                )
                continue
            except Exception:
                log.exception("pending confirm of chat %s failed", chat_tag(row.chat_id))
                continue
            await self._persist(ctx, until_delivered=until_delivered)
            replies.append((row.chat_id, reply))
        return replies

    # ---- state ---------------------------------------------------------------------------------

    async def recall(self) -> None:
        """After a restart: the reschedules and cancels in flight when the process stopped are
        the customers' own, until finished (the ledger ignores what Zimun says of them); read
        once, before the first event (Ledger.recall)."""
        await self.ledger.recall()

    async def _context(
        self, customer: Customer, message_id: int | None = None, seed: str | None = None
    ) -> tuple[Ctx, str]:
        row, stored_language = await self.storage.conversation_and_language(
            customer.chat_id, customer.user_id
        )
        try:
            state = ChatState.loads(row.state if row else None)
        except ValueError:
            log.error(
                "chat %s: unreadable conversation state, starting over", chat_tag(customer.chat_id)
            )
            state = ChatState()
        original = state.dumps()
        state.lang = self._language(customer, stored_language, state.lang)
        now = self.now()
        out = Effects(
            state=state,
            lang=state.lang,
            at=now,
            saved=original,
            saved_in_flight=in_flight(state),
            draws=Draws(seed),
        )
        ctx = Ctx(
            api=self.api,
            storage=self.storage,
            ledger=self.ledger,
            customer=customer,
            now=now,
            out=out,
            save_now=lambda: self._save(customer, out),
            message_id=message_id,
            entry_step=state.nav.step,
            free_times=self.free_times,
            rules=self.rules,
            business=self.business,
        )
        return ctx, original

    async def _save(self, customer: Customer, out: Effects) -> None:
        dumped, pending = out.state.dumps(), in_flight(out.state)
        await self.storage.save_conversation(
            customer.chat_id, customer.user_id, dumped, pending=pending
        )
        self._saved(customer, out, dumped, pending)

    def _saved(self, customer: Customer, out: Effects, dumped: str, pending: bool) -> None:
        """What a save of the conversation means here: the state written, and the booking a
        change in flight is about (the ledger ignores what Zimun says of it meanwhile)."""
        out.saved, out.saved_in_flight = dumped, pending
        changing = out.state.unsettled.changing
        self.ledger.intend(customer.chat_id, changing.booking_id if changing else None)

    async def _persist(self, ctx: Ctx, *, until_delivered: bool = False) -> None:
        """Deferred writes, the ledger's entries, funnel events and the new state in one
        transaction; nothing when nothing changed. Listeners hear of booking changes once
        committed. An event that settles a change in flight waits for its reply's delivery
        when asked to (`handle`)."""
        if until_delivered and _settles(ctx):
            self._undelivered[ctx.customer.chat_id] = ctx
            return
        if ctx.out.forget:
            await self._forget(ctx)
            return
        self._track_step(ctx)
        dumped = ctx.state.dumps()
        changed = dumped != ctx.out.saved
        if not changed and not ctx.out.deferred and not ctx.out.entries and not ctx.out.funnel:
            return
        if not ctx.out.deferred and not ctx.out.entries:  # most updates: one round trip
            pending = in_flight(ctx.state)
            await self.storage.save_with_funnel(
                ctx.customer.chat_id,
                ctx.customer.user_id,
                dumped if changed else None,
                pending=pending,
                funnel=ctx.out.funnel,
            )
            if changed:
                self._saved(ctx.customer, ctx.out, dumped, pending)
            ctx.out.discard()
            return
        async with self.storage.batch():
            for write in ctx.out.deferred:
                await write()
            changes = [
                change
                for entry in ctx.out.entries
                if (change := await self.ledger.write(entry, now=ctx.now, language=ctx.lang))
            ]
            if ctx.out.funnel:
                await self.storage.record_funnel(ctx.out.funnel)
            if changed:
                await self._save(ctx.customer, ctx.out)
        ctx.out.discard()
        self.ledger.tell(changes)

    async def _forget(self, ctx: Ctx) -> None:
        """Delete every row about the customer; the (anonymous) funnel events stay."""
        async with self.storage.batch():
            if ctx.out.funnel:
                await self.storage.record_funnel(ctx.out.funnel)
            await self.storage.forget_user(ctx.customer.user_id, ctx.customer.chat_id)
        self.ledger.intend(ctx.customer.chat_id, None)
        ctx.out.discard()
        log.info("user %s: forgotten at their request", chat_tag(ctx.customer.user_id))

    @staticmethod
    def _track_step(ctx: Ctx) -> None:
        state = ctx.state
        if state.nav.step != ctx.entry_step and state.nav.step in FUNNEL_STEPS:
            ctx.out.track("step", step=state.nav.step.value)

    # ---- dispatch ------------------------------------------------------------------------------

    async def _dispatch(self, ctx: Ctx, event: Event) -> Outcome:
        try:
            return await self._route(ctx, event)
        except CatalogChanged as exc:  # a documented answer: the business changed its catalog
            return await book.catalog_changed(ctx, exc)

    async def _route(self, ctx: Ctx, event: Event) -> Outcome:
        match event:
            case Tap(data=data):
                return await self._tap(ctx, data)
            case Text(text=text):
                return await self._text(ctx, text)
            case Edited(text=text, message_id=message_id):
                return await self._edited(ctx, text, message_id)
            case Command(name=name, arg=arg):
                return await self._command(ctx, name, arg)
            case Look():
                return Outcome(reshow=True)
        return Outcome(note=USE_BUTTONS, reshow=True)

    async def _tap(self, ctx: Ctx, data: str) -> Outcome:
        payload = decode(data)
        if payload is None:
            log.info("chat %s: invalid payload refused", chat_tag(ctx.customer.chat_id))
            return Outcome(toast=INVALID, reshow=True)
        if payload.booking_scoped:
            return await self._guarded(ctx, BOOKING_ACTIONS.get(payload.action), payload.arg)
        if payload.scope != ctx.state.nav.nonce:
            if not detours.resumes(ctx.state, payload.scope):
                return Outcome(toast=STALE, reshow=True)
            detours.return_to_resume(ctx.state)  # a button of the screen a detour interrupted
        if payload.action == A.NOOP:
            return Outcome(show=False)
        if payload.action == A.RETRY:
            return await self._retry(ctx)
        return await self._guarded(ctx, self._handler(ctx.state.nav.step, payload), payload.arg)

    @staticmethod
    def _handler(step: Step, payload: Payload) -> TapHandler | None:
        return TRANSITIONS.get((step, payload.action)) or ANYWHERE.get(payload.action)

    async def _guarded(self, ctx: Ctx, handler: TapHandler | None, arg: int | None) -> Outcome:
        """Run a tap handler; input that does not fit the screen is refused, never acted on."""
        if handler is None:
            log.info(
                "chat %s: action not offered in step %s",
                chat_tag(ctx.customer.chat_id),
                ctx.state.nav.step,
            )
            return Outcome(toast=INVALID, reshow=True)
        try:
            return await handler(ctx, arg)
        except NotYours as exc:
            log.warning(
                "user %s refused access to booking %s", chat_tag(ctx.customer.user_id), exc.args[0]
            )
            return Outcome(toast=NOT_YOURS, reshow=True)
        except Refused as exc:
            log.info("chat %s: refused: %s", chat_tag(ctx.customer.chat_id), exc)
            return Outcome(toast=INVALID, reshow=True)

    async def _text(self, ctx: Ctx, text: str) -> Outcome:
        if ctx.state.nav.step not in TEXT_INPUT and detours.takes_text(ctx.state, TEXT_STEPS):
            detours.return_to_resume(ctx.state)  # the answer to the step a detour interrupted
        handler = TEXT_INPUT.get(ctx.state.nav.step)
        if handler is None:
            return Outcome(note=USE_BUTTONS, reshow=True)
        return await handler(ctx, text)

    async def _edited(self, ctx: Ctx, text: str, message_id: int) -> Outcome:
        """An edited message: a new name or email for the booking in progress when it is the
        message that gave them; the answer to a step that asks for text; else a word on what
        to do instead."""
        state = ctx.state
        if text.startswith("/"):  # an edited command runs nothing: edits are never commands
            return Outcome(note=EDIT_IGNORED, reshow=True)
        field = next((f for f, mid in state.draft.typed.items() if mid == message_id), None)
        if field is not None and detours.unfinished(state) and state.unsettled.pending is None:
            if TEXT_FIELDS.get(state.nav.step) == field:  # the step that asks for it: an answer
                return await self._text(ctx, text)
            return await book.edited(ctx, field, text)
        if state.nav.step in TEXT_INPUT or detours.takes_text(state, TEXT_STEPS):
            return await self._text(ctx, text)
        return Outcome(note=EDIT_IGNORED, reshow=True)

    async def _command(self, ctx: Ctx, name: str, arg: str) -> Outcome:
        handler = COMMANDS.get(name.lower().lstrip("/").split("@")[0])
        if handler is None:
            return Outcome(note=UNKNOWN_COMMAND, reshow=True)
        return await handler(ctx, arg)

    async def _retry(self, ctx: Ctx) -> Outcome:
        retry = ctx.state.unsettled.retry
        ctx.state.unsettled.retry = None
        if retry is None:
            return Outcome(toast=STALE, reshow=True)
        ctx.out.retry_key = retry.key
        if retry.kind == "text":
            return await self._text(ctx, retry.text or "")
        if retry.kind == "command":
            return await self._command(ctx, retry.action or "", retry.text or "")
        if retry.kind == "show":
            return Outcome()
        action = Action(retry.action) if retry.action in Action._value2member_map_ else None
        if action is None:
            return Outcome()
        if retry.kind == "booking":
            return await self._guarded(ctx, BOOKING_ACTIONS.get(action), retry.arg)
        return await self._guarded(
            ctx, self._handler(ctx.state.nav.step, Payload("", action)), retry.arg
        )

    # ---- replies -------------------------------------------------------------------------------

    async def _reply(self, ctx: Ctx, outcome: Outcome, *, edit: bool) -> Reply:
        if not outcome.show:
            return Reply(language=ctx.lang, toast=outcome.toast)
        if not outcome.reshow or not ctx.state.nav.nonce:
            ctx.state.nav.nonce = ctx.out.draws.nonce()
            ctx.state.unsettled.retry = None
        note = outcome.note
        if outcome.toast is not None and not edit and note is None:
            note = outcome.toast  # no callback query to answer: say it in the message
        lead = [note, *outcome.lead] if note is not None else list(outcome.lead)
        screen = await render(
            ctx, lead=lead, edit=edit and not outcome.new_message, attachment=outcome.attachment
        )
        if self.calendar_url and ctx.state.nav.step in CALENDAR_STEPS:
            page = (Button(CALENDAR, "", web_app=self.calendar_url),)
            screen = replace(screen, buttons=(page, *screen.buttons))
        return Reply(
            language=ctx.lang,
            screens=(screen,),
            toast=outcome.toast,
            keep_tapped=outcome.keep_tapped,
        )

    def _failed(
        self, ctx: Ctx, original: str, event: Event, message: Msg, *, edit: bool, handled: bool
    ) -> Reply:
        """The API did not answer: keep the state as it was, offer Retry of the same input."""
        if not handled and not in_flight(ctx.state):
            orphans = ctx.state.unsettled.orphans
            ctx.out.state = ChatState.loads(original)
            ctx.state.unsettled.orphans = orphans
            ctx.out.funnel.clear()  # the steps this event took are undone
        ctx.state.unsettled.retry = self._retry_of(
            event, handled=handled, pending=in_flight(ctx.state)
        )
        if ctx.state.unsettled.retry is not None:
            ctx.state.unsettled.retry.key = ctx.out.last_key
        ctx.state.nav.nonce = ctx.out.draws.nonce()
        body = (
            (message, *contact_lines(ctx.business, ctx.lang)) if message is BROKEN else (message,)
        )
        buttons = (
            (
                Button(Msg("🔄 Try again"), button_data(ctx.state.nav.nonce, A.RETRY)),
                Button(Msg("Exit"), button_data(ctx.state.nav.nonce, A.CANCEL)),
            ),
        )
        return Reply(ctx.lang, screens=(Screen(body=body, buttons=buttons, edit=edit),))

    @staticmethod
    def _retry_of(event: Event, *, handled: bool, pending: bool) -> Retry | None:
        if handled or pending:
            return Retry(kind="show")
        match event:
            case Text(text=text) | Edited(text=text):
                return Retry(kind="text", text=text)
            case Command(name=name, arg=arg):
                return Retry(kind="command", action=name, text=arg)
            case Tap(data=data):
                payload = decode(data)
                if payload is None or payload.action == A.RETRY:
                    return Retry(kind="show")
                kind = "booking" if payload.booking_scoped else "tap"
                return Retry(kind=kind, action=payload.action.value, arg=payload.arg)
        return Retry(kind="show")

    async def _recover(self, ctx: Ctx, original: str, *, edit: bool) -> Reply:
        """After an unexpected error: the previous state if it still renders, else the menu."""
        if not in_flight(ctx.state):
            ctx.out.state = ChatState.loads(original)
        ctx.out.discard()
        ctx.out.forget = False
        try:
            return await self._reply(ctx, Outcome(note=OOPS, reshow=True), edit=edit)
        except Exception:
            log.exception(
                "chat %s: state does not render, back to the menu", chat_tag(ctx.customer.chat_id)
            )
            ctx.out.state = ChatState()
            return await self._reply(ctx, Outcome(note=OOPS), edit=edit)
