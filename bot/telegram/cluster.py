"""Several processes, one bot (issue 20): the adapter's part of coordinating through the store
(bot.store.contract.Coordination). Used only when the store is shared by processes
(DATABASE_URL); with SQLite the process is the bot and nothing here is in the way.

- An update is handled once, and a process's death loses none: whoever receives it (the
  webhook of any process behind the load balancer, or the one poller) queues it; in the
  update's turn (`update_turn`) it is dropped if the turn says another process handled it
  already, else handled and then recorded as the turn ends. The webhook answers Telegram
  only once its update was handled (`Handled`, at most HANDLED_WAIT seconds), so an update
  whose process was killed before it finished was never acknowledged: Telegram sends it
  again, and another process handles it. A second delivery of a handled update (Telegram's
  retry, a load balancer's retry) waits for its turn, sees it recorded and is acknowledged
  without being handled.
- One update of a chat at a time across processes, in order: `TurnAdmission` runs each update
  inside its chat's turn (`update_turn`), itself inside the process's own lane
  (bot.telegram.ordering), so a process asks the database for a chat at most once at a time;
  when two processes ask for a chat's updates at the same moment, the lower update id goes
  first (bot.store.pg_locks).
- One poller per bot: `OwnedPoller` polls only while it holds `ownership("poll:<business>")`,
  tries every RETRY_SECONDS otherwise (a dead owner's session ends with it, so another takes
  over within seconds), and goes on from the offset stored after each batch. A batch is
  confirmed to Telegram (the next getUpdates' offset) once handled, or, for what is not
  handled after KEEP_AFTER, once kept in the store (`keep_updates`): a chat's slow update
  does not hold the other chats' next updates back, and a new poller takes what the last one
  kept before it polls (their turns drop those handled meanwhile).
- One runner of the background scans: `JobsGate` says whether this process holds
  `ownership("jobs:<business>")` now (the claims use SKIP LOCKED besides, so a killed
  sender's work is taken up again and nobody is told twice).
- A 429 is honoured by every process: `SharedPauses` writes Telegram's retry_after to the
  store and reads the others' (cached a second per process).

What a SIGKILL can still cost: in webhook mode nothing (its unanswered updates come again);
in polling mode nothing either (what it fetched is confirmed only once handled or kept). An
update killed mid-handling is handled again from its start by the next process: one whose
handling had told the customer something may tell it again (the conversation's own state
guards a booking: never twice). Its last writes go in with its record (bot.store.pg_scripts),
so it is handled again from the state it found, and gives the same answer (its button code
and keys come from the update: bot.core.draws).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.store.contract import Ownership, Store, UpdateTurn
from bot.telegram.flood import ChatKey, Pauses
from bot.telegram.ordering import Admission, lane_key
from bot.telegram.shared_budget import SharedFairQueue

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_SECONDS = 3.0  # how often a process not polling tries to become the poller (< 15 s)
CHECK_SECONDS = 3.0  # how often the poller checks it still holds its role
ERROR_PAUSE = 1.0  # seconds after a failed getUpdates before the next
HANDLED_WAIT = 50.0  # seconds a webhook request waits for its update's handling at most
# Seconds the poller waits for a batch's handling before it keeps what is left of it in the
# store and polls on: most updates are handled sooner (nothing kept, no write); one waiting for
# a slow Zimun call holds the other chats' next updates back this long at most.
KEEP_AFTER = 0.02


def retry_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def bot_key(token: str) -> str:
    """The bot's id (the token's part before ':'): names its offset and pauses, never the
    secret part."""
    return token.split(":", 1)[0]


class Handled:
    """The webhook requests waiting for their update to be handled (see the module): the
    request registers its update before queueing it, the update's turn says when it is done
    (True) or could not be taken (False: the database could not say; Telegram must retry)."""

    def __init__(self) -> None:
        self._waiting: dict[int, asyncio.Future[bool]] = {}

    def expect(self, update_id: int) -> asyncio.Future[bool]:
        waiter = self._waiting.get(update_id)
        if waiter is None:
            waiter = self._waiting[update_id] = asyncio.get_running_loop().create_future()
        return waiter

    def forget(self, update_id: int) -> None:
        self._waiting.pop(update_id, None)

    def done(self, update_id: int, taken: bool) -> None:
        waiter = self._waiting.pop(update_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(taken)


class TurnAdmission:
    """An Admission (bot.telegram.ordering) that runs each update in its chat's turn across
    processes, after the `inner` admission (the per-chat budget) has let it in, once across
    processes (see the module), telling `handled` when it is done."""

    def __init__(
        self,
        store: Store,
        inner: Admission | None = None,
        handled: Handled | None = None,
        *,
        polled: bool = False,
    ) -> None:
        self._store = store
        self._inner = inner
        self._handled = handled if handled is not None else Handled()
        self._polled = polled  # from the one poller: in order, kept until handled

    def admit(self, update: object, work: Awaitable[Any]) -> Awaitable[Any] | None:
        admitted = work if self._inner is None else self._inner.admit(update, work)
        if not isinstance(update, Update):
            return admitted
        if admitted is None:  # dropped by the budget: answered, nothing to record
            self._handled.done(update.update_id, True)
            return None
        user = update.effective_user
        user_id = user.id if user is not None else None
        return self._once(update.update_id, lane_key(update), admitted, user_id)

    def after(
        self, in_lane: Callable[[int, Awaitable[T]], Awaitable[T]]
    ) -> Callable[[int, Awaitable[T]], Awaitable[T]]:
        """`in_lane` (the process's order of a chat's events), then the chat's turn across
        processes: how the booking page's requests take their turn with the chat's updates."""
        return lambda chat_id, work: in_lane(chat_id, self.in_turn(chat_id, work))

    async def in_turn(self, chat_id: int, work: Awaitable[T]) -> T:
        """`work` in the chat's turn across processes (the booking page's requests too)."""
        started = False
        try:
            async with self._store.chat_turn(chat_id):
                started = True
                return await work
        finally:
            if not started and asyncio.iscoroutine(work):
                work.close()  # given up while waiting: never "was never awaited"

    async def _once(
        self, update_id: int, chat_id: int | None, work: Awaitable[Any], user_id: int | None = None
    ) -> Any:
        """`work` in its chat's turn unless another process handled the update already; then
        recorded as handled. Whoever waits for the update (Handled) is told in any case. The
        turn is told the update's user: it reads the chat's conversation and the user's
        language with the turn (what the handling reads first; bot.store.postgres)."""
        taken = False
        try:
            if chat_id is None:  # no chat, no turn (no such update is ever sent to the bot)
                turn = UpdateTurn(await self._store.delivered(update_id))
                taken, result = await self._handle_once(update_id, turn, work)
                if turn.record:
                    await self._record(update_id)
                return result
            turning = self._store.update_turn(chat_id, update_id, user_id, polled=self._polled)
            async with turning as turn:
                taken, result = await self._handle_once(update_id, turn, work)
                return result
        finally:
            if not taken and asyncio.iscoroutine(work):
                work.close()  # never started: never "was never awaited"
            self._handled.done(update_id, taken)

    @staticmethod
    async def _handle_once(
        update_id: int, turn: UpdateTurn, work: Awaitable[Any]
    ) -> tuple[bool, Any]:
        """(True, the work's result), or (True, None) for an update handled before; the turn
        told to record it once the work ran (failed or not; not when cancelled: stopped
        mid-way, a redelivery handles it again)."""
        if turn.delivered:
            if asyncio.iscoroutine(work):
                work.close()
            log.info("update %s was handled before (a second delivery); dropped", update_id)
            return True, None
        try:
            result = await work
        except asyncio.CancelledError:
            raise
        except Exception:
            turn.handled()
            raise
        turn.handled()
        return True, result

    async def _record(self, update_id: int) -> None:
        try:
            await self._store.first_delivery(update_id)
        except Exception as exc:  # handled all the same: acknowledged, not handled again here
            log.warning("update %s handled but not recorded: %s", update_id, type(exc).__name__)


async def take_and_wait(app: Application, handled: Handled, update: Update) -> None:
    """Queue `update` and wait until it was handled, here or (found recorded) by another
    process, at most HANDLED_WAIT seconds (then the answer goes anyway: Telegram would
    otherwise give up on the request and send the update again while it is being handled).
    Raises when it could not be taken (the webhook answers 503: Telegram sends it again)."""
    waiter = handled.expect(update.update_id)
    await app.update_queue.put(update)
    try:
        taken = await asyncio.wait_for(asyncio.shield(waiter), HANDLED_WAIT)
    except TimeoutError:
        handled.forget(update.update_id)
        log.warning("update %s not handled within %.0f s; answered", update.update_id,
                    HANDLED_WAIT)  # fmt: skip
        return
    if not taken:
        raise RuntimeError("the update could not be taken")


class JobsGate:
    """Whether this process runs the background scans now: it holds the role, checked (or
    tried) once per call. A scan's interval is the retry: another process takes over at its
    next scan after the owner died."""

    def __init__(self, store: Store, business: str) -> None:
        self.role: Ownership = store.ownership(f"jobs:{business}")

    async def __call__(self) -> bool:
        return await self.role.try_acquire()


class SharedPauses(Pauses):
    """Telegram's 429 pauses, shared by every process of the bot through the store: a pause
    taken here is written for the others (in the background: the request's retry does not
    wait for it), and a pause another process took is waited for here."""

    def __init__(self, store: Store, bot: str) -> None:
        super().__init__()
        self._store = store
        self._bot = bot
        self._writing: set[asyncio.Task[None]] = set()

    def _key(self, cause: ChatKey) -> str:
        return f"{self._bot}:{cause}"

    def pause(self, cause: ChatKey, seconds: float) -> None:
        super().pause(cause, seconds)
        task = asyncio.get_running_loop().create_task(self._hold(cause, seconds))
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def _hold(self, cause: ChatKey, seconds: float) -> None:
        try:
            await self._store.hold_flood(self._key(cause), seconds)
        except Exception as exc:  # the local pause holds anyway
            log.warning("could not share a flood pause: %s", type(exc).__name__)

    async def wait(self, cause: ChatKey) -> None:
        while True:
            await super().wait(cause)
            try:
                shared = await self._store.flood_wait(self._key(cause))
            except Exception as exc:  # the database is away: the local pauses still hold
                log.warning("could not read the shared flood pause: %s", type(exc).__name__)
                return
            if shared <= 0:
                return
            await asyncio.sleep(shared)


class PollShare:
    """The process's fair share of the polling roles of its bots (BUSINESSES_FILE): at most
    ceil(bots / processes) at a time, so the polling of many bots spreads over the processes
    instead of staying with whichever started first. A process over its share (another one
    joined) hands one role over per check; one under it tries for more."""

    def __init__(self, store: Store, bots: Callable[[], int]) -> None:
        self._store = store
        self._bots = bots
        self.held = 0
        self._quota = 1 << 30
        self._read_at = -float("inf")

    async def quota(self) -> int:
        loop = asyncio.get_running_loop()
        if loop.time() - self._read_at >= CHECK_SECONDS:
            self._read_at = loop.time()
            try:
                peers = await self._store.peers()
            except Exception as exc:  # keep the last quota
                log.warning("polling: cannot count the processes: %s", type(exc).__name__)
                return self._quota
            self._quota = max(1, math.ceil(max(self._bots(), 1) / peers))
        return self._quota

    async def may_take(self) -> bool:
        return self.held < await self.quota()

    async def must_give(self) -> bool:
        """True for one poller at a time while the process holds more than its share (the
        count drops at once, so its other pollers keep theirs)."""
        if self.held > await self.quota():
            self.held -= 1
            return True
        return False


class OwnedPoller:
    """getUpdates for one bot, only while this process holds `poll:<business>` (see the
    module). Updates go to the Application's queue as python-telegram-bot's own poller puts
    them; the offset is stored after each batch (once handled, in a cluster), so the next owner
    starts after it."""

    def __init__(
        self,
        app: Application,
        store: Store,
        *,
        business: str,
        bot: str,
        allowed_updates: Sequence[str],
        long_poll: int = 10,
        retry: float = RETRY_SECONDS,
        share: PollShare | None = None,
        handled: Handled | None = None,
    ) -> None:
        self._app = app
        self._share = share
        # With `handled` (the Application's TurnAdmission tells it), a batch is confirmed to
        # Telegram (the next getUpdates' offset) only once its updates were handled: a process
        # killed mid-batch leaves the rest to the next poller instead of losing it.
        self._handled = handled
        self._counted = False  # this poller's role is in share.held
        self._checked_at = 0.0
        self._offset = 0  # the offset to confirm next (what the last batch taken reached)
        self._stored: tuple[int, float] = (0, -float("inf"))  # offset stored, and when
        self._store = store
        self._bot = bot
        self._allowed = list(allowed_updates)
        self._long_poll = long_poll
        self._retry = retry
        self.role: Ownership = store.ownership(f"poll:{business}")
        self._stopping = asyncio.Event()
        self._waiting: set[asyncio.Task[bool]] = set()  # updates' handling, waited for
        self._keeps = True  # the store keeps updates (keep_updates: not SQLite's)
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # getUpdates answered while owner (tests, bench)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop polling and hand the role over at once (a rolling restart's new process
        takes it at its next try)."""
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for waiting in list(self._waiting):  # kept: handled here or by the next poller
            waiting.cancel()
        if self.role.held:  # where the next poller goes on (stored at most every few seconds)
            with contextlib.suppress(Exception):
                await self._store_offset(self._offset, now=True)
        self._uncount()
        await self.role.release()

    def _count(self) -> None:
        if self._share is not None and not self._counted:
            self._share.held += 1
            self._counted = True

    def _uncount(self) -> None:
        if self._share is not None and self._counted:
            self._share.held -= 1
        self._counted = False

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _run(self) -> None:
        told = False
        while not self._stopping.is_set():
            try:
                if self._share is not None and not self.role.held:
                    owner = await self._share.may_take() and await self.role.try_acquire()
                else:
                    owner = await self.role.try_acquire()
            except Exception:
                log.exception("cannot try the polling role; trying again")
                owner = False
            if not owner:
                if not told:
                    log.info("polling: another process polls this bot; trying every %.0f s",
                             self._retry)  # fmt: skip
                    told = True
                await self._pause(self._retry)
                continue
            told = False
            self._count()
            log.info("polling: this process is the bot's poller")
            try:
                gave = await self._poll_while_owner()
            except Exception:
                log.exception("polling failed; trying again")
                await self._pause(ERROR_PAUSE)
                continue
            if not self.role.held:
                self._uncount()
            if gave:  # leave the role to a process under its share for a while
                await self._pause(self._retry * 2)

    async def _still_owner(self) -> bool | None:
        """The check every CHECK_SECONDS, even during a long poll: None to go on polling,
        False when the role was lost, True when it was handed over (over the share)."""
        if not await self.role.try_acquire():
            log.warning("polling: lost the poller's role; another process polls now")
            return False
        if self._share is not None and await self._share.must_give():
            self._counted = False  # must_give took it off the count
            await self.role.release()
            log.info("polling: handed this bot over (this process polls more than its share)")
            return True
        return None

    async def _get_updates(self, offset: int) -> list[Update] | bool:
        """One long poll, checked every CHECK_SECONDS while it waits (a fleet's long poll
        lasts 50 s): its updates, or the check's verdict, the poll given up."""
        poll = asyncio.ensure_future(
            self._app.bot.get_updates(
                offset=offset or None,
                timeout=self._long_poll,
                allowed_updates=self._allowed,
                read_timeout=self._long_poll + 5,
            )
        )
        try:
            while True:
                done, _ = await asyncio.wait({poll}, timeout=CHECK_SECONDS)
                if done:
                    return list(poll.result())
                verdict = await self._still_owner()
                if verdict is not None:
                    return verdict  # what it fetched, unconfirmed, goes to the next poller
        finally:
            if not poll.done():
                poll.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await poll

    async def _poll_while_owner(self) -> bool:
        """Poll until the role is lost (False) or handed over (True), or the stop."""
        await self._app.bot.delete_webhook()  # getUpdates is refused while one is set
        offset = await self._store.poll_offset(self._bot)
        await self._take_kept()
        while not self._stopping.is_set():
            try:
                fetched = await self._get_updates(offset)
            except Conflict:  # the last owner's getUpdates is still open at Telegram
                await self._pause(ERROR_PAUSE)
                continue
            except RetryAfter as exc:
                await self._pause(retry_seconds(exc))
                continue
            except (TimedOut, NetworkError):
                await self._pause(ERROR_PAUSE)
                continue
            if isinstance(fetched, bool):
                return fetched
            self.batches += 1
            if fetched:
                offset = self._offset = await self._take(fetched)
                taken = offset > fetched[-1].update_id
                await self._store_offset(offset, now=not taken)
                if not taken:  # the store could not take it: not at once
                    await self._pause(ERROR_PAUSE)
            verdict = await self._still_owner() if self._checked_long_ago() else None
            if verdict is not None:
                await self._store_offset(offset, now=True)
                return verdict
        await self._store_offset(offset, now=True)
        return False

    async def _store_offset(self, offset: int, *, now: bool) -> None:
        """Store the offset for the next poller at most every CHECK_SECONDS (and when told:
        the role given up, a batch not taken): a write per batch would be a round trip per
        update for a bot answering one customer. A stale stored offset costs nothing but
        looks: Telegram forgets the updates each getUpdates confirmed, and a next poller that
        fetches a handled one finds it recorded and drops it."""
        stored, at = self._stored
        clock = asyncio.get_running_loop().time()
        if offset <= stored or (not now and clock - at < CHECK_SECONDS):
            return
        await self._store.set_poll_offset(self._bot, offset)
        self._stored = (offset, clock)

    async def _take_kept(self) -> None:
        """The updates the last poller kept and did not see handled (it died, or handed the
        role over mid-batch), queued before polling: their turns drop those handled since."""
        if self._handled is None:
            return
        updates = [
            Update.de_json(json.loads(body), self._app.bot)
            for body in await self._store.kept_updates()
        ]
        if updates:
            log.info("polling: %d updates kept by the last poller, taken first", len(updates))
            for update in updates:
                if update is not None:
                    self._start(update)

    def _start(self, update: Update) -> asyncio.Task[bool]:
        """`update` queued, its handling waited for in a task of its own (cancelled by
        `stop`: what is kept is handled by the next poller, what is not comes again)."""
        task = asyncio.get_running_loop().create_task(self._one(update))
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)
        return task

    async def _one(self, update: Update) -> bool:
        """`update` queued and waited for (take_and_wait); False if it could not be taken
        (kept, the next poller takes it again; not kept, Telegram sends it again)."""
        assert self._handled is not None
        try:
            await take_and_wait(self._app, self._handled, update)
        except Exception:
            log.warning("polling: update %s not taken; it comes again", update.update_id)
            return False
        return True

    async def _take(self, fetched: list[Update]) -> int:
        """Queue the batch (each update taken once, in its turn: TurnAdmission) and return the
        offset to confirm once it was handled: past the whole batch, or up to the first update
        that could not be taken (Telegram sends it, and what follows, again; those already
        handled are found recorded and dropped). What is not handled after KEEP_AFTER is kept
        in the store instead, and the batch confirmed at once: a slow update of one chat does
        not hold the next getUpdates back (the next poller takes what is kept)."""
        if self._handled is None:
            for update in fetched:
                await self._app.update_queue.put(update)
            return fetched[-1].update_id + 1
        taking = [self._start(update) for update in fetched]  # handled from now
        await asyncio.wait(taking, timeout=KEEP_AFTER)
        failed = any(task.done() and not task.result() for task in taking)
        slow = [update for update, task in zip(fetched, taking, strict=True) if not task.done()]
        if slow and not failed and await self._kept(slow):
            return fetched[-1].update_id + 1
        outcomes = await asyncio.gather(*taking)
        for update, outcome in zip(fetched, outcomes, strict=True):
            if not outcome:  # asked for again (and what follows)
                return update.update_id
        return fetched[-1].update_id + 1

    async def _kept(self, fetched: list[Update]) -> bool:
        """`fetched` kept in the store until handled (one round trip, beside their handling):
        then the next getUpdates may confirm them at once. False when the store keeps nothing
        (SQLite) or could not keep them: the batch is confirmed once handled (`_take`)."""
        if not self._keeps:
            return False
        rows = [(update.update_id, json.dumps(update.to_dict())) for update in fetched]
        try:
            self._keeps = await self._store.keep_updates(rows)
        except Exception as exc:
            log.warning("polling: cannot keep a batch (%s); confirming it once handled",
                        type(exc).__name__)  # fmt: skip
            return False
        return self._keeps

    def _checked_long_ago(self) -> bool:
        """Between polls that return at once (a busy bot), a check every CHECK_SECONDS."""
        now = asyncio.get_running_loop().time()
        if now - self._checked_at < CHECK_SECONDS:
            return False
        self._checked_at = now
        return True


@dataclass(frozen=True)
class Cluster:
    """One bot's coordination with its other processes: given to build_application, polling
    and serve_webhook when the store is shared (DATABASE_URL); None keeps one process's ways."""

    store: Store
    business: str
    bot: str  # bot_key(token)
    share: PollShare | None = None  # the process's share of its bots' polling (BUSINESSES_FILE)
    handled: Handled = field(default_factory=Handled)  # webhook requests awaiting their update
    # Polled (no webhook): one poller fetches the bot's updates, in Telegram's order, so no
    # update of a chat can reach another process before a lower one (none gives way).
    polled: bool = False

    def admission(self, inner: Admission | None) -> TurnAdmission:
        return TurnAdmission(self.store, inner, self.handled, polled=self.polled)

    def pauses(self) -> SharedPauses:
        return SharedPauses(self.store, self.bot)

    def send_queue(self) -> SharedFairQueue:
        """The overall 30 messages a second, shared with the bot's other processes."""
        return SharedFairQueue(self.store, self.bot)

    def jobs_gate(self) -> JobsGate:
        return JobsGate(self.store, self.business)

    async def take(self, app: Application, update: Update) -> None:
        """The webhook's: queue `update`, return once it was handled (see take_and_wait)."""
        await take_and_wait(app, self.handled, update)

    def poller(
        self, app: Application, allowed_updates: Sequence[str], long_poll: int = 10
    ) -> OwnedPoller:
        return OwnedPoller(
            app,
            self.store,
            business=self.business,
            bot=self.bot,
            allowed_updates=allowed_updates,
            long_poll=long_poll,
            share=self.share,
            handled=self.handled,
        )
