"""Flood control toward Telegram that is fair to every customer.

Telegram allows a bot about 30 messages a second overall and 20 a minute in a group, and
answers 429 "retry after N" beyond. python-telegram-bot's AIORateLimiter serves requests in
arrival order and, on any 429, pauses every chat. Here:

- a 429 pauses only the chat that caused it: the request's chat_id, or for a request without
  one (answering a button) the chat whose update is being handled; outside any update
  (setting commands at start) only that method. A 429 on answering a button paused every
  chat: another customer's booking went from 1.7 s to 97 s;
- a button's answer is never retried: it only stops the spinner, Telegram forgets the query
  after 15 s, and the screen that follows says more;
- the overall 30/s is handed out by priority, then round-robin over chats: replies to the
  customers whose updates are being handled first, background sends (reminders, staff-chat
  notices) after them, and last the replies to a chat that has had more than its share lately
  (`SHARE_BURST` at once, `SHARE_PER_SECOND` after: a flooding chat); among each, one request
  per chat in turn, so no chat waits behind another chat's backlog;
- background sends and over-share replies never take the last `RESERVE` tokens: those stay for
  replies, so a batch of reminders or a flooding chat cannot make every customer wait for the
  next token;
- groups keep their 20 a minute;
- with several processes (DATABASE_URL), the 30 a second are the bot's across them: the
  queue's tokens come from a count in the database (bot.telegram.shared_budget), while the
  order above stays this process's.

A request is a reply when it goes to the chat whose update the current task is handling:
`replying_to(chat_id)` marks that (bot.telegram.ordering sets it around each update). Anything
else, including a notice to the staff chat started while handling a customer's update, is
background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.config.chat_tag import chat_tag
from bot.telegram.buckets import Buckets, Verdict

log = logging.getLogger(__name__)

REPLY, BACKGROUND, OVER_SHARE = 0, 1, 2  # the order requests are served in
RESERVE = 10.0  # tokens (of 30) that only replies may take
SHARE_BURST = 3  # replies a chat gets at full priority at once (a confirmation is 3) ...
SHARE_PER_SECOND = 1.0  # ... and then per second (Telegram: about one a second per chat)
PAUSE_MARGIN = 0.1  # seconds added to Telegram's retry_after, as python-telegram-bot does
NOT_RETRIED = frozenset({"answerCallbackQuery"})  # only stops a spinner; stale after 15 s

ChatKey = int | str
Callback = Callable[..., Coroutine[Any, Any, Any]]

_replying_to: ContextVar[ChatKey | None] = ContextVar("replying_to", default=None)


@contextlib.contextmanager
def replying_to(chat: ChatKey | None) -> Iterator[None]:
    """Within this block, requests to `chat` are replies (served before background sends)."""
    token = _replying_to.set(chat)
    try:
        yield
    finally:
        _replying_to.reset(token)


def chat_key(value: object) -> ChatKey | None:
    if value is None:
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)  # "@channelusername"


class FairQueue:
    """`rate` tokens a second (up to `burst` saved), handed to waiters by priority, then one
    chat after the other; a chat's own requests keep their order. Priorities after the first
    are served only while more than `reserve` tokens are left."""

    def __init__(self, rate: float, burst: float, reserve: float = 0.0) -> None:
        self._rate = rate
        self._burst = burst
        self._reserve = min(reserve, burst - 1)
        self._tokens = burst
        self._stamp: float | None = None
        self._waiting: tuple[OrderedDict[ChatKey, deque[asyncio.Future[None]]], ...] = (
            OrderedDict(),
            OrderedDict(),
            OrderedDict(),
        )
        self._pump: asyncio.Task[None] | None = None

    def _needs(self, priority: int) -> float:
        return 1.0 if priority == REPLY else 1.0 + self._reserve

    async def acquire(self, chat: ChatKey, priority: int) -> None:
        loop = asyncio.get_running_loop()
        ahead = any(self._waiting[: priority + 1])
        if not ahead and self._has_token(priority):
            self._spend(priority)
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting[priority].setdefault(chat, deque()).append(waiter)
        self._queued(priority)
        if self._pump is None or self._pump.done():
            self._pump = loop.create_task(self._run())
        await waiter  # a cancelled waiter is skipped by the pump

    # The token source: this process's own `rate` a second. A subclass may take its tokens
    # elsewhere (bot.telegram.shared_budget: the bot's budget shared by its processes); the
    # order of the waiters (priorities, chats in turn) is this class's either way.

    def _has_token(self, priority: int) -> bool:
        """Whether a request of `priority` may have a token now."""
        self._refill(asyncio.get_running_loop().time())
        return self._tokens >= self._needs(priority)

    def _spend(self, priority: int) -> None:
        """Take the token `_has_token` saw."""
        self._tokens -= 1

    async def _wait_for_token(self, priority: int) -> None:
        """Wait until a request of `priority` may have one (or a while: the pump asks again)."""
        needs = self._needs(priority)
        await asyncio.sleep(min(needs - self._tokens, 1.0) / self._rate)

    def _queued(self, priority: int) -> None:
        """A request of `priority` now waits (a subclass may wake its pump)."""

    def waiting(self, priority: int | None = None) -> int:
        """Requests waiting for a token (of `priority`, or all), cancelled ones included until
        the pump skips them."""
        queues = self._waiting if priority is None else self._waiting[priority : priority + 1]
        return sum(len(waiters) for chats in queues for waiters in chats.values())

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def _run(self) -> None:
        while any(self._waiting):
            priority = next(p for p, chats in enumerate(self._waiting) if chats)
            if not self._has_token(priority):
                # A reply arriving meanwhile takes a token at once (acquire's fast path).
                await self._wait_for_token(priority)
                continue
            waiter = self._next(priority)
            if waiter is not None:
                self._spend(priority)
                waiter.set_result(None)

    def _next(self, priority: int) -> asyncio.Future[None] | None:
        """The first live waiter of `priority`, rotating its chats (None: all cancelled)."""
        for chats in self._waiting[priority : priority + 1]:
            while chats:
                chat, waiters = next(iter(chats.items()))
                waiter = waiters.popleft()
                if waiters:
                    chats.move_to_end(chat)  # the next chat's turn
                else:
                    del chats[chat]
                if not waiter.done():
                    return waiter
        return None


class Pauses:
    """Until when Telegram asked us to wait, per cause (a chat, or a method called outside
    any chat's update)."""

    def __init__(self) -> None:
        self._until: dict[ChatKey, float] = {}

    def pause(self, cause: ChatKey, seconds: float) -> None:
        until = asyncio.get_running_loop().time() + seconds
        self._until[cause] = max(self._until.get(cause, 0.0), until)

    async def wait(self, cause: ChatKey) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            until = self._until.get(cause, 0.0)
            if until <= now:
                self._until.pop(cause, None)  # over: forget it
                return
            await asyncio.sleep(until - now)


class FairRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's rate limiter interface (`ApplicationBuilder.rate_limiter`);
    `rate_limit_args` (an int) overrides `max_retries` for one call."""

    def __init__(
        self,
        *,
        overall_per_second: float = FloodLimit.MESSAGES_PER_SECOND,
        group_per_minute: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        max_retries: int = 0,
        pauses: Pauses | None = None,
        queue: FairQueue | None = None,
    ) -> None:
        """`pauses`: where 429 pauses are kept (bot.telegram.cluster.SharedPauses shares them
        with the bot's other processes); this process's own by default. `queue`: where the
        overall budget's tokens come from (bot.telegram.shared_budget.SharedFairQueue takes
        them from the budget the bot's processes share); this process's own
        `overall_per_second` by default."""
        self._queue = (
            queue
            if queue is not None
            else FairQueue(overall_per_second, overall_per_second, RESERVE)
        )
        self._shares = Buckets(SHARE_BURST, SHARE_PER_SECOND)
        self._group_per_minute = group_per_minute
        self._groups: dict[ChatKey, AsyncLimiter] = {}
        self._pauses = pauses if pauses is not None else Pauses()
        self._max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: every waiting request belongs to a task that is awaited."""

    async def process_request(
        self,
        callback: Callback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat = chat_key(data.get("chat_id"))
        cause = _cause(chat, endpoint)
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        if endpoint in NOT_RETRIED:
            retries = 0
        priority = self._priority(chat)
        for attempt in range(retries + 1):
            await self._turn(chat, cause, priority)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = _seconds(exc) + PAUSE_MARGIN
                self._pauses.pause(cause, seconds)
                who = f"chat {chat_tag(cause)}" if isinstance(cause, int) else str(cause)
                if attempt == retries:
                    log.warning("%s: Telegram's flood limit; %s not sent", who, endpoint)
                    raise
                log.info(
                    "%s: Telegram asked to wait %.1f s; %s will be retried", who, seconds, endpoint
                )
        raise AssertionError("unreachable")  # the loop returns or raises

    def _priority(self, chat: ChatKey | None) -> int:
        if chat is None or _replying_to.get() != chat:
            return BACKGROUND
        return REPLY if self._shares.take(chat) is Verdict.ADMIT else OVER_SHARE

    async def _turn(self, chat: ChatKey | None, cause: ChatKey, priority: int) -> None:
        """Wait for any pause, the group's minute budget and an overall token."""
        await self._pauses.wait(cause)
        if chat is None:
            return  # not a message to a chat: Telegram's message limits do not apply
        if _is_group(chat) and self._group_per_minute:
            await self._group(chat).acquire()
        await self._queue.acquire(chat, priority)
        await self._pauses.wait(cause)  # a 429 may have come while this one queued

    def _group(self, chat: ChatKey) -> AsyncLimiter:
        if len(self._groups) > 512:  # forget groups with nothing spent
            for key, limiter in list(self._groups.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._groups[key]
        if chat not in self._groups:
            self._groups[chat] = AsyncLimiter(self._group_per_minute, 60)
        return self._groups[chat]


def _cause(chat: ChatKey | None, endpoint: str) -> ChatKey:
    """Whose request this is, for Telegram's 429: its chat, else the chat whose update is
    being handled (a button's answer names no chat), else the method itself."""
    if chat is not None:
        return chat
    replying = _replying_to.get()
    return replying if replying is not None else f"{endpoint} (no chat)"


def _is_group(chat: ChatKey) -> bool:
    return isinstance(chat, str) or chat < 0


def _seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(exc.retry_after)  # type: ignore[arg-type]
