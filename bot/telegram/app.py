"""The Telegram adapter's half of the composition (bot.wiring builds the services it carries).

`build_application()` wires the handlers, the per-chat ordering, the rate limiter, the error
handler and the start-up/shut-down hooks around a Conversation. It does not run anything:
`python -m bot` calls `run_polling`/`run_webhook` on the result, while tests and benchmarks use
`polling()`, which performs the same start and stop sequence inside their own event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal, Protocol

from telegram import Bot, Update, User
from telegram.error import TelegramError
from telegram.ext import Application, BaseRateLimiter
from telegram.request import BaseRequest

from bot.chat.engine import COMMANDS as ENGINE_COMMANDS
from bot.config import chat_tag
from bot.config.settings import Settings
from bot.core.changes import BookingChange, ChangeKind
from bot.telegram.accesslog import UpdateLog
from bot.telegram.admin import AdminChat
from bot.telegram.budget import BURST, PER_SECOND, Buckets, UpdateBudget
from bot.telegram.cluster import Cluster
from bot.telegram.commands import register_commands, register_page_button
from bot.telegram.delivery import deliver
from bot.telegram.errors import ErrorHandler
from bot.telegram.flood import FairRateLimiter
from bot.telegram.handlers import ANSWER_WITHIN, ChatHandlers
from bot.telegram.ordering import DEFAULT_CONCURRENCY, Admission, PerChatOrdering
from bot.telegram.scheduler import (
    HOUSEKEEPING_SECONDS,
    RECONCILE_SCAN_SECONDS,
    REMINDER_SCAN_SECONDS,
    WAITLIST_SCAN_SECONDS,
    Scheduler,
)
from bot.telegram.urls import bot_api_urls

if TYPE_CHECKING:
    from bot.chat.engine import Conversation
    from bot.followup.services import FollowUp

log = logging.getLogger(__name__)

# The updates the handlers use; asking Telegram for no others saves traffic and surprises.
ALLOWED_UPDATES: tuple[str, ...] = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)

# RetryAfter (429) is retried this many times by the rate limiter, after the wait Telegram asks.
MAX_RETRIES = 3

Hook = Callable[[Application], Awaitable[None]]

# Bookings as the metrics name them.
BOOKING_KINDS: dict[ChangeKind, Literal["booked", "rescheduled", "cancelled"]] = {
    ChangeKind.BOOKED: "booked",
    ChangeKind.MOVED: "rescheduled",
    ChangeKind.CANCELLED: "cancelled",
}


class Observer(Protocol):
    """What one business's Application tells the metrics (bot.ops.metrics.BusinessMetrics)."""

    def update_handled(self, seconds: float) -> None: ...

    def booked(self, kind: Literal["booked", "rescheduled", "cancelled"]) -> None: ...

    def error(self, kind: str) -> None: ...


async def check_telegram(settings: Settings) -> User:
    """Ask the Bot API who we are: proves the token and TELEGRAM_BASE_URL before the bot
    starts, so a mistake is one clear line rather than python-telegram-bot's retry log.
    Raises telegram.error.InvalidToken (token refused) or NetworkError (unreachable)."""
    urls = bot_api_urls(settings.TELEGRAM_BASE_URL)
    bot = Bot(
        settings.TELEGRAM_BOT_TOKEN.get_secret_value(),
        base_url=urls.api,
        base_file_url=urls.files,
    )
    async with bot:  # initialize() calls getMe
        return bot.bot


def default_rate_limiter(cluster: Cluster | None = None) -> FairRateLimiter:
    """Telegram's published limits (30 messages/s overall, 20/min per group), shared fairly
    between chats, replies first; a 429 pauses only its chat, and is retried. With several
    processes, a 429 pauses that chat in every process, and the 30 a second are the bot's
    across its processes (bot.telegram.shared_budget)."""
    if cluster is None:
        return FairRateLimiter(max_retries=MAX_RETRIES)
    return FairRateLimiter(
        max_retries=MAX_RETRIES, pauses=cluster.pauses(), queue=cluster.send_queue()
    )


def build_application(
    settings: Settings,
    conversation: Conversation,
    followup: FollowUp,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter | Literal["default"] | None = "default",
    update_budget: Buckets | Literal["default"] | None = "default",
    max_concurrent_updates: int = DEFAULT_CONCURRENCY,
    update_slots: asyncio.Semaphore | None = None,
    metrics: Observer | None = None,
    key_chat_tags: bool = True,
    own_jobs: bool = True,
    answer_within: float = ANSWER_WITHIN,
    register_menu: bool = True,
    on_startup: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    reminder_interval: float | None = REMINDER_SCAN_SECONDS,
    reconcile_interval: float | None = RECONCILE_SCAN_SECONDS,
    housekeeping_interval: float | None = HOUSEKEEPING_SECONDS,
    waitlist_interval: float | None = WAITLIST_SCAN_SECONDS,
    cluster: Cluster | None = None,
) -> Application:
    """The bot's Application, not started.

    `request`/`get_updates_request` replace python-telegram-bot's HTTPX transport (benchmarks
    pass an in-process fake); `rate_limiter=None` disables flood control, `update_budget=None`
    the per-chat budget of updates (or pass its Buckets). `update_slots` is a semaphore shared
    by every business of the process (the cap on updates handled at once, across bots);
    `metrics` counts this business's updates (and their time), bookings and errors.
    `own_jobs=False`: no JobQueue at all; the process's SharedScheduler runs the periodic
    jobs of every business (bot.telegram.scheduler). `key_chat_tags=False` leaves the log's
    chat tag key as the process set it (many bots: one key, set once). `on_startup` hooks run
    after the command menu is set and pending conversations are resumed, before the first
    update; `on_shutdown` hooks run last (the process closes the Zimun client and the storage
    there), in order, each even if an earlier one failed.

    The reminder scan, the reconcile scan, the waiting list's watch and housekeeping run on
    the JobQueue (bot.telegram.scheduler) every `reminder_interval`, `reconcile_interval`,
    `waitlist_interval` and `housekeeping_interval` seconds (None: not scheduled; tests call
    `scheduler.scan_reminders`, `scheduler.reconcile_now` and `scheduler.watch_now`).
    Customers are told of changes made at the business; with ADMIN_CHAT_ID set, that chat
    gets booking notices and /stats.

    `cluster` (several processes sharing a PostgreSQL store, bot.telegram.cluster): each
    update runs in its chat's turn across processes, the scans run in the holder of the jobs
    role only, and 429 pauses are shared.
    """
    urls = bot_api_urls(settings.TELEGRAM_BASE_URL)
    default_language = settings.BOT_DEFAULT_LANGUAGE
    budget = None  # each chat's budget of updates (bot.telegram.budget)
    if update_budget is not None:
        buckets = Buckets(BURST, PER_SECOND) if update_budget == "default" else update_budget
        budget = UpdateBudget(conversation.language_for, buckets, default_language=default_language)
    token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
    if key_chat_tags:
        chat_tag.set_key(token)  # every log line's chat tag is keyed by the token
    admin = (
        AdminChat(
            settings.ADMIN_CHAT_ID,
            conversation.storage,
            default_language=default_language,
            now=conversation.now,
            languages=settings.languages,
        )
        if settings.ADMIN_CHAT_ID is not None
        else None
    )

    admission: Admission | None = budget
    if cluster is not None:
        admission = cluster.admission(budget)

    async def post_init(app: Application) -> None:
        if register_menu:
            await register_commands(app.bot, default_language, languages=settings.languages)
            if admin is not None:
                await admin.register_commands(app.bot)
            if settings.MINI_APP_URL is not None:  # the booking page (bot.miniapp)
                await register_page_button(app.bot, str(settings.MINI_APP_URL), default_language)
        if admin is not None:
            admin.attach(app.bot)
            conversation.ledger.listeners.append(admin.on_change)
        if metrics is not None:
            conversation.ledger.listeners.append(count_change)
        scheduler.listen()
        await resume_pending(app, conversation)
        scheduler.start()
        for hook in on_startup:
            await hook(app)

    def count_change(change: BookingChange) -> None:
        kind = BOOKING_KINDS.get(change.kind)
        if metrics is not None and kind is not None and change.by_customer:
            metrics.booked(kind)

    async def post_stop(app: Application) -> None:
        listeners = conversation.ledger.listeners
        if admin is not None and admin.on_change in listeners:
            listeners.remove(admin.on_change)
        if count_change in listeners:
            listeners.remove(count_change)
        await scheduler.stop()
        if admin is not None:
            await admin.drain()

    async def post_shutdown(app: Application) -> None:
        for hook in on_shutdown:
            try:
                await hook(app)
            except Exception:
                log.exception("shutdown hook %s failed", getattr(hook, "__name__", hook))

    builder = (
        Application.builder()
        .token(token)
        .base_url(urls.api)
        .base_file_url(urls.files)
        .concurrent_updates(
            PerChatOrdering(
                max_concurrent_updates,
                admission=admission,
                slots=update_slots,
                observe=metrics.update_handled if metrics is not None else None,
            )
        )
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if not own_jobs:
        builder = builder.job_queue(None)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    if rate_limiter == "default":
        rate_limiter = default_rate_limiter(cluster)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()

    update_log = UpdateLog(known_commands=[*ENGINE_COMMANDS, "stats"])
    if admin is not None:  # first: /stats in the staff chat never reaches the conversation
        for handler in admin.handlers(update_log):
            app.add_handler(handler)
    chat = ChatHandlers(conversation, answer_within=answer_within, update_log=update_log)
    for handler in chat.handlers():
        app.add_handler(handler)
    app.add_error_handler(
        ErrorHandler(
            conversation,
            default_language,
            on_error=metrics.error if metrics is not None else None,
        )
    )
    scheduler = Scheduler(
        app,
        followup,
        reminder_interval=reminder_interval,
        reconcile_interval=reconcile_interval,
        waitlist_interval=waitlist_interval,
        housekeeping_interval=housekeeping_interval,
        own_jobs=own_jobs,
        gate=cluster.jobs_gate() if cluster is not None else None,
    )
    return app


async def resume_pending(app: Application, conversation: Conversation) -> int:
    """Tell customers whose last step was interrupted by a stop what happened; returns how many.

    Runs before polling starts, so these replies come before anything new from those chats.
    """
    sent = 0
    for chat_id, reply in await conversation.resume_pending(until_delivered=True):
        try:
            await deliver(app.bot, chat_id, reply)
            sent += 1
        except TelegramError as exc:
            log.warning(
                "could not resume chat %s: %s", chat_tag.chat_tag(chat_id), type(exc).__name__
            )
        finally:
            await conversation.delivered(chat_id)  # written once told: a crash here asks again
    return sent


@asynccontextmanager
async def polling(
    app: Application,
    *,
    poll_interval: float = 0.0,
    long_poll: int = 10,
    cluster: Cluster | None = None,
) -> AsyncIterator[Application]:
    """Run `app` with long polling inside the current event loop, as `run_polling` would:
    initialize, post_init, poll, start; on exit stop polling (committing the offset), finish
    every fetched update, post_stop, shutdown, post_shutdown. With `cluster`, the process
    polls only while it holds the bot's polling role (bot.telegram.cluster.OwnedPoller)."""
    await app.initialize()
    try:
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
        poller = None
        if cluster is not None:
            poller = cluster.poller(app, list(ALLOWED_UPDATES), long_poll)
            poller.start()
        else:
            await app.updater.start_polling(
                poll_interval=poll_interval,
                timeout=long_poll,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        await app.start()
        try:
            yield app
        finally:
            if poller is not None:
                await poller.stop()
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    finally:
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)
