"""Several processes, one bot (issue 20): what the processes agree on through the store.

Two "processes" are two stores opened separately on one PostgreSQL database (each its own pool
and its own session for locks). SQLite's store serves one process: there, the two are two
views of one opened store, and the same promises hold inside the process."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sized
from datetime import timedelta

import psycopg
import pytest

from bot.core.records import ConversationRow, FunnelEvent
from bot.core.screens import Reply
from bot.followup.notices import NoticeService
from bot.store import plans
from bot.store.contract import Ownership, Store
from bot.store.pg_locks import KEEPALIVE_COUNT, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL
from bot.store.postgres import PostgresStore
from bot.store.storage import REMINDERS
from tests.backends import Backend
from tests.clock import MONDAY
from tests.store.world import CUSTOMER, START, booking


async def two_processes(backend: Backend) -> tuple[Store, Store]:
    first = await backend.open()
    if backend.name == "sqlite":
        return first, first.for_business(first.business)
    return first, await backend.open()


async def test_one_update_of_a_chat_at_a_time_across_processes(backend: Backend) -> None:
    a, b = await two_processes(backend)
    order: list[str] = []
    a_inside, other_chat_done = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with a.chat_turn(42):
            order.append("a in")
            a_inside.set()
            await other_chat_done.wait()  # another chat's turn is not held up meanwhile
            await asyncio.sleep(0.05)  # room for b to (wrongly) come in
            order.append("a out")

    async def second() -> None:
        await a_inside.wait()
        async with b.chat_turn(42):
            order.append("b in")
        order.append("b out")

    async def other_chat() -> None:
        await a_inside.wait()
        async with b.chat_turn(43):
            order.append("43")
        other_chat_done.set()

    await asyncio.gather(first(), second(), other_chat())
    assert order == ["a in", "43", "a out", "b in", "b out"]


async def test_a_turn_given_up_while_waiting_leaves_the_chat_free(backend: Backend) -> None:
    a, b = await two_processes(backend)
    inside, leave = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with a.chat_turn(7):
            inside.set()
            await leave.wait()

    held = asyncio.create_task(holder())
    await inside.wait()
    waiting = asyncio.create_task(b.chat_turn(7).__aenter__())
    for _ in range(10):
        await asyncio.sleep(0.01)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    leave.set()
    await held
    for store in (a, b):  # neither process keeps the chat
        async with store.chat_turn(7):
            pass


async def test_an_update_delivered_twice_is_handled_once(backend: Backend) -> None:
    a, b = await two_processes(backend)
    ids = [1000 + n for n in range(20)]
    answers = await asyncio.gather(
        *(store.first_delivery(update) for update in ids for store in (a, b, a, b))
    )
    assert sum(answers) == len(ids)
    asked = [update for update in ids for _ in range(4)]
    assert sorted(u for u, first in zip(asked, answers, strict=True) if first) == ids
    assert not await b.first_delivery(ids[0])


async def test_an_update_recorded_as_handled_is_delivered_for_every_process(
    backend: Backend,
) -> None:
    a, b = await two_processes(backend)
    assert not await a.delivered(55) and not await b.delivered(55)
    assert await b.first_delivery(55)
    assert await a.delivered(55) and await b.delivered(55)
    assert not await a.delivered(56)


async def test_deliveries_older_than_a_day_are_forgotten(backend: Backend) -> None:
    old = (MONDAY - timedelta(days=2)).isoformat(timespec="seconds")
    recent = (MONDAY - timedelta(hours=2)).isoformat(timespec="seconds")
    store = await backend.open()
    await store.first_delivery(1)  # the schema is there; this process has pruned once
    other = await backend.open()  # a process that has not pruned yet
    insert = "INSERT INTO deliveries (business, update_id, at) VALUES ('', %s, %s)"
    rows = [(5, old), (6, recent)]
    if backend.name == "sqlite":
        with sqlite3.connect(backend.target) as conn:
            conn.executemany(insert.replace("%s", "?"), rows)
    else:
        with psycopg.connect(backend.target) as pg:
            pg.cursor().executemany(insert, rows)
    assert await other.first_delivery(7)
    left = backend.rows("SELECT update_id FROM deliveries ORDER BY update_id")
    assert left == [(1,), (6,), (7,)]


async def test_a_role_has_one_holder_and_moves_when_released(backend: Backend) -> None:
    a, b = await two_processes(backend)
    mine, theirs = a.ownership("poll:"), b.ownership("poll:")
    assert isinstance(mine, Ownership) and mine.name == "poll:"
    assert not mine.held
    assert await mine.try_acquire() and mine.held
    assert await mine.try_acquire()  # still ours: checked, not taken twice
    assert not await theirs.try_acquire() and not theirs.held
    assert await b.ownership("jobs:").try_acquire()  # another role is another lock
    await mine.release()
    assert not mine.held
    assert await theirs.try_acquire() and theirs.held
    assert not await mine.try_acquire()


async def _terminate_lock_session(backend: Backend, store: Store) -> None:
    assert isinstance(store, PostgresStore)
    pid = store._shared.locks.backend_pid
    assert pid is not None
    with psycopg.connect(backend.target, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # waits for its end


async def test_a_role_moves_when_its_holders_connection_ends(backend: Backend) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite's store is one process: the role dies with it")
    a, b = await two_processes(backend)
    mine, theirs = a.ownership("jobs:"), b.ownership("jobs:")
    turn = a.chat_turn(1)
    await turn.__aenter__()  # a turn on the same session goes with it
    assert await mine.try_acquire()
    assert not await theirs.try_acquire()
    await _terminate_lock_session(backend, a)  # as the server does when the machine vanishes
    assert await theirs.try_acquire()
    async with b.chat_turn(1):
        pass
    assert not await mine.try_acquire() and not mine.held  # a finds out at its next check
    await turn.__aexit__(None, None, None)
    await b.close()  # the process ends: its connections close, its roles are free ...
    for _ in range(100):  # ... once its server process has ended (just after the close)
        if await mine.try_acquire():
            break
        await asyncio.sleep(0.05)
    assert mine.held


async def test_the_locks_session_asks_the_server_to_notice_a_dead_machine_in_time(
    backend: Backend,
) -> None:
    """A role must move within 15 s of its holder's machine vanishing: the server probes the
    idle session and drops it (and its locks) after idle + count x interval seconds."""
    if backend.name == "sqlite":
        pytest.skip("SQLite's store is one process")
    store = await backend.open()
    assert isinstance(store, PostgresStore)
    assert KEEPALIVE_IDLE + KEEPALIVE_COUNT * KEEPALIVE_INTERVAL < 15
    assert await store.ownership("poll:").try_acquire()
    locks = store._shared.locks

    async def show(setting: str) -> int:
        return int(await locks._serial(lambda: locks._scalar(f"SHOW {setting}")))

    assert await show("tcp_keepalives_idle") == KEEPALIVE_IDLE
    assert await show("tcp_keepalives_interval") == KEEPALIVE_INTERVAL
    assert await show("tcp_keepalives_count") == KEEPALIVE_COUNT


async def test_polling_offsets_go_on_where_the_last_poller_stopped(backend: Backend) -> None:
    a, b = await two_processes(backend)
    assert await a.poll_offset("111") == 0
    await a.set_poll_offset("111", 501)
    assert await b.poll_offset("111") == 501
    await b.set_poll_offset("111", 400)  # a late writer never moves it back
    assert await a.poll_offset("111") == 501
    await b.set_poll_offset("111", 502)
    assert await a.poll_offset("111") == 502
    assert await a.poll_offset("222") == 0  # another bot's


async def test_a_429_pauses_the_bot_in_every_process(backend: Backend) -> None:
    a, b = await two_processes(backend)
    assert await b.flood_wait("111") == 0.0  # read (and cached) before the 429
    await a.hold_flood("111", 30)
    assert 25 < await a.flood_wait("111") <= 30
    if isinstance(b, PostgresStore):
        assert await b.flood_wait("111") == 0.0  # b trusts what it read for a second ...
        b._shared.flood.clear()  # (as a second later)
    assert 25 < await b.flood_wait("111") <= 30  # ... then sees the pause
    await b.hold_flood("111", 1)  # a shorter pause never shortens a longer one
    assert await a.flood_wait("111") > 25
    assert await a.flood_wait("222") == 0.0


async def test_each_process_counts_the_processes_on_the_database(backend: Backend) -> None:
    a, b = await two_processes(backend)
    if backend.name == "sqlite":
        assert await a.peers() == await b.peers() == 1  # the process is the bot
        return
    assert await a.peers() == 1  # b has not coordinated yet
    assert await b.peers() == 2


async def _one_reminder(store: Store) -> int:
    booking_id = await store.add_booking(**vars(booking("a_lapse")))
    await store.set_reminders(booking_id, CUSTOMER, CUSTOMER, [(60, START)], language="en")
    [reminder] = await store.reminders_for_booking(booking_id)
    return reminder.id


async def _due(store: Store) -> list[int]:
    return [r.id for r in await store.due_reminders(START)]


async def _eventually(read: Callable[[], Awaitable[Sized]], within: float = 15.0) -> None:
    """Until `read()` finds something: a killed process's session ends at the server a moment
    after its connection closed (a bound on a hang, not a measure of speed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await read():
        assert loop.time() < deadline, "never found"
        await asyncio.sleep(0.05)


async def test_a_claim_left_by_a_killed_sender_is_claimed_again_once(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender killed between the claim and the send's end loses nothing: while it lives its
    claim stands; once it is gone (PostgreSQL: its session; SQLite: the next start) the row
    is due again, claimed by one, and once marked done by nobody ever again."""
    killed = await backend.open()
    reminder = await _one_reminder(killed)
    assert await killed.claim(REMINDERS, reminder)  # ... and killed before the send's end
    if backend.name == "pg":
        other = await backend.open()
        assert reminder not in await _due(other)  # its claimer lives: not another's
        assert not await other.claim(REMINDERS, reminder)
        await killed.close()  # the process dies: its session and its claimer lock with it
    else:  # one process: the next start (another claimer) finds it
        assert reminder not in await _due(killed)  # in flight in this very process
        assert not await killed.claim(REMINDERS, reminder)
        monkeypatch.setattr(plans, "PROCESS_CLAIMER", plans.PROCESS_CLAIMER + 1)
        other = await backend.open()
    await _eventually(lambda: _due(other))
    assert reminder in await _due(other)
    second = await backend.open()  # another process still, racing for it
    won = await asyncio.gather(other.claim(REMINDERS, reminder), second.claim(REMINDERS, reminder))
    assert sorted(won) == [False, True]
    winner = other if won[0] else second
    await winner.claim_done(REMINDERS, reminder)
    assert backend.rows("SELECT status, claimed_by FROM reminders") == [("sent", None)]
    for store in (other, second):
        assert reminder not in await _due(store)
        assert not await store.claim(REMINDERS, reminder)


async def test_a_notice_whose_sender_was_killed_mid_send_is_sent_by_the_next_once(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox end to end (bot.followup.outbox): the sender is killed while Telegram has
    the message (its send never returns); the next process (PostgreSQL: another one; SQLite:
    the next start) sends it, and a further pass sends nothing."""
    killed = await backend.open()
    booking_id = await killed.add_booking(**vars(booking("a_notice")))
    row = await killed.get_booking(booking_id)
    assert row is not None
    moved = START - timedelta(hours=1)
    await killed.add_notice(row, "moved", start=START, previous_start=moved, language="en")
    inside = asyncio.Event()
    told: list[int] = []

    async def hang(chat_id: int, reply: Reply) -> bool:
        inside.set()
        await asyncio.Event().wait()  # killed before Telegram answers
        return True

    async def send(chat_id: int, reply: Reply) -> bool:
        told.append(chat_id)
        return True

    sending = asyncio.create_task(NoticeService(killed, now=lambda: MONDAY).flush(hang))
    await inside.wait()
    sending.cancel()  # the SIGKILL
    with pytest.raises(asyncio.CancelledError):
        await sending
    if backend.name == "pg":
        await killed.close()
    else:
        monkeypatch.setattr(plans, "PROCESS_CLAIMER", plans.PROCESS_CLAIMER + 1)
    survivor_store = await backend.open()
    # The server ends a closed session's locks a moment after the client hung up.
    await _eventually(lambda: survivor_store.pending_notices())
    survivor = NoticeService(survivor_store, now=lambda: MONDAY)
    assert (await survivor.flush(send)).sent == 1
    assert told == [CUSTOMER]
    assert (await survivor.flush(send)).sent == 0
    assert told == [CUSTOMER]
    assert backend.rows("SELECT status, claimed_by FROM notices") == [("sent", None)]


async def test_an_updates_turn_reads_its_delivery_and_records_it_once_handled(
    backend: Backend,
) -> None:
    a, b = await two_processes(backend)
    async with a.update_turn(7, 900) as turn:
        assert not turn.delivered
        turn.handled()
    assert await b.delivered(900)
    async with b.update_turn(7, 900) as turn:
        assert turn.delivered  # a second delivery, in another process
    async with b.update_turn(7, 901) as turn:
        pass  # not handled (stopped mid-way): not recorded, a redelivery is handled
    assert not await a.delivered(901)
    inside, order = asyncio.Event(), []

    async def holder() -> None:
        async with a.update_turn(8, 902):
            inside.set()
            await asyncio.sleep(0.05)  # room for the chat's turn to (wrongly) be given
            order.append("update")

    async def page() -> None:
        await inside.wait()
        async with b.chat_turn(8):
            order.append("page")

    await asyncio.gather(holder(), page())
    assert order == ["update", "page"]


async def test_an_updates_turn_never_answers_a_stale_conversation_or_language(
    backend: Backend,
) -> None:
    """Told the update's user, PostgreSQL's turn reads the chat's conversation and the user's
    language with the turn (one round trip less per update); whatever was written before the
    turn, in it, or between turns, the next read sees it (and SQLite, which reads when asked,
    answers the same)."""
    a, b = await two_processes(backend)
    chat, user, other = CUSTOMER, CUSTOMER, CUSTOMER + 1

    def row(state: str) -> ConversationRow:
        return ConversationRow(chat, user, state)

    def kept() -> bool:  # what the PostgreSQL turn read, held for the turn's first read
        return isinstance(a, PostgresStore) and (a.business, chat) in a._shared.turn_reads

    await b.save_conversation(chat, user, "s1", pending=False)
    await b.set_language(user, "es")
    async with a.update_turn(chat, 910, user) as turn:
        assert kept() == (backend.name == "pg")
        assert await a.conversation_and_language(chat, user) == (row("s1"), "es")
        assert not kept()  # given once
        await a.save_with_funnel(chat, user, "s2", pending=False, funnel=[])
        await a.set_language(user, "de")
        assert await a.conversation_and_language(chat, user) == (row("s2"), "de")
        turn.handled()
    # Written between two turns, by another process: the next turn reads it.
    await b.save_conversation(chat, user, "s3", pending=False)
    await b.set_language(user, "it")
    async with a.update_turn(chat, 911, user) as turn:
        assert await a.conversation_and_language(chat, user) == (row("s3"), "it")
        await b.save_conversation(chat, user, "s4", pending=False)  # a second read reads
        assert await a.conversation_and_language(chat, user) == (row("s4"), "it")
        turn.handled()
    # A write of this process in the turn, before the first read: that read sees it.
    async with a.update_turn(chat, 912, user) as turn:
        await a.save_conversation(chat, user, "s5", pending=True)
        assert await a.conversation_and_language(chat, user) == (row("s5"), "it")
    async with a.update_turn(chat, 913, user) as turn:
        await a.set_language(user, "en")
        assert await a.conversation_and_language(chat, user) == (row("s5"), "en")
    # Another user in the chat is read for, not answered what the turn read for its user.
    async with a.update_turn(chat, 914, user) as turn:
        assert await a.conversation_and_language(chat, other) == (row("s5"), None)
    # A turn's read unused is forgotten with the turn: a read after it sees what came since.
    async with a.update_turn(chat, 915, user) as turn:
        assert kept() == (backend.name == "pg")
    assert not kept()
    await b.save_conversation(chat, user, "s6", pending=False)
    assert await a.conversation_and_language(chat, user) == (row("s6"), "en")
    # A handled update's second delivery reads nothing for its handling.
    async with b.update_turn(chat, 910, user) as turn:
        assert turn.delivered
        assert not kept()
    # Forgetting the customer in the turn: nothing kept survives it.
    async with a.update_turn(chat, 916, user) as turn:
        await a.forget_user(user, chat)
        assert await a.conversation_and_language(chat, user) == (None, None)


def _state_and_funnel(backend: Backend, chat: int) -> tuple[str | None, int]:
    """What the database holds, past every store: the chat's state and the funnel's rows."""
    states = backend.rows("SELECT state FROM conversations WHERE chat_id = %s", (chat,))
    funnel = backend.rows("SELECT count(*) FROM funnel")
    return (states[0][0] if states else None), funnel[0][0]


async def test_an_updates_last_writes_are_committed_with_its_record(backend: Backend) -> None:
    """On PostgreSQL, what an update's handling writes last (its conversation, its funnel
    events) goes in with its record as its turn ends (bot.store.pg_scripts): nobody reads the
    database without them after the turn, and an update not handled writes neither. What is in
    flight (`pending`) is written at once, as every write on SQLite."""
    a, b = await two_processes(backend)
    pg = backend.name == "pg"
    chat = user = CUSTOMER
    event = FunnelEvent(START, "attempt-1", "started")
    await b.save_conversation(chat, user, "s0", pending=False)
    async with a.update_turn(chat, 930, user) as turn:
        await a.conversation_and_language(chat, user)
        # A tap's engine runs in a task of its own, awaited in the turn: it is the turn's too.
        await asyncio.ensure_future(
            a.save_with_funnel(chat, user, "s1", pending=False, funnel=[event])
        )
        assert _state_and_funnel(backend, chat) == (("s0", 0) if pg else ("s1", 1))
        assert not await b.delivered(930)
        turn.handled()
    assert _state_and_funnel(backend, chat) == ("s1", 1)
    assert await b.delivered(930)

    async with a.update_turn(chat, 931, user):  # stopped mid-way: delivered again later
        await a.save_with_funnel(chat, user, "s2", pending=False, funnel=[event])
    assert _state_and_funnel(backend, chat) == (("s1", 1) if pg else ("s2", 2))
    assert not await b.delivered(931)

    async with a.update_turn(chat, 932, user) as turn:
        await a.save_with_funnel(chat, user, "s3", pending=True, funnel=[])  # in flight
        assert _state_and_funnel(backend, chat)[0] == "s3"
        await a.save_with_funnel(chat, user, "s4", pending=False, funnel=[])
        await a.save_conversation(chat, user, "s5", pending=False)  # after it, and it stays
        assert await a.conversation_and_language(chat, user) == (
            ConversationRow(chat, user, "s5"),
            None,
        )
        turn.handled()
    assert _state_and_funnel(backend, chat)[0] == "s5"

    late = asyncio.Event()

    async def outlives_the_turn() -> None:
        await late.wait()
        await a.save_with_funnel(chat, user, "s6", pending=False, funnel=[])

    async with a.update_turn(chat, 933, user) as turn:
        straggler = asyncio.ensure_future(outlives_the_turn())
        turn.handled()
    late.set()
    await straggler  # the turn is over: written at once
    assert _state_and_funnel(backend, chat)[0] == "s6"


async def test_an_updates_held_writes_survive_the_loss_of_the_lock_session(
    backend: Backend,
) -> None:
    if backend.name == "sqlite":
        pytest.skip("SQLite's store has no session to lose")
    a, b = await two_processes(backend)
    chat = user = CUSTOMER
    async with a.update_turn(chat, 940, user) as turn:
        await a.save_with_funnel(chat, user, "kept", pending=False, funnel=[])
        await _terminate_lock_session(backend, a)  # the turn's end cannot be sent there
        turn.handled()
    assert _state_and_funnel(backend, chat)[0] == "kept"  # written on the pool instead
    assert await b.delivered(940)
    async with a.update_turn(chat, 941, user) as turn:  # on a new session, prepared anew
        assert await a.conversation_and_language(chat, user) == (
            ConversationRow(chat, user, "kept"),
            None,
        )
        turn.handled()
    assert await b.delivered(941)


async def test_updates_in_telegrams_order_are_not_marked_for_the_others(
    backend: Backend,
) -> None:
    """Polled updates reach one process in order: their turns take no mark (the mark is how
    a webhook's update asks another process to let a lower one of the chat go first)."""
    if backend.name == "sqlite":
        pytest.skip("SQLite's store is one process: no marks")
    a, _ = await two_processes(backend)
    marks = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2"
    async with a.update_turn(CUSTOMER, 950, polled=True) as turn:
        assert backend.rows(marks) == [(0,)]
        turn.handled()
    async with a.update_turn(CUSTOMER, 951) as turn:
        assert backend.rows(marks) == [(1,)]
        turn.handled()
    assert await a.delivered(950) and await a.delivered(951)


async def test_a_kept_update_is_forgotten_once_handled_or_found_handled(
    backend: Backend,
) -> None:
    """PostgreSQL keeps polled updates until their turns end handled (or find them handled
    before), so a poller may confirm them to Telegram at once; SQLite keeps none (its one
    process confirms a batch once handled)."""
    a, b = await two_processes(backend)
    body = '{{"update_id": {}}}'.format
    kept = await a.keep_updates([(960, body(960)), (961, body(961)), (962, body(962))])
    if backend.name == "sqlite":
        assert not kept and await b.kept_updates() == []
        return
    assert kept and await b.kept_updates() == [body(960), body(961), body(962)]
    async with b.update_turn(CUSTOMER, 960, polled=True) as turn:
        turn.handled()
    async with b.update_turn(CUSTOMER, 961, polled=True):
        pass  # stopped mid-way: kept for the next poller
    async with a.update_turn(CUSTOMER, 960, polled=True) as turn:
        assert turn.delivered  # taken again by a next poller: found handled, forgotten
    assert await a.kept_updates() == [body(961), body(962)]
    assert await a.first_delivery(962)  # handled before its keeping was committed
    await a.forget_deliveries(MONDAY - timedelta(days=1))  # now and then: such rows go
    assert await b.kept_updates() == [body(961)]
