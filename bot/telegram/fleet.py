"""Many businesses in one process: the set of running Applications and their lifecycle.

A business is built by the composition root (bot.wiring.build_business: its settings, its
storage scope, its Zimun client, rules, words, conversation, follow-up and Application, by the
same code path as the one business of a process without BUSINESSES_FILE); this module starts,
watches, restarts and stops them, so that one business never slows or stops another:

- start-up brings businesses up `concurrency` at a time, a business's registrations with
  Telegram (commands, webhook) at most one every `pace` seconds across the process, and each
  business serves as soon as it is up, while the rest still start;
- a business that cannot start (Telegram refuses its token, Zimun its credentials, or either
  is unreachable) is marked failed (in the log, by id, never a secret; in /healthz; in the
  metrics) and tried again in the background, after about 5 s, then twice as long each time
  up to 5 minutes;
- `reload` applies a new list of businesses: added ones start, removed ones stop (no more
  answers or polling; their data stays), changed ones (any setting differs) restart, the
  others are untouched (the same Application objects go on).

In webhook mode Telegram posts business <id>'s updates to WEBHOOK_URL + "/<id>" with the
secret derived for that business (`endpoint(id)` is what the listener looks up); in polling
mode each business has its own long poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from telegram.error import InvalidToken, TelegramError

from bot.config.logs import log_business
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.scheduler import SharedScheduler
from bot.telegram.webhook import Endpoint, Site
from bot.telegram.webhook_guard import RecentIds

if TYPE_CHECKING:
    from starlette.types import ASGIApp
    from telegram.ext import Application

    from bot.chat.engine import Conversation
    from bot.config.settings import Settings
    from bot.store.contract import Store
    from bot.telegram.cluster import Cluster
    from bot.zimun.client import ZimunClient

log = logging.getLogger(__name__)

State = Literal["starting", "serving", "failed"]
STATES: tuple[State, ...] = ("starting", "serving", "failed")

START_CONCURRENCY = 20  # businesses starting at once
START_PACE = 0.01  # seconds between two businesses' registrations with Telegram
RETRY_FIRST = 5.0  # seconds before a failed business is tried again; doubles each time
RETRY_MAX = 300.0
JITTER = 0.2  # each wait is within 20% of its nominal value
STOP_CONCURRENCY = 50
POLLER_KEY = "cluster_poller"  # app.bot_data key of its OwnedPoller (several processes)
LONG_POLL = 50  # seconds a long poll waits (Telegram allows 50): fewer polls of idle bots
URL_RE = re.compile(r"\w+://\S+")


@dataclass(frozen=True)
class Business:
    """One business as the process serves it: everything that is its own, in one place."""

    id: str
    settings: Settings
    storage: Store  # its scope of the process's one database
    client: ZimunClient
    conversation: Conversation
    app: Application
    # Its booking page's routes (bot.miniapp; MINI_APP_URL), mounted at <path>/<id>/ by the
    # listener while it serves; None without MINI_APP_URL.
    page: ASGIApp | None = None
    cluster: Cluster | None = None  # several processes share the store (bot.telegram.cluster)


@dataclass(frozen=True)
class BusinessSpec:
    """What the fleet is asked to serve: an id and its settings (a BusinessConfig)."""

    id: str
    settings: Settings


class StartFailed(Exception):
    """A business could not start; `str()` is the reason, safe for the log."""


# What keeps a business from starting without being a bug: Telegram's refusals or absence, the
# preflight's verdict on Zimun.
EXPECTED_FAILURES: tuple[type[Exception], ...] = (TelegramError, StartFailed)


Build = Callable[[BusinessSpec], Business]
Preflight = Callable[[Business], Awaitable[str | None]]


@dataclass(frozen=True)
class Webhooks:
    """Webhook mode: business <id> at `base_url` + "/<id>", with `secret_for(id)`."""

    base_url: str
    secret_for: Callable[[str], str]

    def url(self, business_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/{business_id}"


@dataclass(eq=False)
class Member:
    """The fleet's record of one business: its settings, state and running Business."""

    spec: BusinessSpec
    secret: str = ""
    state: State = "starting"
    reason: str = ""
    business: Business | None = None
    task: asyncio.Task[None] | None = None
    attempts: int = 0
    seen: RecentIds = field(default_factory=RecentIds)
    # The context the business was started in (its words: bot.i18n.localizer.use_words), for
    # work run on its behalf from elsewhere (the shared scheduler).
    context: contextvars.Context | None = None


class Fleet:
    """The businesses this process serves, by id."""

    def __init__(
        self,
        build: Build,
        *,
        preflight: Preflight | None = None,
        webhooks: Webhooks | None = None,
        concurrency: int = START_CONCURRENCY,
        pace: float = START_PACE,
        retry_first: float = RETRY_FIRST,
        retry_max: float = RETRY_MAX,
        on_state: Callable[[str, State | None], None] | None = None,
        on_all_serving: Callable[[], None] | None = None,
    ) -> None:
        self._build = build
        self._on_all_serving = on_all_serving
        self._preflight = preflight
        self.webhooks = webhooks
        self._starting = asyncio.Semaphore(concurrency)
        self._pace = pace
        self._paced_at = 0.0
        self._pacing = asyncio.Lock()
        self._retry_first = retry_first
        self._retry_max = retry_max
        self._on_state = on_state
        self.members: dict[str, Member] = {}
        self._since: float | None = None  # when start() began, until all serve

    # ---- what the listener and /healthz read ------------------------------------------------

    def endpoint(self, business_id: str) -> Endpoint | None:
        """The webhook endpoint of `business_id` (app None while it is not serving), or None
        for an id the process does not serve."""
        member = self.members.get(business_id)
        if member is None:
            return None
        app = member.business.app if member.state == "serving" and member.business else None
        cluster = member.business.cluster if member.business is not None else None
        return Endpoint(app, member.secret, member.seen, cluster.take if cluster else None)

    def page(self, business_id: str) -> Site | None:
        """The booking page of `business_id` (app None while it is not serving), or None for
        an id the process does not serve. Its routes were built with the business and go
        with it; its requests run in the business's context (its words, its log name)."""
        member = self.members.get(business_id)
        if member is None:
            return None
        business = member.business
        if member.state != "serving" or business is None or business.page is None:
            return Site(None)
        return Site(business.page, member.context)

    def counts(self) -> Counter[str]:
        """How many businesses are in each state."""
        return Counter(m.state for m in self.members.values())

    def all_serving(self) -> bool:
        return bool(self.members) and all(m.state == "serving" for m in self.members.values())

    def serving(self) -> list[tuple[str, Application, contextvars.Context | None]]:
        """(id, Application, the context it was started in) of every business serving now."""
        return [
            (bid, m.business.app, m.context)
            for bid, m in self.members.items()
            if m.state == "serving" and m.business is not None
        ]

    # ---- lifecycle -----------------------------------------------------------------------------

    def start(self, specs: Iterable[BusinessSpec]) -> None:
        """Start every business in the background (`concurrency` at a time)."""
        self._since = time.monotonic()
        for spec in specs:
            self._launch(spec)

    async def reload(self, specs: Sequence[BusinessSpec]) -> tuple[int, int, int, int]:
        """Serve `specs` from now on; returns (added, removed, changed, unchanged)."""
        wanted = {spec.id: spec for spec in specs}
        removed = [m for bid, m in self.members.items() if bid not in wanted]
        changed = [
            spec
            for bid, spec in wanted.items()
            if bid in self.members and self.members[bid].spec.settings != spec.settings
        ]
        added = [spec for bid, spec in wanted.items() if bid not in self.members]
        for member in removed:
            del self.members[member.spec.id]  # no longer routed: 404 from now on
        restarted = [self.members[spec.id] for spec in changed]  # 503 until they are back
        await self._stop_all([(m, True) for m in removed] + [(m, False) for m in restarted])
        for spec in [*changed, *added]:
            self._launch(spec)
        unchanged = len(wanted) - len(added) - len(changed)
        return len(added), len(removed), len(changed), unchanged

    async def stop(self) -> None:
        """Stop every business, as a process stop does (webhooks stay registered)."""
        members = list(self.members.values())
        await self._stop_all([(m, False) for m in members])
        self.members.clear()

    # ---- one business ------------------------------------------------------------------------

    def _launch(self, spec: BusinessSpec) -> None:
        secret = self.webhooks.secret_for(spec.id) if self.webhooks else ""
        member = Member(spec, secret=secret)
        self.members[spec.id] = member
        self._set_state(member, "starting")
        member.task = asyncio.get_running_loop().create_task(
            self._keep_trying(member), name=f"start business {spec.id}"
        )

    async def _keep_trying(self, member: Member) -> None:
        log_business(member.spec.id)  # every line of this business names it, from here on
        delay = self._retry_first
        while True:
            member.attempts += 1
            try:
                async with self._starting:
                    member.business = await self._start_once(member)
            except Exception as exc:
                member.business = None
                member.reason = _reason(exc)
                self._set_state(member, "failed")
                log.warning(
                    "failed to start: %s; trying again in %.0f s",
                    member.reason,
                    delay,
                    # A refusal is one line; anything else is a bug: its traceback too.
                    exc_info=not isinstance(exc, EXPECTED_FAILURES),
                )
                # A little jitter: businesses that failed together (their Zimun host was down)
                # do not all try again in the same second.
                await asyncio.sleep(delay * random.uniform(1 - JITTER, 1 + JITTER))
                delay = min(delay * 2, self._retry_max)
                continue
            member.reason = ""
            member.context = contextvars.copy_context()
            self._set_state(member, "serving")
            if self._since is not None and self.all_serving():
                log.info(
                    "all %d businesses serving, %.1f s after the start",
                    len(self.members),
                    time.monotonic() - self._since,
                )
                self._since = None
                if self._on_all_serving is not None:
                    self._on_all_serving()
            if member.attempts > 1:
                log.info("serving (attempt %d)", member.attempts)
            return

    async def _start_once(self, member: Member) -> Business:
        """Build and start the business; on any failure, undo what was started. Runs in the
        business's own task: what `build` puts in the context (its words) is inherited by every
        task its Application creates."""
        business = self._build(member.spec)
        app = business.app
        initialised = post_init = False
        try:
            await app.initialize()  # getMe: a revoked token fails here (InvalidToken)
            initialised = True
            if self._preflight is not None:
                problem = await self._preflight(business)
                if problem is not None:
                    raise StartFailed(problem)
            await self._paced()
            if app.post_init:
                post_init = True
                await app.post_init(app)  # commands, resumed conversations, the scheduler
            if self.webhooks is not None:
                await app.bot.set_webhook(
                    url=self.webhooks.url(member.spec.id),
                    secret_token=member.secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                )
            elif business.cluster is not None:  # polls while it holds the bot's polling role
                poller = business.cluster.poller(app, list(ALLOWED_UPDATES), LONG_POLL)
                app.bot_data[POLLER_KEY] = poller
                poller.start()
            else:
                assert app.updater is not None
                await app.updater.start_polling(
                    poll_interval=0.0, timeout=LONG_POLL, allowed_updates=list(ALLOWED_UPDATES)
                )
            await app.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await _shutdown(app, initialised=initialised, post_init=post_init)
            raise
        return business

    async def _paced(self) -> None:
        """At most one business's registrations with Telegram every `pace` seconds."""
        async with self._pacing:
            wait = self._paced_at + self._pace - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._paced_at = time.monotonic()

    async def _stop(self, member: Member, *, removed: bool) -> None:
        """Stop one business: its start or retry task, then its Application (updates already
        received are finished first). `removed`: Telegram is told to stop posting its updates
        here, and its metrics go."""
        member.state = "failed"  # not routed any more (503 until it is replaced or gone)
        if member.task is not None and not member.task.done():
            member.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await member.task
        business, member.business = member.business, None
        if business is not None:
            app = business.app
            if removed and self.webhooks is not None:
                with contextlib.suppress(TelegramError):
                    await app.bot.delete_webhook()
            try:
                await _shutdown(app, initialised=True, post_init=True)
            except Exception:
                log.exception("business %s did not stop cleanly", member.spec.id)
        if removed:
            self._set_state(member, None)

    async def _stop_all(self, members: Sequence[tuple[Member, bool]]) -> None:
        limit = asyncio.Semaphore(STOP_CONCURRENCY)

        async def one(member: Member, removed: bool) -> None:
            async with limit:
                await self._stop(member, removed=removed)

        await asyncio.gather(*(one(m, removed) for m, removed in members))

    def _set_state(self, member: Member, state: State | None) -> None:
        if state is not None:
            member.state = state
        if self._on_state is not None:
            self._on_state(member.spec.id, state)


async def _shutdown(app: Application, *, initialised: bool, post_init: bool) -> None:
    """Stop `app` as run_polling/run_webhook would, from wherever its start got to."""
    poller = app.bot_data.pop(POLLER_KEY, None)
    if poller is not None:
        await poller.stop()
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    if post_init and app.post_stop:
        await app.post_stop(app)
    if initialised:
        await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


def _reason(exc: BaseException) -> str:
    """Why a business did not start, without URLs (they would carry its token)."""
    if isinstance(exc, InvalidToken):
        return "Telegram rejected its TELEGRAM_BOT_TOKEN (revoked or wrong)"
    if isinstance(exc, StartFailed):
        return str(exc)
    message = str(getattr(exc, "message", "") or exc or type(exc).__name__)
    if isinstance(exc, TelegramError):
        message = f"Telegram: {message}"
    return URL_RE.sub("[url]", message.replace("httpx.", ""))[:300]


async def run_fleet(
    fleet: Fleet,
    specs: Sequence[BusinessSpec],
    *,
    reread: Callable[[], Sequence[BusinessSpec] | None],
    serve: Callable[[], Awaitable[None]] | None = None,
    jobs: SharedScheduler | None = None,
) -> None:
    """Serve `specs` until SIGINT/SIGTERM; SIGHUP applies `reread()` (None: the file was not
    usable, and it said why: nothing changes). `serve` is the web listener (webhook mode, or
    /metrics in polling mode), started before the businesses so the first ones serve while
    the rest start; it runs until cancelled. `jobs` runs every business's periodic work."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reloading: list[asyncio.Task[None]] = []

    async def reload() -> None:
        try:
            wanted = reread()
            if wanted is None:
                return
            added, removed, changed, unchanged = await fleet.reload(wanted)
        except Exception:
            log.exception("re-reading the businesses failed; nothing more changed")
            return
        log.info(
            "businesses re-read: %d added, %d removed, %d changed, %d unchanged",
            added,
            removed,
            changed,
            unchanged,
        )

    def on_hangup() -> None:
        reloading[:] = [task for task in reloading if not task.done()]
        previous = reloading[-1] if reloading else None

        async def after_previous() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await reload()

        reloading.append(loop.create_task(after_previous(), name="reload businesses"))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    listening = loop.create_task(serve(), name="listener") if serve is not None else None
    scheduling = loop.create_task(jobs.run(), name="jobs") if jobs is not None else None
    try:
        fleet.start(specs)
        log.info("starting %d businesses", len(specs))
        waits: set[asyncio.Future[object]] = {loop.create_task(stop.wait())}
        if listening is not None:
            waits.add(listening)
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if listening is not None and listening.done():
            listening.result()  # the listener died: say why
        log.info("stopping %d businesses", len(fleet.members))
    finally:
        for task in [*reloading, *([scheduling] if scheduling is not None else [])]:
            task.cancel()
        await asyncio.gather(*reloading, return_exceptions=True)
        if scheduling is not None:
            await asyncio.gather(scheduling, return_exceptions=True)
        try:
            await fleet.stop()
        finally:
            if listening is not None:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listening
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
