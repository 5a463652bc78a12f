"""Telegram's 30 messages a second, for the bot as a whole across its processes (issue 20).

Telegram counts a bot's messages whoever sends them: two processes each keeping their own 30
a second could send 60. With DATABASE_URL, every process of the bot takes its tokens from one
count per second in PostgreSQL (`Coordination.take_sends`), the second by the database's own
clock (`clock_timestamp()`): no two machines' clocks are compared. What stays in each process
is FairRateLimiter's order (bot.telegram.flood): replies first, then background sends, then a
flooding chat, chats in turn; `SharedFairQueue` only changes where its tokens come from.

- Tokens are taken in small batches: as many as requests are waiting, at least MIN_BATCH (a
  confirmation is 3 messages) and at most MAX_BATCH, only when the process has none left. A
  busy process asks the database about once per few sends; an idle one not at all.
- Nothing is handed back: tokens lapse at the end of their second. The process reckons that end
  from the database's answer (milliseconds left), counted from before it asked, so it stops
  using a second's tokens before the database's second is over: the messages started in any
  one of the database's seconds are at most what was taken in it, at most 30. (As with one
  process's bucket, 30 at once and then 30 a second, the end of one second and the start of
  the next may together see up to 60 within one second of wall time.)
- The last RESERVE of a second are for replies across the processes, as they are in one: a
  take for background sends gets none of them, a take for replies no more of them than
  replies are waiting (the batch's rest, if any, from below them).
- PostgreSQL slow or away: a take not answered within TAKE_TIMEOUT (or failing) turns the
  process to a share of its own, 30 / (processes last counted), logged once; the database is
  asked again every RETRY_SECONDS, and the shared count resumes when it answers. Sends never
  stop for good; while the database is away from this process only, the bot as a whole may
  send up to its share (30 / processes) a second more than 30 (the others still share
  theirs), and Telegram's 429, honoured per chat, covers the rest.
"""

from __future__ import annotations

import asyncio
import logging
import math

from telegram.constants import FloodLimit

from bot.store.contract import Coordination, SendGrant
from bot.telegram.flood import REPLY, RESERVE, FairQueue

log = logging.getLogger(__name__)

MIN_BATCH = 3  # tokens a take asks for at least (a confirmation is 3 messages) ...
MAX_BATCH = 10  # ... and at most (what a process may leave unused when a second ends)
TAKE_TIMEOUT = 0.5  # seconds a take may take before the process sends on its own share
RETRY_SECONDS = 5.0  # how often the database is asked again meanwhile
PEERS_SECONDS = 30.0  # how often the processes are counted (for the share of one)
DEFAULT_PEERS = 2  # the processes assumed before they were first counted
WAKE_MARGIN = 0.002  # seconds past a second's reckoned end before asking for the next


class SharedFairQueue(FairQueue):
    """FairQueue whose tokens are `bot`'s shared budget of `per_second` (see the module).
    Figures for the benchmark: `takes` (round trips), `granted`, `spent`, `fallbacks`."""

    def __init__(
        self,
        store: Coordination,
        bot: str,
        *,
        per_second: float = FloodLimit.MESSAGES_PER_SECOND,
        reserve: float = RESERVE,
        take_timeout: float = TAKE_TIMEOUT,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        share = per_second / DEFAULT_PEERS
        super().__init__(share, share, reserve / DEFAULT_PEERS)
        self._store = store
        self._bot = bot
        self._per_second = per_second
        self._full_reserve = reserve
        self._cap = int(per_second)
        self._background_cap = int(per_second - min(reserve, per_second - 1))  # as FairQueue
        self._take_timeout = take_timeout
        self._retry_seconds = retry_seconds
        # This second's tokens: `_free` for any request, `_reply_only` past the background cap.
        self._second: int | None = None
        self._free = 0
        self._reply_only = 0
        self._expires = -math.inf  # loop time by which this second's tokens lapse
        self._taking: asyncio.Task[SendGrant] | None = None
        self._taken_at = 0.0
        self._local = False  # the database is away: this process's own share
        self._retry_at = 0.0
        self._why = ""  # why the last take gave nothing (for the log)
        self._sleeping: int | None = None  # the priority the pump waits for the next second for
        self._wake = asyncio.Event()
        self._peers = DEFAULT_PEERS
        self._peers_at = -math.inf
        self._counting: asyncio.Task[None] | None = None
        self.takes = 0
        self.granted = 0
        self.spent = 0
        self.fallbacks = 0

    @property
    def second(self) -> int | None:
        """The database's second this process's tokens are from (None: none taken yet)."""
        return self._second

    # -- FairQueue's token source --

    def _has_token(self, priority: int) -> bool:
        now = asyncio.get_running_loop().time()
        if self._local:
            if now >= self._retry_at:
                return False  # the pump asks the database again
            return super()._has_token(priority)
        if now >= self._expires:
            self._free = self._reply_only = 0
        return self._free > 0 or (priority == REPLY and self._reply_only > 0)

    def _spend(self, priority: int) -> None:
        self.spent += 1
        if self._local:
            super()._spend(priority)
        elif priority == REPLY and self._reply_only > 0:
            self._reply_only -= 1
        else:
            self._free -= 1

    async def _wait_for_token(self, priority: int) -> None:
        loop = asyncio.get_running_loop()
        if self._local and loop.time() < self._retry_at:
            await super()._wait_for_token(priority)
            return
        grant = await self._take(priority)
        if grant is None:
            self._go_local()
            return
        if self._local:
            self._local = False
            log.info("the shared send budget answers again; this process counts in it")
        self._apply(grant)
        self._count_peers()
        if not self._has_token(priority) and not any(self._waiting[:priority]):
            # None left for it this second (a reply queued meanwhile is asked for at once).
            await self._sleep(priority, max(self._expires - loop.time(), 0.0) + WAKE_MARGIN)

    def _queued(self, priority: int) -> None:
        if self._sleeping is not None and priority < self._sleeping:
            self._wake.set()  # a reply may have what a background send may not

    # -- the database --

    async def _take(self, priority: int) -> SendGrant | None:
        """One take (or the one still under way), waited for at most TAKE_TIMEOUT; None when it
        failed or did not answer in time (a late answer is used by the next call)."""
        loop = asyncio.get_running_loop()
        if self._taking is not None and loop.time() - self._taken_at >= self._retry_seconds:
            self._taking.cancel()  # stuck (a connection gone quiet): ask afresh
            self._taking = None
        if self._taking is None:
            want = min(max(self.waiting(), MIN_BATCH), MAX_BATCH)
            replies = self.waiting(REPLY) if priority == REPLY else 0
            reserved = self._cap - self._background_cap
            self._taken_at = loop.time()
            self._taking = loop.create_task(
                self._store.take_sends(self._bot, want, self._cap, reserved, replies)
            )
            self._taking.add_done_callback(_retrieve)
            self.takes += 1
        task = self._taking
        done, _ = await asyncio.wait({task}, timeout=self._take_timeout)
        if not done:
            self._why = f"no answer within {self._take_timeout:.1f} s"
            return None
        self._taking = None
        if task.cancelled() or task.exception() is not None:
            error = task.exception() if not task.cancelled() else None
            self._why = type(error).__name__ if error is not None else "cancelled"
            return None
        return task.result()

    def _apply(self, grant: SendGrant) -> None:
        if grant.second != self._second:
            self._second, self._free, self._reply_only = grant.second, 0, 0
        before = grant.used - grant.granted  # the second's count before this take
        free = max(0, min(grant.used, self._background_cap) - before)
        self._free += free
        self._reply_only += grant.granted - free
        self.granted += grant.granted
        # Reckoned from before the take was sent: never later than the database's second ends.
        self._expires = max(self._expires, self._taken_at + grant.ms_left / 1000)

    def _go_local(self) -> None:
        """The database did not answer: this process's share until it does (see the module)."""
        loop = asyncio.get_running_loop()
        self._retry_at = loop.time() + self._retry_seconds
        if self._local:
            return
        self._local = True
        self.fallbacks += 1
        share = self._per_second / max(self._peers, 1)
        self._rate = share
        self._burst = max(share, 1.0)
        self._reserve = max(0.0, min(self._full_reserve / max(self._peers, 1), self._burst - 1))
        self._tokens = 0.0
        self._stamp = loop.time()
        self._free = self._reply_only = 0
        log.warning(
            "the shared send budget is unavailable (%s): this process sends at most %.1f "
            "messages a second (%g shared by %d processes) until the database answers",
            self._why,
            share,
            self._per_second,
            self._peers,
        )

    def _count_peers(self) -> None:
        """Count the processes now and then (in the background), for the share of one."""
        now = asyncio.get_running_loop().time()
        if now - self._peers_at < PEERS_SECONDS:
            return
        self._peers_at = now
        self._counting = asyncio.get_running_loop().create_task(self._read_peers())

    async def _read_peers(self) -> None:
        try:
            self._peers = max(1, await self._store.peers())
        except Exception as exc:  # keep the last count
            log.info("could not count the processes: %s", type(exc).__name__)

    async def _sleep(self, priority: int, seconds: float) -> None:
        """Until the next second, or until a request of a higher priority waits."""
        self._sleeping = priority
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._sleeping = None


def _retrieve(task: asyncio.Task[SendGrant]) -> None:
    """A take's failure is reported by whoever waits for it; one nobody waits for any more
    (the queue gave up on it) is not "never retrieved"."""
    if not task.cancelled():
        task.exception()
