"""The SQLite store behind the asynchronous contract (bot.store.contract): the synchronous
`Storage`, called directly inside the coroutine.

Why not a thread: SQLite in WAL mode with `synchronous = NORMAL` spends about 0.03 ms on one
update's writes on this machine (bench/store_writes.py), less than handing the call to a
worker thread and back would cost, and nothing of it waits on a network. So each method runs
its plan at once and returns; the event loop is held for those microseconds only.

What the adapter adds is the one thing a coroutine can break: a `batch()` held across an
`await`. The synchronous store's transaction belongs to its thread, and every coroutine runs
on the loop's one thread, so while one task's batch is open another task's write would join
that transaction (and vanish with its rollback). Here the task that opens a batch owns the
database until it closes it: every other task's call waits for it (an asyncio lock, free and
not awaited at all when nobody holds it). The owner's own calls, nested batches included, go
straight through. The lock is the file's: every adapter over the same file (each business's,
and any made by `as_store` for a synchronous handle) waits on the same one.

Coordination (bot.store.contract): SQLite serves one process, so chats' turns, roles, 429
pauses and the messages a second are kept in the process (bot.store.local_coord), per file
like the lock; deliveries and polling offsets are in the file as in PostgreSQL, so a
restarted process still handles a redelivered update once.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

from bot.store.async_plans import AsyncPlans
from bot.store.contract import SendGrant, Store, UpdateTurn
from bot.store.local_coord import (
    Holders,
    KeyedLocks,
    LocalFlood,
    LocalOwnership,
    LocalSends,
    Pruning,
)
from bot.store.plans import Plan, Plans
from bot.store.storage import Storage

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Shared:
    """One per database file: who holds its transaction, and the lock the others wait on."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.owner: asyncio.Task[object] | None = None
        self.turns = KeyedLocks()
        self.holders = Holders()
        self.flood = LocalFlood()
        self.pruning = Pruning()
        self.sends = LocalSends()


# The synchronous store's per-file state -> that file's _Shared (gone with the file's close).
_BY_FILE: weakref.WeakKeyDictionary[object, _Shared] = weakref.WeakKeyDictionary()


def _shared_of(storage: Storage) -> _Shared:
    return _BY_FILE.setdefault(storage._shared, _Shared())


def as_store(storage: Store | Storage) -> Store:
    """The asynchronous store of `storage`: itself if it already is one, else SQLite's adapter
    over the synchronous handle (which its holder may keep using to read what was written)."""
    if isinstance(storage, Storage):
        return SqliteStore(storage)
    return storage


class SqliteStore(AsyncPlans):
    """A Store over one business's `Storage`; `for_business` shares its file and lock."""

    def __init__(self, storage: Storage, *, _shared: _Shared | None = None) -> None:
        self.storage = storage
        self._plans = Plans(storage._clock)
        self._shared = _shared or _shared_of(storage)

    @property
    def business(self) -> str:
        return self.storage.business

    @property
    def writes(self) -> int:
        return self.storage.writes

    def for_business(self, business_id: str) -> SqliteStore:
        return SqliteStore(self.storage.for_business(business_id), _shared=self._shared)

    def _owns(self) -> bool:
        owner = self._shared.owner
        return owner is not None and owner is asyncio.current_task()

    async def _run_async(self, plan: Plan[T], atomic: bool) -> T:
        if self._owns():
            return self.storage._run(plan, atomic)
        async with self._shared.lock:
            return self.storage._run(plan, atomic)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        if self._owns():
            with self.storage.batch():
                yield
            return
        async with self._shared.lock:
            self._shared.owner = asyncio.current_task()
            try:
                with self.storage.batch():
                    yield
            finally:
                self._shared.owner = None

    async def ping(self) -> int:
        return self.storage.ping()

    # -- coordination: one process (see the module) --

    @property
    def _pruning(self) -> Pruning:
        return self._shared.pruning

    def chat_turn(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        return self._shared.turns.hold((self.business, chat_id))

    @asynccontextmanager
    async def update_turn(
        self, chat_id: int, update_id: int, user_id: int | None = None, *, polled: bool = False
    ) -> AsyncIterator[UpdateTurn]:
        """chat_turn, with the update's delivery read in it and recorded at its end (one
        process: no other's updates to give way to)."""
        async with self.chat_turn(chat_id):
            turn = UpdateTurn(await self.delivered(update_id))
            try:
                yield turn
            finally:
                if turn.record:
                    try:
                        await self.first_delivery(update_id)
                    except Exception as exc:  # handled all the same: not handled again here
                        log.warning(
                            "update %s handled but not recorded: %s", update_id, type(exc).__name__
                        )

    def ownership(self, name: str) -> LocalOwnership:
        return LocalOwnership(self._shared.holders, name)

    async def peers(self) -> int:
        return 1  # SQLite: the process is the bot

    async def flood_wait(self, bot: str) -> float:
        return self._shared.flood.wait(f"{self.business}\x1f{bot}")

    async def hold_flood(self, bot: str, seconds: float) -> None:
        self._shared.flood.hold(f"{self.business}\x1f{bot}", seconds)

    async def close(self) -> None:
        self.storage.close()

    async def keep_updates(self, updates: Sequence[tuple[int, str]]) -> bool:
        return False  # one process: its poller confirms a batch once handled (contract)

    async def kept_updates(self) -> list[str]:
        return []

    async def take_sends(
        self, bot: str, want: int, cap: int, reserved: int = 0, replies: int = 0
    ) -> SendGrant:
        key = f"{self.business}\x1f{bot}"
        return SendGrant(*self._shared.sends.take(key, want, cap, reserved, replies))
