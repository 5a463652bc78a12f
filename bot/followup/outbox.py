"""Messages the bot sends on its own (reminders, change notices, waiting-list news): one way to
send them, at most once.

Each is claimed in SQLite (marked sent) before it is sent, so a crash or a second process can
never send it twice; a send that certainly did not reach Telegram (flood limit, connection
refused: `send` answers False) is released for a later attempt, up to MAX_ATTEMPTS; one that
may have arrived (a timeout, an unexpected error) is not repeated. Losing one message in a rare
crash is the better failure: a second reminder or notice about the same appointment costs the
business its customers' trust.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from typing import Literal

from bot.core.screens import Reply

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


async def send_claimed(
    send: Send,
    chat_id: int,
    reply: Reply,
    *,
    attempts: int,
    release: Callable[[], object],
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
        release()
        return "retry"
    log.warning("%s: given up after %d attempts", what, MAX_ATTEMPTS)
    return "failed"
