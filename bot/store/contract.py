"""The store's contract: what the rest of the bot may ask of a store, whichever database holds
it (issue 20). Every operation is a coroutine, because the PostgreSQL store awaits its driver
(the event loop never waits on the database); the SQLite store keeps answering at once.

`Store` has every public method of the synchronous `Storage` (bot.store.storage), with the same
names, arguments and results, as `async def`; plus the business it serves, `for_business` (the
same database for another business, sharing its connections), `batch()` (one transaction, an
async context manager that nests), `ping()` (the schema version; raises StorageError when the
database is unusable) and `close()` (only the store that opened the database closes it).

Inside a batch, only the task that opened it uses the store: a task it starts and awaits
meanwhile would wait for the batch (SQLite) or join its transaction (PostgreSQL).

`Coordination` is what several processes of one bot agree on through the store (issue 20):
one update of a chat at a time, the lower first (`chat_turn`, `update_turn`), an update
handled once (`update_turn`, `first_delivery`), one owner of a job or of a bot's polling
(`ownership`), the polling offset, and Telegram's 429 pauses honoured by every process
(`flood_wait`/`hold_flood`). In PostgreSQL they are the
database's own locks and unique keys; SQLite's store serves one process, and keeps them in
that process (its unique keys still in the file).

Telegram's 30 messages a second are counted for the bot as a whole too (`take_sends`): in
PostgreSQL a row per bot and second of the database's clock, in SQLite the process's count.

Two stores keep it: bot.store.sqlite_async.SqliteStore (SQLite, the embedded default) and
bot.store.postgres.PostgresStore; bot.store.factory.open_store picks one from the settings.
tests/store/test_contract.py checks that both have every method with these signatures.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, runtime_checkable

from bot.core.lifecycle import Stored, Write
from bot.core.records import (
    BookingRow,
    ConversationRow,
    FunnelEvent,
    NoticeRow,
    ReminderRow,
    WaitlistRow,
)
from bot.store.plans import Outbox


@runtime_checkable
class Ownership(Protocol):
    """A named role that one process at a time holds ("poll:<business>", "jobs:<business>"):
    in PostgreSQL a session advisory lock, so it ends with the process (its connection
    closes) or with its connection to the database, whichever comes first."""

    @property
    def name(self) -> str: ...

    @property
    def held(self) -> bool:
        """Held as far as this process last saw (try_acquire checks it with the database)."""
        ...

    async def try_acquire(self) -> bool:
        """Take it if nobody holds it; if this process holds it, check that it still does.
        True when held. Call it again every few seconds: that is how a holder notices it
        lost the database, and how another process takes over from a dead holder."""
        ...

    async def release(self) -> None:
        """Give it up (a rolling restart hands over at once instead of at the next try)."""
        ...


@dataclass
class UpdateTurn:
    """One update's turn in its chat (Coordination.update_turn): `delivered` says another
    process (or an earlier start) handled the update already; `handled()` asks for it to be
    recorded as handled when the turn ends, before the chat is let go."""

    delivered: bool
    record: bool = False

    def handled(self) -> None:
        self.record = True


class Coordination(Protocol):
    """What several processes of one bot agree on through the store (see the module)."""

    def chat_turn(self, chat_id: int) -> AbstractAsyncContextManager[None]:
        """Held while one update of `chat_id` is handled: the next update of that chat, in
        this process or another, waits for it. Not reentrant (never nest one chat's turns)."""
        ...

    def update_turn(
        self, chat_id: int, update_id: int, user_id: int | None = None, *, polled: bool = False
    ) -> AbstractAsyncContextManager[UpdateTurn]:
        """`chat_turn` for one update, with the update's `delivered` read once the turn is
        taken and, if the holder called `handled()`, its `first_delivery` written before the
        turn is let go (a failed write is logged, not raised: the update was handled). Across
        processes, a chat's lower update that another process is asking a turn for at the
        same moment goes first (waited for at most about a second; a dead process's is not
        waited for). PostgreSQL takes the turn and reads the delivery in one round trip, and
        records it and lets the turn go in another; given the update's `user_id`, that first
        round trip also reads what the turn's first `conversation_and_language(chat_id,
        user_id)` answers (never after a write of either: bot.store.postgres). SQLite ignores
        `user_id` (its reads cost no round trip). `polled`: the update came from the bot's
        one poller, which fetches them all in Telegram's order, so no update gives way to
        another process's, and none is shown to the others as asking (PostgreSQL then spares
        the server the look at every lock that giving way takes); and kept (`keep_updates`)
        until its turn ends handled or found handled before. On PostgreSQL, the
        conversation and funnel events that `save_with_funnel` writes in the turn (not in
        flight: `pending` false) are written with the update's record as the turn ends, and
        not at all if the update was not handled (bot.store.pg_scripts)."""
        ...

    async def keep_updates(self, updates: Sequence[tuple[int, str]]) -> bool:
        """Keep polled updates ((id, the update's JSON)) until each is handled (its polled
        `update_turn` forgets it), so that the poller may confirm them to Telegram before they
        are handled: True once kept, in one round trip. False where nothing is kept (SQLite:
        one process, whose poller confirms a batch once handled); raises if the store could
        not keep them (the poller then waits for the handling, as without)."""
        ...

    async def kept_updates(self) -> list[str]:
        """The kept updates not yet handled (JSON, in update order): what a new poller hands
        to its process before it polls (their turns drop those handled meanwhile)."""
        ...

    def ownership(self, name: str) -> Ownership:
        """The role `name` (not yet tried: call try_acquire)."""
        ...

    async def peers(self) -> int:
        """How many processes coordinate through this database now, this one included (at
        least 1): how a process knows its fair share of the bots to poll."""
        ...

    async def flood_wait(self, bot: str) -> float:
        """Seconds `bot` must still wait after a 429 (0.0: none). Read at most about once a
        second per process (cached), so asking before every send costs no query."""
        ...

    async def hold_flood(self, bot: str, seconds: float) -> None:
        """Telegram answered 429 retry_after=`seconds` to `bot`: every process waits that long
        (measured by the database's clock: no two machines' clocks are compared)."""
        ...

    async def take_sends(
        self, bot: str, want: int, cap: int, reserved: int = 0, replies: int = 0
    ) -> SendGrant:
        """Take up to `want` of `bot`'s messages of the current second, the second's count
        staying at most `cap` (Telegram's 30), and at most `replies` of them from the second's
        last `reserved` (kept for replies: a background send takes none of them, a reply no
        more than are waiting). One statement, the second by the database's clock, so every
        process of the bot counts in the same seconds (bot.telegram.shared_budget). Nothing is
        handed back: what a process took and did not send lapses with the second."""
        ...


class SendGrant(NamedTuple):
    """What `take_sends` gave: `granted` messages of the second `second` (by the database's
    clock), whose count is now `used`; the second ends in `ms_left` milliseconds."""

    second: int
    granted: int
    used: int
    ms_left: int


@runtime_checkable
class Store(Coordination, Protocol):
    """One business's view of the bot's database (see the module)."""

    @property
    def business(self) -> str:
        """The business whose rows this store reads and writes ('' for the environment's)."""
        ...

    @property
    def writes(self) -> int:
        """Committed transactions through this database's stores (what the benchmark counts)."""
        ...

    def for_business(self, business_id: str) -> Store: ...

    def batch(self) -> AbstractAsyncContextManager[None]: ...

    async def ping(self) -> int: ...

    async def close(self) -> None: ...

    async def get_language(self, user_id: int) -> str | None: ...
    async def set_language(self, user_id: int, language: str) -> None: ...
    async def get_prefs(self, user_id: int) -> dict[str, Any]: ...
    async def update_prefs(self, user_id: int, **changes: Any) -> None: ...
    async def add_booking(
        self,
        *,
        user_id: int,
        chat_id: int,
        appointment_id: str,
        service_id: str,
        service_name: str,
        location_id: str,
        location_name: str,
        location_address: str,
        timezone: str,
        start: datetime,
        end: datetime | None,
        status: str,
        language: str | None = None,
        checked_at: datetime | None = None,
        next_check_at: datetime | None = None,
        booked_at: datetime | None = None,
    ) -> int: ...
    async def update_booking(
        self,
        booking_id: int,
        *,
        status: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        language: str | None = None,
        checked_at: datetime | None = None,
        next_check_at: datetime | None = None,
    ) -> None: ...
    async def bookings_to_check(self, now: datetime, limit: int) -> list[BookingRow]: ...
    async def upcoming_bookings(self, now: datetime) -> list[BookingRow]: ...
    async def upcoming_count(self, user_id: int, now: datetime) -> int: ...
    async def booked_since(self, user_id: int, since: datetime) -> int: ...
    async def get_booking(self, booking_id: int) -> BookingRow | None: ...
    async def bookings_for_user(self, user_id: int) -> list[BookingRow]: ...
    async def booking_by_appointment(self, appointment_id: str) -> BookingRow | None: ...
    async def stored_booking(
        self,
        booking_id: int | None = None,
        *,
        appointment_id: str | None = None,
    ) -> Stored | None: ...
    async def apply(self, write: Write) -> int: ...
    async def set_reminders(
        self,
        booking_id: int,
        user_id: int,
        chat_id: int,
        due: list[tuple[int, datetime]],
        *,
        language: str | None,
    ) -> None: ...
    async def drop_pending_reminders(self, booking_id: int) -> None: ...
    async def due_reminders(self, now: datetime, limit: int = 100) -> list[ReminderRow]: ...
    async def reminders_for_booking(self, booking_id: int) -> list[ReminderRow]: ...
    async def claim(self, box: Outbox, item_id: int) -> bool: ...
    async def unclaim(self, box: Outbox, item_id: int) -> None: ...
    async def claim_done(self, box: Outbox, item_id: int) -> None: ...
    async def skip(self, box: Outbox, item_ids: list[int]) -> None: ...
    async def claim_waitlist(self, item_id: int) -> bool: ...
    async def add_notice(
        self,
        booking: BookingRow,
        kind: str,
        *,
        start: datetime,
        previous_start: datetime,
        language: str | None,
    ) -> int: ...
    async def pending_notice(self, booking_id: int) -> NoticeRow | None: ...
    async def skip_pending_notices(self, booking_id: int) -> None: ...
    async def pending_notices(self, limit: int = 100) -> list[NoticeRow]: ...
    async def notices_for_booking(self, booking_id: int) -> list[NoticeRow]: ...
    async def join_waitlist(
        self,
        *,
        user_id: int,
        chat_id: int,
        service_id: str,
        service_name: str,
        location_id: str,
        location_name: str,
        timezone: str,
        day: date,
        ends_at: datetime,
        language: str | None,
        now: datetime,
        next_check_at: datetime,
    ) -> int: ...
    async def waitlist_entry(self, entry_id: int) -> WaitlistRow | None: ...
    async def waitlist_entry_for(
        self,
        user_id: int,
        service_id: str,
        location_id: str,
        day: date,
    ) -> WaitlistRow | None: ...
    async def waitlist_for_user(self, user_id: int, now: datetime) -> list[WaitlistRow]: ...
    async def leave_waitlist(self, entry_id: int) -> None: ...
    async def end_waitlist(self, now: datetime) -> int: ...
    async def waitlist_pairs_due(self, now: datetime, limit: int) -> list[tuple[str, str]]: ...
    async def waiting_for_pair(
        self,
        service_id: str,
        location_id: str,
        now: datetime,
    ) -> list[WaitlistRow]: ...
    async def open_offers(
        self,
        service_id: str,
        location_id: str,
        day: date,
        since: datetime,
    ) -> int: ...
    async def waitlist_day_full(self, service_id: str, location_id: str, day: date) -> None: ...
    async def offer_waitlist(self, entry_ids: list[int], now: datetime) -> None: ...
    async def schedule_waitlist(
        self,
        service_id: str,
        location_id: str,
        next_check_at: datetime,
        *,
        checked: list[date],
        at: datetime,
    ) -> None: ...
    async def due_waitlist(self, limit: int = 100) -> list[WaitlistRow]: ...
    async def waitlist_booked(
        self,
        user_id: int,
        service_id: str,
        location_id: str,
        day: date,
    ) -> int: ...
    async def record_funnel(self, events: list[FunnelEvent]) -> None: ...
    async def funnel_since(self, since: datetime) -> list[FunnelEvent]: ...
    async def load_conversation(self, chat_id: int) -> ConversationRow | None: ...
    async def conversation_and_language(
        self, chat_id: int, user_id: int
    ) -> tuple[ConversationRow | None, str | None]: ...
    async def save_conversation(
        self,
        chat_id: int,
        user_id: int,
        state: str,
        *,
        pending: bool,
    ) -> None: ...
    async def save_with_funnel(
        self,
        chat_id: int,
        user_id: int,
        state: str | None,
        *,
        pending: bool,
        funnel: list[FunnelEvent],
    ) -> None: ...
    async def pending_conversations(self) -> list[ConversationRow]: ...
    async def forget_user(self, user_id: int, chat_id: int | None = None) -> None: ...
    async def conversation_count(self) -> int: ...
    async def prune(self, *, appointments_before: datetime, idle_before: datetime) -> int: ...
    async def first_delivery(self, update_id: int) -> bool:
        """Record the update as handled: True once per update of this business, whichever
        process asks first (and afterwards: deliveries older than a day are forgotten, now
        and then). Several processes record an update once it is handled, not when it
        arrives (bot.telegram.cluster), so one whose process died unhandled is taken again."""
        ...

    async def delivered(self, update_id: int) -> bool:
        """Whether the update was recorded as handled (`first_delivery`), by any process."""
        ...

    async def forget_deliveries(self, before: datetime) -> int: ...
    async def poll_offset(self, bot: str) -> int: ...
    async def set_poll_offset(self, bot: str, offset: int) -> None: ...
