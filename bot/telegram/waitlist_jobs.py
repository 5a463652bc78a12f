"""The waiting list on python-telegram-bot's JobQueue: a look every 30 s, then the telling.

One periodic job reads SQLite for the (service, branch) pairs whose look is due (bot.waitlist_
watch), so a restart loses nothing: the schedule and the customers chosen but not told yet are
rows. At start-up the customers chosen before a stop or a crash are told at once (a task of the
Application's start-up, as bot.telegram.jobs does for notices); looking resumes with the first
scan, one interval in. The job also runs when the waiting list is off (no calls are made then)
so entries left from before end with their day.
"""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import Application, ContextTypes

from bot.followup.outbox import Tally
from bot.followup.waitlist_watch import LookResult, WaitlistWatch
from bot.telegram.jobs import send_unprompted

log = logging.getLogger(__name__)

WAITLIST_SCAN_SECONDS = 30.0  # the waiting list cadence's scan_every: its promises count on it
WAITLIST_KEY = "waitlist"  # app.bot_data key of the WaitlistWatch
WAITLIST_JOBS_KEY = "waitlist_jobs"  # ... of the WaitlistJobs itself


async def tell_waitlist(app: Application) -> Tally:
    """Tell the customers chosen and not told yet."""
    watch: WaitlistWatch = app.bot_data[WAITLIST_KEY]
    bot = app.bot
    return await watch.flush(lambda chat_id, reply: send_unprompted(bot, chat_id, reply))


async def watch_now(app: Application) -> LookResult:
    """One look at the due pairs, then the telling (what the job runs; tests call it after
    moving the clock)."""
    watch: WaitlistWatch = app.bot_data[WAITLIST_KEY]
    result = await watch.check_due()
    await tell_waitlist(app)
    return result


async def _waitlist_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await watch_now(context.application)
    except Exception:
        log.exception("waiting list scan failed; the next one tries again")


class WaitlistJobs:
    """The periodic look (None: not scheduled) and the start-up telling."""

    def __init__(
        self,
        app: Application,
        watch: WaitlistWatch,
        *,
        interval: float | None = WAITLIST_SCAN_SECONDS,
    ) -> None:
        self.app = app
        self._catch_up: asyncio.Task[None] | None = None
        app.bot_data[WAITLIST_KEY] = watch
        app.bot_data[WAITLIST_JOBS_KEY] = self
        queue = app.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        if interval is not None:
            queue.run_repeating(_waitlist_job, interval=interval, first=interval, name="waitlist")

    def start(self) -> None:
        self._catch_up = asyncio.get_running_loop().create_task(self._tell_now())

    async def idle(self) -> None:
        """Wait until the start-up telling is done."""
        if self._catch_up is not None:
            await asyncio.gather(self._catch_up, return_exceptions=True)

    async def stop(self) -> None:
        """Let the start-up telling finish (a message is never cut off half-sent)."""
        await self.idle()
        self._catch_up = None

    async def _tell_now(self) -> None:
        try:
            await tell_waitlist(self.app)
        except Exception:
            log.exception("telling the waiting list failed; the next scan tries again")
