"""Background work on python-telegram-bot's JobQueue: reminders, reconciling, housekeeping.

- the reminder scan (bot.followup.reminders) every 30 s;
- the reconcile scan (bot.followup.reconcile) every 30 s: upcoming bookings compared with Zimun on
  their cadence, then the customer notices it queued are sent (bot.followup.notices);
- housekeeping (bot.store.retention) every hour.

All are periodic reads of SQLite rather than one timer per item, so a restart loses nothing:
a first run at start-up catches up with whatever fell due while the bot was down (reminders,
notices not sent yet, housekeeping; reconciling starts with the first scan, one interval in).
That first run is a task started by the Application's start-up (`Background.start`), not a
JobQueue job with `first=0`: a job added before the scheduler runs gets its first run one
interval late. Customer notices are also sent as soon as the ledger commits a change made at
the business (`Background.on_change`, a ledger listener), so the scan's period adds no delay.
The work itself lives in Telegram-free modules; this module only schedules it and turns
Replies into Bot API calls.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ContextTypes

from bot.config.chat_tag import chat_tag
from bot.core.changes import BookingChange
from bot.core.screens import Attachment, Reply
from bot.followup.notices import NoticeService
from bot.followup.outbox import Tally
from bot.followup.reconcile import CheckResult, Reconciler
from bot.followup.reminders import ReminderService, ScanResult
from bot.store import retention
from bot.telegram.delivery import deliver
from bot.telegram.render import document_of

log = logging.getLogger(__name__)

REMINDER_SCAN_SECONDS = 30.0
RECONCILE_SCAN_SECONDS = 30.0  # the cadence's scan_every: its promises count on it
HOUSEKEEPING_SECONDS = 3600.0
REMINDERS_KEY = "reminders"  # app.bot_data key of the ReminderService
RECONCILE_KEY = "reconcile"  # ... of the Reconciler
NOTICES_KEY = "notices"  # ... of the NoticeService
BACKGROUND_KEY = "background"  # ... of the Background itself


async def send_unprompted(bot: Bot, chat_id: int, reply: Reply) -> bool:
    """Deliver a message the customer did not ask for just now (a reminder, a notice);
    False only when it certainly did not arrive (retry it later). Attachments (a calendar
    file) follow the text best effort: once the text is out, a lost file is not worth
    sending the text twice."""
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
            await _send_file(bot, chat_id, screen.attachment)
    return True


async def _send_file(bot: Bot, chat_id: int, attachment: Attachment) -> None:
    try:
        await bot.send_document(
            chat_id, document=document_of(attachment), filename=attachment.filename
        )
    except TelegramError as exc:
        log.info("file to chat %s not delivered: %s", chat_id, type(exc).__name__)


async def scan_reminders(app: Application) -> ScanResult:
    """One scan now (what the job runs; tests call it after moving the clock)."""
    service: ReminderService = app.bot_data[REMINDERS_KEY]
    bot = app.bot
    return await service.scan(lambda chat_id, reply: send_unprompted(bot, chat_id, reply))


async def flush_notices(app: Application) -> Tally:
    """Send the customer notices not sent yet."""
    service: NoticeService = app.bot_data[NOTICES_KEY]
    bot = app.bot
    return await service.flush(lambda chat_id, reply: send_unprompted(bot, chat_id, reply))


async def reconcile_now(app: Application) -> CheckResult:
    """One reconcile scan now, then the notices it queued (what the job runs; tests call it
    after moving the clock)."""
    reconciler: Reconciler = app.bot_data[RECONCILE_KEY]
    result = await reconciler.check_due()
    await flush_notices(app)
    return result


async def _reconcile_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await reconcile_now(context.application)
    except Exception:
        log.exception("reconcile scan failed; the next one tries again")


async def _reminder_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        await scan_reminders(context.application)
    except Exception:
        log.exception("reminder scan failed; the next one tries again")


def housekeeping(app: Application) -> int:
    """Delete what the bot no longer needs (see bot.store.retention); returns rows deleted."""
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
    (and its catch-up); reminders are also off when REMINDER_OFFSETS is empty. Notices of
    changes made at the business are always sent: at start-up, after each reconcile scan, and
    as soon as the ledger commits one (`on_change`)."""

    def __init__(
        self,
        app: Application,
        service: ReminderService,
        reconciler: Reconciler,
        notices: NoticeService,
        *,
        reminder_interval: float | None = REMINDER_SCAN_SECONDS,
        reconcile_interval: float | None = RECONCILE_SCAN_SECONDS,
        housekeeping_interval: float | None = HOUSEKEEPING_SECONDS,
    ) -> None:
        self.app = app
        self.reminders = reminder_interval is not None and bool(service.offsets)
        self.housekeeping = housekeeping_interval is not None
        self._catch_up: asyncio.Task[None] | None = None
        self._flushes: set[asyncio.Task[Tally]] = set()
        app.bot_data[REMINDERS_KEY] = service
        app.bot_data[RECONCILE_KEY] = reconciler
        app.bot_data[NOTICES_KEY] = notices
        app.bot_data[BACKGROUND_KEY] = self
        queue = app.job_queue
        if queue is None:
            raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
        if reminder_interval is not None and self.reminders:
            queue.run_repeating(
                _reminder_job, interval=reminder_interval, first=reminder_interval, name="reminders"
            )
        if reconcile_interval is not None and reconciler.budget.per_minute > 0:
            queue.run_repeating(
                _reconcile_job,
                interval=reconcile_interval,
                first=reconcile_interval,
                name="reconcile",
            )
        if housekeeping_interval is not None:
            queue.run_repeating(
                _housekeeping_job,
                interval=housekeeping_interval,
                first=housekeeping_interval,
                name="housekeeping",
            )

    def start(self) -> None:
        """At start-up: notices left unsent, one reminder scan and one housekeeping run now,
        in the background."""
        self._catch_up = asyncio.get_running_loop().create_task(self._run_now())

    def on_change(self, change: BookingChange) -> None:
        """A ledger listener: a change made at the business was committed; tell the customer
        now rather than at the next scan."""
        if change.by_customer:
            return
        task = asyncio.get_running_loop().create_task(flush_notices(self.app))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def idle(self) -> None:
        """Wait until the notices on their way are sent."""
        while self._flushes:
            await asyncio.gather(*list(self._flushes), return_exceptions=True)

    async def stop(self) -> None:
        """Let the catch-up run and the notices on their way finish (a reminder or a notice is
        never cut off half-sent)."""
        if self._catch_up is not None:
            await asyncio.gather(self._catch_up, return_exceptions=True)
            self._catch_up = None
        await self.idle()

    async def _run_now(self) -> None:
        try:
            await flush_notices(self.app)
        except Exception:
            log.exception("sending pending notices failed; the next scan tries again")
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
