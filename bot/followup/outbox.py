"""Messages the bot sends on its own (reminders, change notices, waiting-list news): one way to
send them, at most once.

Each is claimed in the store (marked sent, naming this process as its claimer) before it is
sent, so a second scan or process never sends it while it is being sent, and marked done once
the send is over (`claim_done`). A process killed between the claim and the end of the send
loses nothing: the row, claimed by a process that is no longer alive, is claimed again by
another process (PostgreSQL: its claimer's session lock is gone) or by the next start
(SQLite). The one window where a customer may be told twice: Telegram accepted the message and
the process died before marking it done. A send that certainly did not reach Telegram (flood
limit, connection refused: `send` answers False) is released for a later attempt, up to
MAX_ATTEMPTS; one that may have arrived (a timeout, an unexpected error) is not repeated: a
second reminder or notice about the same appointment costs the business its customers' trust.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from bot.config.clock import utc_now
from bot.core.business import Business
from bot.core.screens import Reply
from bot.followup.messages import House
from bot.store.contract import Store
from bot.store.sqlite_async import as_store
from bot.store.storage import Outbox, Storage

log = logging.getLogger("bot.followup.outbox")

MAX_ATTEMPTS = 3  # sends that certainly failed, before a message is given up

Send = Callable[[int, Reply], Awaitable[bool]]
Outcome = Literal["sent", "skipped", "dropped", "retry", "failed"]


@dataclass
class Tally:
    """What one pass over the due messages did."""

    sent: int = 0
    skipped: int = 0  # no longer worth sending (passed, superseded), or another pass took it
    dropped: int = 0  # the appointment changed at the business: nothing to remind of
    retry: int = 0  # certainly not delivered: due again for the next pass
    failed: int = 0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def note(self, row: Any, outcome: Outcome) -> None:
        """What became of one row of a pass (a subclass may keep more than the count)."""
        self.count(outcome)

    def log(self, what: str) -> None:
        """One line per pass that did something."""
        if any(getattr(self, f.name) for f in fields(self)):
            log.info(
                "%s: %d sent, %d skipped, %d dropped, %d to retry, %d failed",
                what,
                self.sent,
                self.skipped,
                self.dropped,
                self.retry,
                self.failed,
            )


class Message(Protocol):
    """A row of an outbox table: a reminder, a notice, a waiting-list entry."""

    @property
    def id(self) -> int: ...
    @property
    def user_id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def language(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...


Row = TypeVar("Row")
Result = TypeVar("Result", bound=Tally)


class Sender(ABC, Generic[Row]):
    """Sends the due messages of one outbox table (`box`): one pass at a time, each message
    claimed before it is sent, in the customer's language. A subclass says which rows are due
    (`pending`) and what to do with one (`process`)."""

    box: ClassVar[Outbox]
    what: ClassVar[str]  # names a pass in the log

    def __init__(
        self,
        storage: Store | Storage,
        *,
        now: Callable[[], datetime] = utc_now,
        default_language: str = "en",
        house: House | None = None,
    ) -> None:
        """`house`: the operator's rules and words the messages follow (their languages
        among them); without one, every change is offered in `default_language`."""
        self.storage = as_store(storage)  # a synchronous Storage: SQLite's adapter
        self.now = now
        self.house = house or House(business=Business(default_language=default_language))
        self._pass_lock = asyncio.Lock()

    @abstractmethod
    async def pending(self) -> Iterable[Row]:
        """The rows due now, in the order to send them."""

    @abstractmethod
    async def process(self, row: Row, send: Send) -> Outcome:
        """Send one row, or say why not."""

    async def flush(self, send: Send) -> Tally:
        """Send what is due."""
        return await self.pass_over(send, Tally())

    async def pass_over(self, send: Send, result: Result) -> Result:
        """One pass (one at a time): each row due, noted in `result` and logged."""
        async with self._pass_lock:
            for row in await self.pending():
                result.note(row, await self.process(row, send))
            result.log(self.what)
            return result

    async def language(self, message: Message) -> str:
        """The customer's chosen language, else the one the message was queued in, else the
        default: the one rule (bot.core.languages) with the operator's languages."""
        stored = await self.storage.get_language(message.user_id)
        return self.house.language(stored, message.language)

    async def claim_and_send(
        self, message: Message, reply: Reply, send: Send, what: str
    ) -> Outcome:
        """Claim `message`, then send it; "skipped" when another pass got it first."""
        if not await self.storage.claim(self.box, message.id):
            return "skipped"
        outcome = await send_claimed(
            send,
            message.chat_id,
            reply,
            attempts=message.attempts,
            release=lambda: self.storage.unclaim(self.box, message.id),
            what=what,
        )
        if outcome != "retry":  # over: nobody takes it again (see the module)
            try:
                await self.storage.claim_done(self.box, message.id)
            except Exception as exc:  # left claimed: taken again only after this process
                log.warning("%s: sent, not marked done: %s", what, type(exc).__name__)
        return outcome


async def send_claimed(
    send: Send,
    chat_id: int,
    reply: Reply,
    *,
    attempts: int,
    release: Callable[[], Awaitable[object]],
    what: str,
) -> Outcome:
    """Send a message already claimed; `attempts` are its earlier certain failures, `release`
    makes it due again, `what` names it in the log (never who it is for)."""
    try:
        delivered = await send(chat_id, reply)
    except Exception:
        log.exception("%s: send failed; not retried (may have arrived)", what)
        return "failed"
    if delivered:
        return "sent"
    if attempts + 1 < MAX_ATTEMPTS:
        await release()
        return "retry"
    log.warning("%s: given up after %d attempts", what, MAX_ATTEMPTS)
    return "failed"
