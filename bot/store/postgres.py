"""The store in PostgreSQL (DATABASE_URL): the same schema and the same statements as SQLite's,
over psycopg 3's asynchronous driver and a connection pool, so the event loop never waits on
the database and several processes can share one (issue 20).

The statements are the plans' (bot.store.plans), translated once each (bot.store.dialect);
only the outboxes' claims are told differently (FOR UPDATE SKIP LOCKED). Each statement outside
a `batch()` runs on a pooled connection in autocommit (one round trip); a batch takes one
connection for its transaction, and every call of the same task inside it uses that one (a
context variable: concurrent tasks each get their own connection from the pool).

The schema is SQLite's schema 6, translated by type (bot.store.dialect): identity ids, BIGINT
integers, every text `COLLATE "C"`. Times stay text, in the same fixed-width ISO form SQLite
holds: the statements compare them as text, the rows are read by the same code
(bot.core.records), the waiting list's `COALESCE(next_check_at, '')` works unchanged, and
`copy-data` copies every value as it is. TIMESTAMPTZ would have meant a second reading of
every row and a second form of several statements, for no behaviour the bot has.

Migrations: `schema_version` holds one row per version applied; the store numbers versions
as SQLite's does (it starts at 6, the schema SQLite reached by six steps), so a migration 7
is written for both. They run in one transaction under a transaction-scoped advisory lock:
several processes starting together apply them once, the others wait and find them done.

Coordination (bot.store.contract): chats' turns and roles are session advisory locks on one
connection of the process's own (bot.store.pg_locks); deliveries and polling offsets are rows
with unique keys; a 429's pause is a row too, its end reckoned by the database's clock
(`clock_timestamp()`), so no two machines' clocks are ever compared, and read at most once a
second per process and bot (FLOOD_CACHE). The bot's messages a second are counted per second
of the database's clock in `send_budget` (take_sends: one statement per batch of tokens).

An update's turn reads, with the turn, the chat's conversation and its user's language (when
told the user): what the update's handling reads first (bot.chat.engine). The store keeps that
answer for the turn (`_Shared.turn_reads`) and gives it to the turn's first
`conversation_and_language` of that chat and user, once: a second call reads the database. It
is forgotten when the turn ends, and before and after any write of this process that could
change it (the chat's conversation, the user's language, a forget, a prune), so it is never
older than the last write: within the turn nobody else writes the chat (its writers take its turn).
What the handling writes last (`save_with_funnel`: the conversation it leaves, its funnel
events) is held and committed with the update's record as the turn ends, after the reply went
out: one round trip fewer before the reply (bot.store.pg_scripts).

The URL's password never reaches a message: errors name the host and database only, and any
text from the driver has the password masked before it is shown.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bot.config.clock import utc_now
from bot.core.records import ConversationRow, FunnelEvent
from bot.store.async_plans import AsyncPlans
from bot.store.contract import SendGrant, UpdateTurn
from bot.store.dialect import ddl_to_postgres, to_postgres
from bot.store.local_coord import DELIVERY_MEMORY, KeyedLocks, Pruning
from bot.store.pg_locks import (
    Claimer,
    LockConnection,
    PgOwnership,
    UpdateKeys,
    lock_key,
    turn_lock,
    update_turn_lock,
)
from bot.store.pg_scripts import HELD_TABLES, TurnWrites, script_of
from bot.store.plans import (
    ERASE,
    MANY,
    READ,
    WAITLIST,
    WRITE,
    Done,
    Op,
    Outbox,
    Plan,
    Plans,
    conversation_of,
)
from bot.store.storage import (
    BUSINESS_INDEXES,
    BUSINESS_TABLES,
    CLAIMER_COLUMNS,
    COORDINATION_INDEXES,
    COORDINATION_TABLES,
    FUNNEL_TABLE,
    SCHEMA_VERSION,
    StorageError,
)

T = TypeVar("T")
Connection = psycopg.AsyncConnection[dict[str, Any]]
log = logging.getLogger(__name__)

# pg_advisory_xact_lock's key for the migration transaction ("zimun" on a phone keypad).
MIGRATION_LOCK = 94686
POOL_MIN, POOL_MAX = 1, 10
CONNECT_TIMEOUT = 10  # seconds
FLOOD_CACHE = 1.0  # seconds a process trusts the 429 pause it last read for a bot

# The 429 pause, by the database's clock (milliseconds since the epoch).
_DB_NOW_MS = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
_FLOOD_READ = (
    f"SELECT GREATEST(flood_until_ms - {_DB_NOW_MS}, 0) AS ms FROM bot_state "
    "WHERE business = ?1 AND bot = ?"
)
_FLOOD_HOLD = (
    f"INSERT INTO bot_state (business, bot, flood_until_ms) VALUES (?1, ?, {_DB_NOW_MS} + ?) "
    "ON CONFLICT(business, bot) DO UPDATE SET flood_until_ms = "
    "GREATEST(COALESCE(bot_state.flood_until_ms, 0), excluded.flood_until_ms)"
)


# ---- the URL, without its password --------------------------------------------------------


class Target:
    """Where DATABASE_URL points, and how to say so without its password."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parts = urlsplit(url)
            self.secrets = [s for s in {parts.password, unquote(parts.password or "")} if s]
            host = parts.hostname or "localhost"
            port = f":{parts.port}" if parts.port else ""
            self.label = f"{host}{port}/{parts.path.lstrip('/') or '?'}"
            scheme_ok = parts.scheme in ("postgresql", "postgres")
        except ValueError:
            self.secrets, self.label, scheme_ok = [], "?", False
        if not scheme_ok:
            raise StorageError("DATABASE_URL: not a postgresql:// URL")

    def safe(self, text: object) -> str:
        """`text` on one line, with the password (as typed, and decoded) masked wherever it
        appears."""
        line = " ".join(str(text).split())
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line

    def error(self, what: str, exc: BaseException) -> StorageError:
        return StorageError(f"PostgreSQL {self.label}: {what}: {self.safe(exc)}")


# ---- schema and migrations ------------------------------------------------------------------


def _schema_6() -> list[str]:
    """SQLite's schema 6, in PostgreSQL's types: the tables, then the same indexes."""
    tables = [ddl_to_postgres(ddl.format(name=name)) for name, ddl in BUSINESS_TABLES.items()]
    return [*tables, ddl_to_postgres(FUNNEL_TABLE), *BUSINESS_INDEXES]


def _coordination_7() -> list[str]:
    """Schema 7: deliveries and bot_state (bot.store.storage._m7_coordination)."""
    return [*map(ddl_to_postgres, COORDINATION_TABLES.values()), *COORDINATION_INDEXES]


def _claimers_8() -> list[str]:
    """Schema 8: the outboxes' claimers (bot.store.storage._m8_claimers)."""
    return [f"ALTER TABLE {table} ADD COLUMN claimed_by BIGINT" for table in CLAIMER_COLUMNS]


# version -> its statements. The first is SQLite's sixth (see the module). Append, never edit.
MIGRATIONS: dict[int, Callable[[], list[str]]] = {
    6: _schema_6,
    7: _coordination_7,
    8: _claimers_8,
}
assert max(MIGRATIONS) == SCHEMA_VERSION, "a SQLite migration without its PostgreSQL twin"
TABLES = (*BUSINESS_TABLES, "funnel")


async def migrate(conn: Connection, target: Target, now: datetime) -> int:
    """Bring the schema to SCHEMA_VERSION, once across every process; returns the version."""
    async with conn.transaction():
        await conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        row = await (await conn.execute("SELECT max(version) AS v FROM schema_version")).fetchone()
        current = int(row["v"] or 0) if row else 0
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"PostgreSQL {target.label}: schema version {current} is newer than this bot "
                f"({SCHEMA_VERSION})"
            )
        if current == 0:
            others = await (
                await conn.execute(
                    "SELECT count(*) AS n FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
                )
            ).fetchone()
            if others and others["n"]:
                raise StorageError(
                    f"PostgreSQL {target.label}: has tables but no schema version; not a bot db"
                )
        for version in sorted(v for v in MIGRATIONS if v > current):
            for statement in MIGRATIONS[version]():
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
                (version, now.astimezone(UTC).isoformat(timespec="seconds")),
            )
            current = version
        await conn.execute(SEND_BUDGET_TABLE)  # not versioned: see SEND_BUDGET_TABLE
        await conn.execute(INBOX_TABLE)  # not versioned either: see INBOX_TABLE
    return current


async def connect(target: Target) -> Connection:
    """One connection as the pool makes them: autocommit, rows as dicts, `$N` parameters."""
    try:
        return await psycopg.AsyncConnection.connect(
            target.url,
            autocommit=True,
            row_factory=dict_row,
            cursor_factory=psycopg.AsyncRawCursor,
            connect_timeout=CONNECT_TIMEOUT,
        )
    except psycopg.Error as exc:
        raise target.error("cannot connect", exc) from None


# ---- the store ------------------------------------------------------------------------------


class _Shared:
    """What every business's store on one database shares: the pool, the clock, the count of
    committed transactions, and where the database is (for messages); and the process's
    coordination: its session for advisory locks, the chats' turns queued in the process, and
    what it last read of each bot's 429 pause (monotonic time read, seconds left)."""

    def __init__(self, pool: AsyncConnectionPool, target: Target, now: Callable[[], datetime]):
        self.pool = pool
        self.target = target
        self.now = now
        self.writes = 0
        self.locks = LockConnection(target.url, target.error)
        # The process's claims of outbox rows are named by a session lock of its own: a claim
        # whose lock nobody holds was left by a dead process (bot.store.plans `claim`).
        self.claimer = Claimer(self.locks, f"claimer:{secrets.token_hex(16)}")
        self.turns = KeyedLocks()
        self.pruning = Pruning()
        self.flood: dict[str, tuple[float, float]] = {}
        # What each update's turn held now read of its chat (see the module): (business, chat)
        # -> the update's user, and the conversation and language read.
        self.turn_reads: dict[tuple[str, int], TurnRead] = {}


@dataclass(frozen=True)
class TurnRead:
    """`conversation_and_language(chat, user_id)` as an update's turn read it."""

    user_id: int
    answer: tuple[ConversationRow | None, str | None]


# The transaction the current task holds, if any: (the database's _Shared, its connection).
_HELD: contextvars.ContextVar[tuple[_Shared, Connection] | None] = contextvars.ContextVar(
    "bot_store_postgres_transaction", default=None
)


# The writes the current task's update turn holds for its end (bot.store.pg_scripts).
_TURN_WRITES: contextvars.ContextVar[TurnWrites | None] = contextvars.ContextVar(
    "bot_store_postgres_turn_writes", default=None
)


class PostgresStore(AsyncPlans):
    """One business's store in PostgreSQL; `open_postgres` opens one, `for_business` gives
    another business's on the same pool. Only the opener's `close()` closes the pool."""

    def __init__(self, shared: _Shared, business: str, *, owner: bool) -> None:
        self._shared = shared
        self._business = business
        self._owner = owner
        self._plans = Plans(self._clock, claimer=shared.claimer.key)

    def _clock(self) -> datetime:
        return self._shared.now()

    @property
    def business(self) -> str:
        return self._business

    @property
    def writes(self) -> int:
        return self._shared.writes

    @property
    def label(self) -> str:
        """Host, port and database: how messages name it (never the password)."""
        return self._shared.target.label

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Connection]:
        """A pooled connection for a report's own read-only queries (/stats: bot.ops.stats_pg),
        which are not plans; errors as the store's, without the password."""
        await self._flush_turn()
        try:
            async with self._shared.pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise self._shared.target.error("read failed", exc) from None

    def for_business(self, business_id: str) -> PostgresStore:
        return PostgresStore(self._shared, business_id, owner=False)

    async def close(self) -> None:
        if self._owner:
            await self._shared.locks.close()
            await self._shared.pool.close()

    async def ping(self) -> int:
        try:
            async with self._shared.pool.connection() as conn:
                cursor = await conn.execute("SELECT max(version) AS v FROM schema_version")
                row = await cursor.fetchone()
        except psycopg.Error as exc:
            raise self._shared.target.error("read failed", exc) from None
        return int(row["v"] or 0) if row else 0

    # -- transactions --

    def _held(self) -> Connection | None:
        held = _HELD.get()
        return held[1] if held is not None and held[0] is self._shared else None

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """One transaction on one connection for everything this task does inside; nests."""
        if self._held() is not None:
            yield
            return
        await self._flush_turn()
        shared = self._shared
        try:
            async with shared.pool.connection() as conn:
                token = _HELD.set((shared, conn))
                try:
                    async with conn.transaction():
                        yield
                finally:
                    _HELD.reset(token)
        except psycopg.Error as exc:  # the commit itself failed
            raise shared.target.error("write failed", exc) from None
        shared.writes += 1

    # -- coordination (see the module) --

    @property
    def _pruning(self) -> Pruning:
        return self._shared.pruning

    @asynccontextmanager
    async def chat_turn(self, chat_id: int) -> AsyncIterator[None]:
        """This process's tasks queue in the process; the first asks the database."""
        shared = self._shared
        async with shared.turns.hold((self._business, chat_id)):
            key = lock_key("turn", self._business, str(chat_id))
            generation = await turn_lock(shared.locks, key)
            try:
                yield
            finally:
                await shared.locks.unlock(key, generation)

    @asynccontextmanager
    async def update_turn(
        self, chat_id: int, update_id: int, user_id: int | None = None, *, polled: bool = False
    ) -> AsyncIterator[UpdateTurn]:
        """chat_turn for one update (bot.store.contract): its delivery read with the lock
        (and, given `user_id`, the chat's conversation and the user's language, kept for the
        turn: see the module), recorded with the unlock, one round trip each on the process's
        lock session."""
        shared = self._shared
        chat = (self._business, chat_id)
        async with shared.turns.hold(chat):
            keys = UpdateKeys.of(self._business, chat_id, update_id, user_id, marked=not polled)
            generation, read = await update_turn_lock(shared.locks, keys)
            turn = UpdateTurn(bool(read["done"]))
            kept = None
            if user_id is not None and not turn.delivered:
                kept = shared.turn_reads[chat] = TurnRead(user_id, conversation_of(read))
            writes = TurnWrites(chat)
            token = _TURN_WRITES.set(None if turn.delivered else writes)
            try:
                yield turn
            finally:
                _TURN_WRITES.reset(token)
                if kept is not None and shared.turn_reads.get(chat) is kept:
                    del shared.turn_reads[chat]
                # Not handled (cancelled mid-way): neither its writes nor its record (the
                # writes go only with the record: end_update_turn); it is delivered again
                # and handled again from the state before it.
                held = writes.close()
                at = self._plans._now() if turn.record else None
                forget_kept = polled and (turn.record or turn.delivered)  # its inbox row
                recorded = await shared.locks.end_update_turn(
                    keys, generation, at, held, forget_kept
                )
                if turn.record:
                    if recorded:
                        shared.writes += 1  # the record's transaction, on the lock session
                    await self._recorded(update_id, recorded, held)

    async def _recorded(
        self, update_id: int, recorded: bool, held: tuple[str, dict[str, Any]] | None
    ) -> None:
        """After an update's turn: its held writes and its record made on the pool if the
        lock session could not, and older deliveries forgotten now and then (as
        first_delivery)."""
        try:
            if not recorded:
                if held is not None:
                    await self._send_script(*held)
                await self._run_async(self._plans.first_delivery(update_id), False)
            now = self._plans._clock()
            if self._pruning.due(self.business, now):
                await self.forget_deliveries(now - DELIVERY_MEMORY)
        except Exception as exc:  # handled all the same: not handled again here
            log.warning("update %s handled but not recorded: %s", update_id, type(exc).__name__)

    async def claim(self, box: Outbox, item_id: int) -> bool:
        """The plan's claim, named by this process's claimer lock, held first: without it
        (the database away) nothing is claimed, or another process could take the row at
        once."""
        if not await self._shared.claimer.hold():
            return False
        return await self._run_async(self._plans.claim(box, item_id), False)

    async def claim_waitlist(self, item_id: int) -> bool:
        return await self.claim(WAITLIST, item_id)

    def ownership(self, name: str) -> PgOwnership:
        return PgOwnership(self._shared.locks, name)

    async def peers(self) -> int:
        """The sessions for locks on this database (one per process: bot.store.pg_locks)."""
        return await self._shared.locks.peers()

    async def flood_wait(self, bot: str) -> float:
        cache, key = self._shared.flood, f"{self._business}\x1f{bot}"
        now = time.monotonic()
        seen = cache.get(key)
        if seen is None or now - seen[0] >= FLOOD_CACHE:
            rows = await self._execute(Op(READ, _FLOOD_READ, (bot,)))
            seen = (now, rows[0]["ms"] / 1000 if rows else 0.0)
            cache[key] = seen
        return max(0.0, seen[1] - (now - seen[0]))

    async def hold_flood(self, bot: str, seconds: float) -> None:
        await self._execute(Op(WRITE, _FLOOD_HOLD, (bot, round(max(seconds, 0.0) * 1000))))
        self._shared.flood.pop(f"{self._business}\x1f{bot}", None)

    # -- what the update's turn read (see the module) --

    async def conversation_and_language(
        self, chat_id: int, user_id: int
    ) -> tuple[ConversationRow | None, str | None]:
        """What this chat's update turn read, if it read it for `user_id` and nothing
        changed it since (given once); else the plan's read."""
        kept = self._shared.turn_reads.pop((self._business, chat_id), None)
        if kept is not None and kept.user_id == user_id:
            return kept.answer
        return await self._run_async(self._plans.conversation_and_language(chat_id, user_id), False)

    @contextmanager
    def _changing(
        self, *, chat_id: int | None = None, user_id: int | None = None
    ) -> Iterator[None]:
        """Around a write that may change `chat_id`'s conversation or `user_id`'s language
        (both None: anything of this business): what turns read of them is forgotten before
        it starts and again once it is done (a turn may have read while it was under way)."""
        self._stale(chat_id, user_id)
        try:
            yield
        finally:
            self._stale(chat_id, user_id)

    def _stale(self, chat_id: int | None, user_id: int | None) -> None:
        reads, business = self._shared.turn_reads, self._business
        everything = chat_id is None and user_id is None
        for key, kept in list(reads.items()):
            if key[0] == business and (everything or key[1] == chat_id or kept.user_id == user_id):
                del reads[key]

    async def set_language(self, user_id: int, language: str) -> None:
        with self._changing(user_id=user_id):
            await super().set_language(user_id, language)

    async def save_conversation(
        self, chat_id: int, user_id: int, state: str, *, pending: bool
    ) -> None:
        with self._changing(chat_id=chat_id, user_id=user_id):
            await super().save_conversation(chat_id, user_id, state, pending=pending)

    async def forget_user(self, user_id: int, chat_id: int | None = None) -> None:
        with self._changing():  # rare: every kept read of the business
            await super().forget_user(user_id, chat_id)

    async def prune(self, *, appointments_before: datetime, idle_before: datetime) -> int:
        with self._changing():
            return await super().prune(
                appointments_before=appointments_before, idle_before=idle_before
            )

    async def save_with_funnel(
        self,
        chat_id: int,
        user_id: int,
        state: str | None,
        *,
        pending: bool,
        funnel: list[FunnelEvent],
    ) -> None:
        """The plan's writes in one round trip: BEGIN, its statements with their parameters
        bound here (psycopg's client-side cursor), COMMIT, sent as one query; instead of a
        round trip for each of them and for BEGIN and COMMIT. Inside a batch, as any plan. An
        unchanged conversation (None) leaves what a turn read as it is."""
        unchanged = state is None
        with nullcontext() if unchanged else self._changing(chat_id=chat_id, user_id=user_id):
            plan = self._plans.save_with_funnel(
                chat_id, user_id, state, pending=pending, funnel=funnel
            )
            if self._held() is not None:
                await self._run_async(plan, False)
                return
            writes = self._turn_writes(chat_id)
            if writes is not None and not pending:  # written with the turn's end (pg_scripts)
                writes.add(plan, self._business)
                return
            await self._flush_turn()
            statements, params = script_of(plan, self._business)
            if statements:
                await self._send_script("; ".join(statements), params)

    async def _send_script(self, text: str, params: dict[str, Any]) -> None:
        """Writes in one transaction and one round trip on a pooled connection."""
        shared = self._shared
        try:
            async with shared.pool.connection() as conn:
                await psycopg.AsyncClientCursor(conn).execute(f"BEGIN; {text}; COMMIT", params)
        except psycopg.Error as exc:
            raise shared.target.error("write failed", exc) from None
        shared.writes += 1

    def _turn_writes(self, chat_id: int) -> TurnWrites | None:
        """The current task's update turn's held writes, if it is `chat_id`'s turn."""
        writes = _TURN_WRITES.get()
        if writes is None or writes.chat != (self._business, chat_id) or not writes.open:
            return None
        return writes

    async def _flush_turn(self) -> None:
        """The writes the current task's update turn holds, sent now, on their own: before
        this task reads or writes what they touch, or opens a transaction (pg_scripts)."""
        writes = _TURN_WRITES.get()
        if writes is not None and writes.statements and writes.open:
            held = writes.take()
            if held is not None:
                await self._send_script(*held)

    # -- running a plan --

    async def _run_async(self, plan: Plan[T], atomic: bool) -> T:
        if atomic:
            async with self.batch():
                return await self._drive(plan)
        return await self._drive(plan)

    async def _drive(self, plan: Plan[T]) -> T:
        answer: Any = None
        try:
            while True:
                answer = await self._execute(plan.send(answer))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _execute(self, op: Op) -> Any:
        if op.kind == ERASE:  # PostgreSQL's own WAL and vacuum are the operator's (README)
            return None
        sql = to_postgres(op.postgres or op.sql)
        if op.returns_id:
            sql += " RETURNING id"
        params = (self._business, *op.params)
        shared = self._shared
        held = self._held()
        waiting = _TURN_WRITES.get()
        if held is None and waiting is not None and waiting.statements and _touches_held(op):
            await self._flush_turn()
        try:
            if held is not None:
                return await self._on(held, op, sql, params)
            async with shared.pool.connection() as conn:
                answer = await self._on(conn, op, sql, params)
        except psycopg.Error as exc:
            what = "read failed" if op.kind == READ else "write failed"
            raise shared.target.error(what, exc) from None
        if op.kind != READ:
            shared.writes += 1
        return answer

    @staticmethod
    async def _on(conn: Connection, op: Op, sql: str, params: tuple[Any, ...]) -> Any:
        if op.kind == MANY:
            cursor = conn.cursor()
            business = params[0]
            await cursor.executemany(sql, [(business, *row) for row in op.params])
            return Done(cursor.rowcount)
        cursor = await conn.execute(sql, params)
        if op.kind == READ:
            return await cursor.fetchall()
        if op.returns_id:
            row = await cursor.fetchone()
            return Done(cursor.rowcount, int(row["id"]) if row else None)
        return Done(cursor.rowcount)

    # -- polled updates kept until handled (see INBOX_TABLE) --

    async def forget_deliveries(self, before: datetime) -> int:
        """As the plan, and the kept updates found handled forgotten too: a row whose keeping
        committed after its update's turn had ended (its keeping and its handling run side
        by side) would otherwise wait for the next poller."""
        forgotten = await super().forget_deliveries(before)
        await self._execute(Op(WRITE, _FORGET_HANDLED, ()))
        return forgotten

    async def keep_updates(self, updates: Sequence[tuple[int, str]]) -> bool:
        ids, bodies = [u[0] for u in updates], [u[1] for u in updates]
        await self._execute(Op(WRITE, _KEEP, (ids, bodies)))
        return True

    async def kept_updates(self) -> list[str]:
        return [row["body"] for row in await self._execute(Op(READ, _KEPT, ()))]

    # -- the bot's messages per second, counted across processes (see _SEND_TAKE) --

    async def take_sends(
        self, bot: str, want: int, cap: int, reserved: int = 0, replies: int = 0
    ) -> SendGrant:
        params = (bot, *(max(n, 0) for n in (want, cap, reserved, replies)))
        rows = await self._execute(Op(READ, _SEND_TAKE, params))
        row = rows[0]
        grant = SendGrant(row["second"], row["granted"], row["used"], 1000 - row["at_ms"] % 1000)
        if _SEND_PURGE.due(self._shared, self._business, bot):
            await self._execute(
                Op(WRITE, _SEND_FORGET, (bot, grant.second - SEND_BUDGET_KEPT_SECONDS))
            )
        return grant


def _touches_held(op: Op) -> bool:
    return any(table in op.sql for table in HELD_TABLES)


async def open_postgres(
    url: str,
    *,
    now: Callable[[], datetime] = utc_now,
    business: str = "",
    pool_max: int = POOL_MAX,
) -> PostgresStore:
    """Connect to DATABASE_URL, apply the schema and its migrations (once across processes),
    and open the pool. StorageError, naming host and database only, when any of it fails."""
    target = Target(url)
    conn = await connect(target)
    try:
        await migrate(conn, target, now())
    except psycopg.Error as exc:
        raise target.error("cannot apply the schema", exc) from None
    finally:
        await conn.close()
    pool = AsyncConnectionPool(
        url,
        min_size=POOL_MIN,
        max_size=pool_max,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "cursor_factory": psycopg.AsyncRawCursor,
            "connect_timeout": CONNECT_TIMEOUT,
        },
        open=False,
        name="bot-store",
    )
    try:
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
    except Exception as exc:
        await pool.close()
        raise target.error("cannot open the connection pool", exc) from None
    return PostgresStore(_Shared(pool, target, now), business, owner=True)


# ---- the bot's messages per second, across processes (Coordination.take_sends) --------------

# One row per business, bot and second (by the database's clock, `clock_timestamp()`): how many
# messages the bot's processes took in that second. UNLOGGED: a count that matters for one
# second needs no WAL and no crash safety (PostgreSQL empties it after a crash: the bot then
# counts from zero, as Telegram's own window does a second later). Not a versioned part of the
# schema: PostgreSQL's alone (SQLite's one process counts in memory), created if missing when
# the store opens, under the migration's lock; copy-data has nothing to copy from it.
SEND_BUDGET_TABLE = (
    "CREATE UNLOGGED TABLE IF NOT EXISTS send_budget ("
    ' business TEXT COLLATE "C" NOT NULL,'
    ' bot TEXT COLLATE "C" NOT NULL,'
    " second BIGINT NOT NULL,"
    " used BIGINT NOT NULL,"
    " granted BIGINT NOT NULL,"
    " at_ms BIGINT NOT NULL,"
    " PRIMARY KEY (business, bot, second))"
)
# Polled updates kept from the getUpdates answer that carried them until handled (keep_updates,
# bot.telegram.cluster.OwnedPoller), so that the poller confirms them to Telegram at once and
# polls on while they are handled. A row lives for the handling of its update: forgotten as the
# update's turn ends (bot.store.pg_locks). Not a versioned part of the schema, as send_budget:
# PostgreSQL's alone, created if missing when the store opens; copy-data has nothing to copy.
INBOX_TABLE = (
    "CREATE TABLE IF NOT EXISTS inbox ("
    ' business TEXT COLLATE "C" NOT NULL,'
    " update_id BIGINT NOT NULL,"
    ' body TEXT COLLATE "C" NOT NULL,'
    " PRIMARY KEY (business, update_id))"
)
_KEEP = (
    "INSERT INTO inbox (business, update_id, body) "
    "SELECT ?1, u.id, u.body FROM unnest(?::bigint[], ?::text[]) AS u (id, body) "
    "ON CONFLICT (business, update_id) DO NOTHING"
)
_KEPT = "SELECT body FROM inbox WHERE business = ?1 ORDER BY update_id"
_FORGET_HANDLED = (
    "DELETE FROM inbox i USING deliveries d WHERE i.business = ?1 AND d.business = ?1 "
    "AND d.update_id = i.update_id"
)
SEND_BUDGET_KEPT_SECONDS = 60  # the seconds a bot's counts are kept (then forgotten)
SEND_BUDGET_PURGE_EVERY = 30.0  # seconds between a process's purges of one bot's old counts

# Take up to ?3 (want) of the second's messages, leaving the count at most ?4 (cap), and at
# most ?6 (replies) of them from the last ?5 (reserved): the count becomes
# LEAST(cap, used + want, GREATEST(used, cap - reserved) + replies), never less than it was.
# The second's first take inserts its row, the others update it under the row's lock, so the
# processes' takes of one second are serialized by the database and never pass the cap. Every
# SET expression reads the row as it was: `granted` is what this take added. One clock reading
# (`at_ms`) gives the second and how much of it is left.
_SEND_NEXT = "LEAST(?4, {used} + ?3, GREATEST({used}, ?4 - ?5) + ?6)"
_SEND_TAKE = (
    "INSERT INTO send_budget AS b (business, bot, second, used, granted, at_ms) "
    "SELECT ?1, ?2, c.ms / 1000, n.used, n.used, c.ms "
    f"FROM (SELECT {_DB_NOW_MS} AS ms) AS c, "
    f"(SELECT GREATEST(0, {_SEND_NEXT.format(used=0)}) AS used) AS n "
    "ON CONFLICT (business, bot, second) DO UPDATE SET "
    f"used = GREATEST(b.used, {_SEND_NEXT.format(used='b.used')}), "
    f"granted = GREATEST(b.used, {_SEND_NEXT.format(used='b.used')}) - b.used, "
    "at_ms = excluded.at_ms "
    "RETURNING second, used, granted, at_ms"
)
_SEND_FORGET = "DELETE FROM send_budget WHERE business = ?1 AND bot = ?2 AND second < ?3"


class _Purges:
    """When this process last forgot each bot's old counts (monotonic time), per database."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, str, str], float] = {}

    def due(self, shared: _Shared, business: str, bot: str) -> bool:
        key, now = (id(shared), business, bot), time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < SEND_BUDGET_PURGE_EVERY:
            return False
        self._last[key] = now
        return True


_SEND_PURGE = _Purges()
