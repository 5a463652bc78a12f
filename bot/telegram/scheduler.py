"""The one scheduler of the bot's background work, on python-telegram-bot's JobQueue.

- the reminder scan every 30 s;
- the reconcile scan every 30 s (the cadence's scan_every: its promises count on it), then the
  notices it queued;
- the waiting list's look every 30 s (its cadence's scan_every), then the telling; it also runs
  when the waiting list is off (no calls are made then), so entries left from before end with
  their day;
- housekeeping every hour.

The work itself is the follow-up's (bot.followup.services: Telegram-free, periodic reads of
SQLite, so a restart loses nothing); this module only runs it on time and gives it
`send_unprompted`, the way a message the customer did not ask for reaches the chat. A first
run at start-up catches up with what fell due while the bot was down; it is a task started by
the Application's start-up (`Scheduler.start`), not a JobQueue job with `first=0`: a job added
before the scheduler runs gets its first run one interval late.

With several processes sharing a store, `gate` (bot.telegram.cluster.JobsGate) lets only the
holder of the jobs role run the scans and the catch-up: a job in any other process is a try to
take the role (so it moves within one interval of the holder's death) and nothing more.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes

from bot.config.chat_tag import chat_tag
from bot.core.screens import Reply
from bot.followup.outbox import Send
from bot.followup.reconcile import CheckResult
from bot.followup.reminders import ScanResult
from bot.followup.services import FollowUp
from bot.followup.waitlist_watch import LookResult
from bot.telegram.delivery import deliver, deliver_file

log = logging.getLogger(__name__)

REMINDER_SCAN_SECONDS = 30.0
RECONCILE_SCAN_SECONDS = 30.0  # the cadence's scan_every: its promises count on it
WAITLIST_SCAN_SECONDS = 30.0  # the waiting list cadence's scan_every: its promises count on it
HOUSEKEEPING_SECONDS = 3600.0
SCHEDULER_KEY = "scheduler"  # app.bot_data key of the Scheduler


async def send_unprompted(bot: Bot, chat_id: int, reply: Reply) -> bool:
    """Deliver a message the customer did not ask for just now (a reminder, a notice, the
    waiting list's news); False only when it certainly did not arrive (retry it later).
    Attachments (a calendar file) follow the text best effort: once the text is out, a lost
    file is not worth sending the text twice."""
    text = replace(reply, screens=tuple(replace(s, attachment=None) for s in reply.screens))
    try:
        await deliver(bot, chat_id, text)
    except RetryAfter:
        return False  # flood limit after the rate limiter's own retries: refused, not sent
    except TimedOut:
        log.warning(
            "message to chat %s timed out; not resent (it may have arrived)", chat_tag(chat_id)
        )
        return True
    except BadRequest as exc:
        log.info("message to chat %s refused: %s", chat_tag(chat_id), exc.message)
        return True  # the chat is gone: final
    except NetworkError:
        return False  # connection refused or reset before an answer
    except Forbidden:
        log.info("message to chat %s refused: the customer blocked the bot", chat_tag(chat_id))
        return True
    for screen in reply.screens:
        if screen.attachment is not None:
            await deliver_file(bot, chat_id, screen.attachment)
    return True


def _scheduler(app: Application) -> Scheduler:
    scheduler: Scheduler = app.bot_data[SCHEDULER_KEY]
    return scheduler


async def scan_reminders(app: Application) -> ScanResult:
    """One reminder scan now (what the job runs; tests call it after moving the clock)."""
    scheduler = _scheduler(app)
    return await scheduler.followup.remind(scheduler.send)


async def reconcile_now(app: Application) -> CheckResult:
    """One reconcile scan now, then the notices it queued (what the job runs; tests call it
    after moving the clock)."""
    scheduler = _scheduler(app)
    return await scheduler.followup.reconcile(scheduler.send)


async def watch_now(app: Application) -> LookResult:
    """One look at the waiting list's due pairs, then the telling (what the job runs; tests
    call it after moving the clock)."""
    scheduler = _scheduler(app)
    return await scheduler.followup.watch_and_tell(scheduler.send)


Gate = Callable[[], Awaitable[bool]]


def _job(
    what: str, run: Callable[[Application], Awaitable[object]], gate: Gate | None = None
) -> Callable[..., Awaitable[None]]:
    async def job(context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            if gate is not None and not await gate():
                return  # another process runs the scans
            await run(context.application)
        except Exception:
            log.exception("%s failed; the next one tries again", what)

    return job


async def _housekeeping(app: Application) -> int:
    return await _scheduler(app).followup.housekeeping()


class Scheduler:
    """The periodic jobs, the catch-up run at start-up and the notices sent as soon as a
    change at the business is committed. An interval of None disables a job (and its part of
    the catch-up); reminders are also off when REMINDER_OFFSETS is empty, reconciling when its
    budget is 0 calls a minute. Notices and the waiting list's news are always sent."""

    def __init__(
        self,
        app: Application,
        followup: FollowUp,
        *,
        reminder_interval: float | None = REMINDER_SCAN_SECONDS,
        reconcile_interval: float | None = RECONCILE_SCAN_SECONDS,
        waitlist_interval: float | None = WAITLIST_SCAN_SECONDS,
        housekeeping_interval: float | None = HOUSEKEEPING_SECONDS,
        own_jobs: bool = True,
        gate: Gate | None = None,
    ) -> None:
        """`own_jobs=False`: the periodic jobs are not put on this Application's JobQueue;
        one `SharedScheduler` runs them for every business of the process (`wanted` says
        which)."""
        self.app = app
        self.followup = followup
        self.gate = gate
        self.reminders = reminder_interval is not None and bool(followup.reminders.offsets)
        self.housekeeping = housekeeping_interval is not None
        self._catch_up: asyncio.Task[None] | None = None
        app.bot_data[SCHEDULER_KEY] = self
        reconciling = followup.reconciler.budget.per_minute > 0
        jobs = (
            ("reminders", "reminder scan", scan_reminders, reminder_interval, self.reminders),
            ("reconcile", "reconcile scan", reconcile_now, reconcile_interval, reconciling),
            ("waitlist", "waiting list scan", watch_now, waitlist_interval, True),
            ("housekeeping", "housekeeping", _housekeeping, housekeeping_interval, True),
        )
        self.wanted = frozenset(
            name for name, _, _, interval, wanted in jobs if interval is not None and wanted
        )
        if not own_jobs:
            return
        queue = app.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        for name, what, run, interval, wanted in jobs:
            if interval is not None and wanted:
                queue.run_repeating(
                    _job(what, run, gate), interval=interval, first=interval, name=name
                )

    @property
    def send(self) -> Send:
        bot = self.app.bot
        return lambda chat_id, reply: send_unprompted(bot, chat_id, reply)

    def listen(self) -> None:
        """Tell each change made at the business as soon as the ledger commits it."""
        self.followup.attach(self.send)

    def start(self) -> None:
        """At start-up: catch up in the background."""
        self._catch_up = asyncio.get_running_loop().create_task(self._catch_up_if_owner())

    async def _catch_up_if_owner(self) -> None:
        try:
            if self.gate is not None and not await self.gate():
                return  # the jobs' owner catches up; this process takes over if it dies
        except Exception:
            log.exception("cannot try the jobs' role; the next scan tries again")
            return
        await self.followup.catch_up(
            self.send, housekeeping=self.housekeeping, reminders=self.reminders
        )

    async def idle(self) -> None:
        """Wait until the catch-up and the notices on their way are sent."""
        if self._catch_up is not None:
            await asyncio.gather(self._catch_up, return_exceptions=True)
        await self.followup.idle()

    async def stop(self) -> None:
        """Stop listening, and let the catch-up and the notices on their way finish (a
        message is never cut off half-sent)."""
        self.followup.detach()
        await self.idle()
        self._catch_up = None


# ---- one scheduler for many businesses ------------------------------------------------------

JOBS: dict[str, tuple[str, Callable[[Application], Awaitable[object]]]] = {
    "reminders": ("reminder scan", scan_reminders),
    "reconcile": ("reconcile scan", reconcile_now),
    "waitlist": ("waiting list scan", watch_now),
    "housekeeping": ("housekeeping", _housekeeping),
}
SHARED_CONCURRENCY = 20  # businesses whose scans run at once


class SharedScheduler:
    """The periodic jobs of every business of the process from one loop per job, instead of
    a JobQueue (an APScheduler with its own jobs) per business: every `interval` seconds the
    job runs for each serving business that wants it (`Scheduler.wanted`),
    `concurrency` businesses at a time, each on its own follow-up (its own budgets of Zimun
    calls). A business's failure is logged with its id and does not stop the others."""

    def __init__(
        self,
        apps: Callable[[], Iterable[tuple[str, Application, contextvars.Context | None]]],
        *,
        intervals: Mapping[str, float | None] | None = None,
        concurrency: int = SHARED_CONCURRENCY,
    ) -> None:
        self._apps = apps
        self._intervals = (
            dict(intervals)
            if intervals is not None
            else {
                "reminders": REMINDER_SCAN_SECONDS,
                "reconcile": RECONCILE_SCAN_SECONDS,
                "waitlist": WAITLIST_SCAN_SECONDS,
                "housekeeping": HOUSEKEEPING_SECONDS,
            }
        )
        self._limit = asyncio.Semaphore(concurrency)

    async def run_once(self, name: str) -> int:
        """Run job `name` now for every serving business that wants it; returns how many."""
        what, job = JOBS[name]
        chosen = [
            (business_id, app, context)
            for business_id, app, context in self._apps()
            if name in getattr(app.bot_data.get(SCHEDULER_KEY), "wanted", ())
        ]

        async def one(
            business_id: str, app: Application, context: contextvars.Context | None
        ) -> None:
            async with self._limit:
                try:  # in the business's own context: its words
                    gate = getattr(app.bot_data.get(SCHEDULER_KEY), "gate", None)
                    if gate is not None and not await gate():
                        return  # another process holds this business's jobs
                    await asyncio.get_running_loop().create_task(job(app), context=context)
                except Exception:
                    log.exception(
                        "%s of business %s failed; the next one tries again", what, business_id
                    )

        await asyncio.gather(*(one(b, app, context) for b, app, context in chosen))
        return len(chosen)

    async def run(self) -> None:
        """Every job on its interval, until cancelled."""
        loops = [
            self._every(name, interval)
            for name, interval in self._intervals.items()
            if interval is not None
        ]
        await asyncio.gather(*loops)

    async def _every(self, name: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.run_once(name)
