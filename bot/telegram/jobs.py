"""Background work on python-telegram-bot's JobQueue: the reminder scan and housekeeping.

Both are periodic reads of SQLite rather than one timer per item, so a restart loses nothing:
a first run at start-up catches up with whatever fell due while the bot was down. That first
run is a task started by the Application's start-up (`Background.start`), not a JobQueue job
with `first=0`: a job added before the scheduler runs gets its first run one interval late.
The work itself lives in Telegram-free modules (bot.reminders, bot.retention); this module
only schedules it and turns a reminder Reply into Bot API calls.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes

from bot import retention
from bot.booking.screens import Reply
from bot.chat_tag import chat_tag
from bot.reminders import ReminderService, ScanResult
from bot.telegram.delivery import deliver

log = logging.getLogger(__name__)

REMINDER_SCAN_SECONDS = 30.0
HOUSEKEEPING_SECONDS = 3600.0
REMINDERS_KEY = "reminders"  # app.bot_data key of the ReminderService


async def send_reminder(bot: Bot, chat_id: int, reply: Reply) -> bool:
    """Deliver a reminder; False only when it certainly did not arrive (retry it later)."""
    try:
        await deliver(bot, chat_id, reply)
    except RetryAfter:
        return False  # flood limit after the rate limiter's own retries: refused, not sent
    except TimedOut:
        log.warning(
            "reminder to chat %s timed out; not resent (it may have arrived)", chat_tag(chat_id)
        )
        return True
    except BadRequest as exc:
        log.info("reminder to chat %s refused: %s", chat_tag(chat_id), exc.message)
        return True  # the chat is gone: final
    except NetworkError:
        return False  # connection refused or reset before an answer
    except Forbidden:
        log.info("reminder to chat %s refused: the customer blocked the bot", chat_tag(chat_id))
        return True
    return True


async def scan_reminders(app: Application) -> ScanResult:
    """One scan now (what the job runs; tests call it after moving the clock)."""
    service: ReminderService = app.bot_data[REMINDERS_KEY]
    bot = app.bot
    return await service.scan(lambda chat_id, reply: send_reminder(bot, chat_id, reply))


async def _reminder_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await scan_reminders(context.application)
    except Exception:
        log.exception("reminder scan failed; the next one tries again")


def housekeeping(app: Application) -> int:
    """Delete what the bot no longer needs (see bot.retention); returns rows deleted."""
    service: ReminderService = app.bot_data[REMINDERS_KEY]
    deleted = service.storage.prune(
        appointments_before=retention.appointments_before(service.now()),
        idle_before=retention.idle_before(datetime.now(UTC)),
    )
    if deleted:
        log.info("housekeeping: %d old rows deleted", deleted)
    return deleted


async def _housekeeping_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        housekeeping(context.application)
    except Exception:
        log.exception("housekeeping failed; the next run tries again")


class Background:
    """The periodic jobs plus the catch-up run at start-up. An interval of None disables a job
    (and its catch-up); reminders are also off when REMINDER_OFFSETS is empty."""

    def __init__(
        self,
        app: Application,
        service: ReminderService,
        *,
        reminder_interval: float | None = REMINDER_SCAN_SECONDS,
        housekeeping_interval: float | None = HOUSEKEEPING_SECONDS,
    ) -> None:
        self.app = app
        self.reminders = reminder_interval is not None and bool(service.offsets)
        self.housekeeping = housekeeping_interval is not None
        self._catch_up: asyncio.Task[None] | None = None
        app.bot_data[REMINDERS_KEY] = service
        queue = app.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        if reminder_interval is not None and self.reminders:
            queue.run_repeating(
                _reminder_job, interval=reminder_interval, first=reminder_interval, name="reminders"
            )
        if housekeeping_interval is not None:
            queue.run_repeating(
                _housekeeping_job,
                interval=housekeeping_interval,
                first=housekeeping_interval,
                name="housekeeping",
            )

    def start(self) -> None:
        """At start-up: one scan and one housekeeping run now, in the background."""
        if self.reminders or self.housekeeping:
            self._catch_up = asyncio.get_running_loop().create_task(self._run_now())

    async def stop(self) -> None:
        """Let the catch-up run finish (a reminder is never cut off half-sent)."""
        if self._catch_up is not None:
            await asyncio.gather(self._catch_up, return_exceptions=True)
            self._catch_up = None

    async def _run_now(self) -> None:
        if self.housekeeping:
            try:
                housekeeping(self.app)
            except Exception:
                log.exception("housekeeping failed; the next run tries again")
        if self.reminders:
            try:
                await scan_reminders(self.app)
            except Exception:
                log.exception("reminder scan failed; the next one tries again")
