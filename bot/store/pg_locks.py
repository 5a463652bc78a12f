"""Locks shared by every process of one bot, in PostgreSQL (issue 20): session advisory locks
on one dedicated connection per process and database (`LockConnection`), for chats' turns
and for roles (`PgOwnership`: one poller per bot, one runner of the background jobs).

Why one connection for all of them, and not a pooled one per turn: a turn lasts as long as an
update's handling (Zimun calls included, seconds); holding a pooled connection for each would
cap the chats a process serves at once at the pool's size, and a role held for the process's
life would take one for good. A session advisory lock costs nothing while held, so every lock
of the process sits on one idle connection, and its statements are sub-millisecond.

What a lock on a session means: it is released when the session ends, so a process that dies
(its socket closes) or loses the database lets the others in. The server notices a vanished
machine by TCP keepalives, asked short here (idle 5 s, then 3 probes 2 s apart: about 11 s),
so a role moves within 15 seconds even when the holder's machine is gone; the holder notices
its own loss at its next check (`alive`, bounded by PING_TIMEOUT). A connection that failed is
replaced (its `generation` counts up) and everything it held counts as lost.

Locks are tried, never waited for on the server (`pg_try_advisory_lock`): a blocked statement
would stop every other lock of the process behind it. A turn whose chat is busy in another
process retries after a short, growing pause (rare: one chat's updates at two processes at
the same moment). PostgreSQL's session locks are reentrant within a session; `_held` refuses
a second holder in the same process, as another process would be refused.

An update's turn (`update_turn_lock`, `end_update_turn`) costs one round trip each way: the
statements go together in one query (the simple query protocol; psycopg binds the parameters
itself). Taking it marks the update as asking for its chat (a two-int advisory lock, held
until the turn ends), takes the turn unless another session marks a lower update of the same
chat (then it gives way, for at most ORDER_WAIT: that lower update goes first, whichever
process received it), and reads whether the update was recorded as handled and, given the
update's user, the chat's conversation and the user's language (what the update's handling
reads first: bot.store.postgres keeps it for the turn, saving that read's round trip). Ending it
records the update (committed, without waiting for the disk) before the unlocks, so whoever
takes the turn next sees the record. A mark is a session's lock like any other: a process
that dies takes its marks with it, and nobody waits for an update that will never come.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import psycopg.sql
from psycopg.pq import ExecStatus
from psycopg.rows import dict_row

from bot.store.plans import CONVERSATION_AND_LANGUAGE
from bot.store.storage import StorageError

T = TypeVar("T")
Connection = psycopg.AsyncConnection[dict[str, Any]]
log = logging.getLogger(__name__)

KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3  # seconds, seconds, probes
PING_TIMEOUT = 5.0  # seconds a liveness check or a lock statement may take
# Seconds between tries of a busy turn: the first short, since a chat's next update at another
# process mostly finds the last one's holder about to let go (its reply sent, its record due).
RETRY_FIRST, RETRY_MOST = 0.002, 0.05
ORDER_WAIT = 1.0  # seconds a turn gives way at most to a lower update of its chat elsewhere
APPLICATION = "bot-coordination"  # how pg_stat_activity names these connections


def lock_key(*parts: str) -> int:
    """A bigint advisory-lock key for a name (64 bits of BLAKE2b: collisions negligible)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _keepalive_kwargs() -> dict[str, Any]:
    """Both ends probe an idle connection: the server frees a dead machine's locks, the
    client learns its own link is gone (libpq keepalives; server GUCs via `options`)."""
    server = (
        f"-c tcp_keepalives_idle={KEEPALIVE_IDLE} -c tcp_keepalives_interval={KEEPALIVE_INTERVAL}"
        f" -c tcp_keepalives_count={KEEPALIVE_COUNT}"
        f" -c tcp_user_timeout={KEEPALIVE_IDLE * 2 * 1000}"
    )
    return {
        "keepalives": 1,
        "keepalives_idle": KEEPALIVE_IDLE,
        "keepalives_interval": KEEPALIVE_INTERVAL,
        "keepalives_count": KEEPALIVE_COUNT,
        "options": server,
        "application_name": APPLICATION,
    }


class LockConnection:
    """This process's session for advisory locks on one database (see the module)."""

    def __init__(self, url: str, error: Callable[[str, BaseException], StorageError]) -> None:
        self._url = url
        self._error = error
        self._conn: Connection | None = None
        self._mutex = asyncio.Lock()
        # key (a bigint, or an update's mark: bot.store.pg_locks.UpdateKeys) -> its generation
        self._held: dict[int | tuple[int, int], int] = {}
        self._undoing: set[asyncio.Future[None]] = set()  # kept alive until done
        self._quoted: dict[str, str] = {}  # text parameters as SQL literals (`_literal`)
        self.generation = 0
        self._prepared = -1  # the generation (session) whose turn statements are prepared

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.closed and not conn.broken

    def holds(self, key: int, generation: int) -> bool:
        same = self.generation == generation
        return self.connected and same and self._held.get(key) == generation

    async def _connection(self) -> Connection:
        if self.connected:
            return self._conn  # type: ignore[return-value]
        await self._drop()
        try:
            self._conn = await asyncio.wait_for(
                psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, row_factory=dict_row, **_keepalive_kwargs()
                ),
                PING_TIMEOUT * 2,
            )
        except (psycopg.Error, TimeoutError) as exc:
            raise self._error("cannot connect for locks", exc) from None
        self.generation += 1
        return self._conn

    async def _drop(self) -> None:
        """Forget the connection and every lock on it (the server freed them with it)."""
        conn, self._conn = self._conn, None
        if self._held:
            log.warning("lost the database session holding %d coordination locks", len(self._held))
        self._held.clear()
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error, TimeoutError):
                await asyncio.wait_for(conn.close(), PING_TIMEOUT)

    async def _scalar(self, sql: str, key: int | None = None) -> Any:
        """One statement on the session, serialised, bounded; a failure drops the session."""
        conn = await self._connection()
        try:
            async with asyncio.timeout(PING_TIMEOUT):  # no task of its own, as wait_for's
                cursor = await conn.execute(sql, (key,) if key is not None else None)
            row = await cursor.fetchone()
        except (psycopg.Error, TimeoutError) as exc:
            await self._drop()
            raise self._error("lock statement failed", exc) from None
        return next(iter(row.values())) if row else None

    async def _script(
        self, sql: str, params: dict[str, Any], bound: dict[str, Any] | None = None
    ) -> list[list[dict[str, Any]]]:
        """Several statements in one round trip (the simple query protocol: psycopg's
        client-side cursor), serialised and bounded as `_scalar`; the rows of each statement
        that returns rows, in order. `sql`'s `{name}` fields are `params`, as literals made
        here (`_literal`): psycopg's own binding cost more than the round trip it saves.
        `bound`: parameters psycopg binds to `sql`'s `%(name)s` (an update's held writes)."""
        conn = await self._connection()
        cursor = psycopg.AsyncClientCursor(conn)
        try:
            literals = {k: self._literal(conn, v) for k, v in params.items()}
            if bound is not None:  # psycopg then reads the text for %: a literal's are doubled
                literals = {k: v.replace("%", "%%") for k, v in literals.items()}
            text = sql.format_map(literals)
            async with asyncio.timeout(PING_TIMEOUT):
                await cursor.execute(text, bound)
            results: list[list[dict[str, Any]]] = []
            while True:
                if cursor.pgresult is not None and cursor.pgresult.status == ExecStatus.TUPLES_OK:
                    results.append(await cursor.fetchall())
                if not cursor.nextset():
                    return results
        except (psycopg.Error, TimeoutError) as exc:
            await self._drop()
            raise self._error("lock statement failed", exc) from None

    def _literal(self, conn: Connection, value: Any) -> str:
        """SQL text for a parameter: integers and booleans written out, text quoted by psycopg
        (the businesses' names kept, they recur)."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        quoted = self._quoted.get(value)
        if quoted is None:
            quoted = psycopg.sql.Literal(value).as_string(conn)
            if len(self._quoted) < 1024:
                self._quoted[value] = quoted
        return quoted

    async def _serial(
        self,
        work: Callable[[], Awaitable[T]],
        cancelled: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        """Run `work` alone on the session, and to its end even if the caller is cancelled;
        then `cancelled` undoes what it did for a caller that is no longer there (a lock taken
        for a cancelled caller would otherwise be held for the life of the process)."""

        async def alone() -> T:
            async with self._mutex:
                return await work()

        done = asyncio.ensure_future(alone())
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            if cancelled is not None:
                undo = cancelled

                def after(finished: asyncio.Future[T]) -> None:
                    if not finished.cancelled() and finished.exception() is None:
                        task = asyncio.ensure_future(undo(finished.result()))
                        self._undoing.add(task)
                        task.add_done_callback(self._undoing.discard)

                done.add_done_callback(after)
            raise

    async def try_lock(self, key: int) -> int | None:
        """Take `key` if free; the generation it was taken on, or None (held by anyone)."""

        async def attempt() -> int | None:
            if key in self._held and self.connected:
                return None  # another task of this process holds it
            taken = await self._scalar("SELECT pg_try_advisory_lock(%s)", key)
            if not taken:
                return None
            self._held[key] = self.generation
            return self.generation

        async def give_back(generation: int | None) -> None:
            if generation is not None:
                await self.unlock(key, generation)

        return await self._serial(attempt, give_back)

    async def unlock(self, key: int, generation: int) -> None:
        """Release `key` if it is still held on the session it was taken on. Never raises:
        when the session fails, it is dropped, and the lock went with it."""

        async def attempt() -> None:
            if self._held.get(key) != generation or not self.connected:
                return
            del self._held[key]
            with contextlib.suppress(StorageError):
                await self._scalar("SELECT pg_advisory_unlock(%s)", key)

        await self._serial(attempt)

    async def try_update_turn(
        self, keys: UpdateKeys, *, give_way: bool
    ) -> tuple[bool | None, int | None, dict[str, Any]]:
        """One try for an update's turn, in one round trip: its mark taken if not yet held
        (the update is asking for its chat's turn: how the others see it waiting), the turn
        taken unless `give_way` and another process marked a lower update of the chat, and
        then read: whether the update was recorded as handled (`done`) and, for keys with a
        `reader`, CONVERSATION_AND_LANGUAGE's columns. (taken: True, busy: False, given way:
        None; the turn's generation; the row read, only meaningful when taken)."""

        async def attempt() -> tuple[bool | None, int | None, dict[str, Any]]:
            if keys.turn in self._held and self.connected:
                return False, None, {"done": False}  # another task of this process holds it
            await self._connection()  # the session the script goes to: prepared on it yet?
            statements = [] if self._prepared == self.generation else [_PREPARE]
            mark = keys.mark
            if mark is not None and mark not in self._held:
                statements.append("SELECT pg_try_advisory_lock({chat}, {update}) AS mark")
            statements += [
                _TAKE_TURN if mark is None else _TRY_TURN,
                _DELIVERED_RUN if keys.reader is None else _DELIVERED_READ_RUN,
            ]
            params = {
                "chat": mark[0] if mark else 0,
                "update": mark[1] if mark else 0,
                "turn": keys.turn,
                "give_way": give_way and mark is not None,
                "business": keys.business,
                "update_id": keys.update_id,
                "chat_id": keys.reader[0] if keys.reader else 0,
                "user_id": keys.reader[1] if keys.reader else 0,
            }
            results = await self._script("; ".join(statements), params)
            self._prepared = self.generation
            if len(results) == 3 and results[0][0]["mark"]:
                self._held[mark] = self.generation  # type: ignore[index]
            got = results[-2][0]["got"]
            if got:
                self._held[keys.turn] = self.generation
            return got, self.generation if got else None, results[-1][0]

        async def give_back(outcome: tuple[bool | None, int | None, dict[str, Any]]) -> None:
            await self.end_update_turn(keys, outcome[1], None)

        return await self._serial(attempt, give_back)

    async def end_update_turn(
        self,
        keys: UpdateKeys,
        generation: int | None,
        record_at: str | None,
        writes: tuple[str, dict[str, Any]] | None = None,
        forget_kept: bool = False,
    ) -> bool:
        """The update's turn and mark let go, the update recorded as handled first (at
        `record_at`, if given: committed before the turn is free, without waiting for the
        disk, as `first_delivery`), in one round trip; with `writes` (the update's held
        writes: bot.store.pg_scripts, a text and its parameters), those and the record in one
        transaction, as durable as the server's setting makes any write; with `forget_kept`,
        the update's inbox row deleted too (bot.store.postgres INBOX_TABLE). Never raises; False
        when the record was asked for and not made (the session was lost: its locks went
        with it)."""
        held = writes if record_at is not None else None  # no record, nothing of the update

        async def attempt() -> bool:
            if not self.connected:
                self._held.pop(keys.turn, None)
                return record_at is None
            statements = []
            forget = [_FORGET_KEPT] if forget_kept else []
            if held is not None:  # the writes keep the server's durability
                writes_text = held[0].replace("{", "{{").replace("}", "}}")
                statements += ["BEGIN", writes_text, _RECORD_ROW, *forget, "COMMIT"]
            elif record_at is not None:  # the record alone: see first_delivery
                statements += ["BEGIN", _NO_FLUSH, _RECORD_ROW, *forget, "COMMIT"]
            else:
                statements += forget
            unlocks = []
            if generation is not None and self._held.get(keys.turn) == generation:
                del self._held[keys.turn]
                unlocks.append("pg_advisory_unlock({turn})")
            mark = keys.mark
            if mark is not None and mark in self._held:
                del self._held[mark]
                unlocks.append("pg_advisory_unlock({chat}, {update})")
            if unlocks:
                statements.append("SELECT " + ", ".join(unlocks))
            if not statements:
                return True
            params = {
                "turn": keys.turn,
                "chat": mark[0] if mark else 0,
                "update": mark[1] if mark else 0,
                "business": keys.business,
                "update_id": keys.update_id,
                "at": record_at,
            }
            try:
                await self._script("; ".join(statements), params, held[1] if held else None)
            except StorageError:
                return record_at is None
            return True

        return await self._serial(attempt)

    async def alive(self, generation: int) -> bool:
        """Is the session of `generation` still the database's? (one bounded round trip)"""

        async def attempt() -> bool:
            if self.generation != generation or not self.connected:
                return False
            try:
                await self._scalar("SELECT 1")
            except StorageError:
                return False
            return True

        return await self._serial(attempt)

    async def peers(self) -> int:
        """Processes with a session for locks on this database now, this one included."""

        async def attempt() -> int:
            count = await self._scalar(
                "SELECT count(*) FROM pg_stat_activity "
                f"WHERE datname = current_database() AND application_name = '{APPLICATION}'"
            )
            return max(int(count or 0), 1)

        return await self._serial(attempt)

    async def close(self) -> None:
        async with self._mutex:
            self._held.clear()
            await self._drop()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the session (what pg_terminate_backend takes: tests)."""
        return self._conn.info.backend_pid if self.connected else None  # type: ignore[union-attr]


class PgOwnership:
    """A role held as a session advisory lock on the process's LockConnection."""

    def __init__(self, locks: LockConnection, name: str) -> None:
        self._locks = locks
        self._name = name
        self._key = lock_key("own", name)
        self._generation: int | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def key(self) -> int:
        """The advisory lock's key (how pg_locks shows it held: bot.store.plans' claims)."""
        return self._key

    @property
    def held(self) -> bool:
        return self._generation is not None and self._locks.holds(self._key, self._generation)

    async def try_acquire(self) -> bool:
        if self._generation is not None:
            try:
                if await self._locks.alive(self._generation) and self.held:
                    return True
            except StorageError:
                pass
            self._generation = None
            log.warning("lost the role %s", self._name)
        try:
            self._generation = await self._locks.try_lock(self._key)
        except StorageError as exc:
            log.warning("cannot try the role %s: %s", self._name, exc)
            self._generation = None
        return self._generation is not None

    async def release(self) -> None:
        generation, self._generation = self._generation, None
        if generation is not None:
            await self._locks.unlock(self._key, generation)


class Claimer:
    """The process's name on the rows it claims (bot.store.plans `claim`): a session lock of
    its own, held while the process lives, so a claim whose lock nobody holds was left by a
    dead process. Checked before each claim (one task at a time: a role is not meant to be
    tried by two at once); taken again on a new session when the last one was lost."""

    def __init__(self, locks: LockConnection, name: str) -> None:
        self._role = PgOwnership(locks, name)
        self._mutex = asyncio.Lock()

    @property
    def key(self) -> int:
        return self._role.key

    async def hold(self) -> bool:
        async with self._mutex:
            return await self._role.try_acquire()


# One update's turn (LockConnection.try_update_turn): a lower update of the chat is waiting
# when another session holds its mark (the two-int advisory lock: objsubid 2, the chat's
# number as classid, the update's as objid) in this database.
_LOWER_WAITING = (
    "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.objsubid = 2 "
    "AND l.granted AND l.database = (SELECT oid FROM pg_database "
    "WHERE datname = current_database()) AND l.classid = {chat}::oid "
    "AND l.objid < {update}::oid AND l.pid <> pg_backend_pid())"
)
_TRY_TURN = (
    f"SELECT CASE WHEN {{give_way}} AND {_LOWER_WAITING} THEN NULL "
    "ELSE pg_try_advisory_lock({turn}) END AS got"
)
_TAKE_TURN = "SELECT pg_try_advisory_lock({turn}) AS got"  # unmarked: gives way to none
# A statement of its own after the lock: its snapshot sees a record committed before the last
# holder let the turn go (a statement's snapshot is taken when it starts, READ COMMITTED).
_DELIVERED = (
    "SELECT EXISTS (SELECT 1 FROM deliveries WHERE business = {business} "
    "AND update_id = {update_id}) AS done"
)
# The same with the chat's conversation and the user's language (bot.store.plans'
# conversation_and_language), read in the same statement, so with the same snapshot: after
# the turn was taken, hence after every write of the chat's last turn (committed before it
# let the turn go).
_DELIVERED_READ = f"{_DELIVERED}, " + CONVERSATION_AND_LANGUAGE.replace("?1", "{business}").replace(
    "?2", "{chat_id}"
).replace("?3", "{user_id}")
# Both prepared once per session, in the script of its first turn: planned once, not at every
# update (their joins cost the server more to plan than to run).
_ARGS = {"business": "$1", "update_id": "$2", "chat_id": "$3", "user_id": "$4"}
_PREPARE = (
    (
        f"PREPARE bot_delivered (text, bigint) AS {_DELIVERED.format_map(_ARGS)}; "
        "PREPARE bot_delivered_read (text, bigint, bigint, bigint) AS "
        f"{_DELIVERED_READ.format_map(_ARGS)}"
    )
    .replace("{", "{{")
    .replace("}", "}}")
)
_DELIVERED_RUN = "EXECUTE bot_delivered({business}, {update_id})"
_DELIVERED_READ_RUN = "EXECUTE bot_delivered_read({business}, {update_id}, {chat_id}, {user_id})"
# bot.store.plans' first_delivery, committed before the unlock that follows it.
_RECORD_ROW = (
    "INSERT INTO deliveries (business, update_id, at) VALUES ({business}, {update_id}, "
    "{at}) ON CONFLICT (business, update_id) DO NOTHING"
)
_NO_FLUSH = "SET LOCAL synchronous_commit TO off"
_FORGET_KEPT = "DELETE FROM inbox WHERE business = {business} AND update_id = {update_id}"
_MARKS = 1 << 31  # an update's mark is two int4 keys: its chat's 31-bit number, its id


@dataclass(frozen=True)
class UpdateKeys:
    """The locks of one update's turn: the chat's turn (`lock_key("turn", business, chat)`,
    shared with `chat_turn`) and the update's mark, (the chat's 31-bit number, the update's
    id), or None for an id past int4 (then it neither waits for lower ones nor is seen); and
    `reader`, (the chat's id, the user's), when the turn is to read the conversation and the
    language too (None: the delivery only)."""

    turn: int
    mark: tuple[int, int] | None
    business: str
    update_id: int
    reader: tuple[int, int] | None = None

    @classmethod
    def of(
        cls,
        business: str,
        chat_id: int,
        update_id: int,
        user_id: int | None = None,
        *,
        marked: bool = True,
    ) -> UpdateKeys:
        """`marked`: False when the updates reach the processes in order (one poller): then
        no mark, and no look for others' (the look reads every lock of the server)."""
        chat = lock_key("order", business, str(chat_id)) % _MARKS
        mark = (chat, update_id) if marked and 0 <= update_id < _MARKS else None
        reader = (chat_id, user_id) if user_id is not None else None
        return cls(lock_key("turn", business, str(chat_id)), mark, business, update_id, reader)


async def update_turn_lock(locks: LockConnection, keys: UpdateKeys) -> tuple[int, dict[str, Any]]:
    """Take an update's turn (see LockConnection.try_update_turn), retrying while the chat is
    busy, and giving way for at most ORDER_WAIT to a lower update of the chat that another
    process asks for; (the turn's generation, the row read once it was taken: `done`, and
    the conversation's and the language's columns for keys with a reader). Lets the mark go
    if it fails."""
    loop = asyncio.get_running_loop()
    until = loop.time() + ORDER_WAIT
    pause = RETRY_FIRST
    try:
        while True:
            got, generation, read = await locks.try_update_turn(keys, give_way=loop.time() < until)
            if got and generation is not None:
                return generation, read
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MOST)
    except BaseException:
        await locks.end_update_turn(keys, None, None)
        raise


async def turn_lock(locks: LockConnection, key: int) -> int:
    """Take a chat's turn lock, retrying while another process holds it; its generation."""
    pause = RETRY_FIRST
    while True:
        generation = await locks.try_lock(key)
        if generation is not None:
            return generation
        await asyncio.sleep(pause)
        pause = min(pause * 2, RETRY_MOST)
