"""What keeps the webhook's web server answering when someone abuses it.

uvicorn alone has no deadline for receiving a request and no cap on connections, so 300
connections that never finish their headers (slow-loris) used up the process's file
descriptors, and /healthz and Telegram's updates timed out until they were closed. The HTTP
protocol here is uvicorn's h11 one with two limits added:

- a deadline: a whole request (headers and body) must arrive within `REQUEST_DEADLINE` seconds
  of the connection opening or of the previous response; a connection still sending is closed;
- a cap: at most `MAX_CONNECTIONS` open connections. A connection beyond it closes the oldest
  one still waiting for its request (a slow sender or an idle keep-alive), so a real request
  always gets in; if every connection is busy with a request, the newcomer is closed.

Headers are capped at `MAX_HEADER_BYTES` (h11 answers 400 beyond), bodies at `MAX_BODY_BYTES`
by the app (Telegram's updates are a few kilobytes). Telegram itself opens at most 40
connections (setWebhook's max_connections default), well under the cap.

`Throttle` keeps refusals from flooding the log: the first line of each kind is written, the
rest are counted and summed up at most once per interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_CONNECTIONS = 100
REQUEST_DEADLINE = 10.0  # seconds
KEEP_ALIVE = 5  # seconds an idle connection stays open after a response (uvicorn's default)
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024
RECENT_UPDATES = 10_000  # update ids remembered to drop Telegram's (or a replayer's) repeats
LOG_INTERVAL = 60.0  # seconds between two log lines about the same kind of refusal

_RECEIVING = (h11.IDLE, h11.SEND_BODY)  # the client has not finished its request yet


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request deadline and a connection cap (see the module)."""

    max_connections = MAX_CONNECTIONS
    request_deadline = REQUEST_DEADLINE

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._refused = False
        if len(self.connections) >= self.max_connections and not self._evict_one():
            self._refused = True
            transport.abort()
            return
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self._refused:
            super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state not in _RECEIVING:
            self._disarm()  # the whole request is in: the app has it

    def on_response_complete(self) -> None:
        self._arm()  # the next request on this connection gets the same deadline
        super().on_response_complete()

    @property
    def waiting(self) -> bool:
        """Open, and still waiting for (part of) a request."""
        return self._timer is not None and self.conn.their_state in _RECEIVING

    def _arm(self) -> None:
        self._disarm()
        self._since = self.loop.time()
        self._timer = self.loop.call_later(self.request_deadline, self._too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if self.conn.their_state in _RECEIVING and not self.transport.is_closing():
            self.transport.abort()

    def _evict_one(self) -> bool:
        waiting = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and c.waiting]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._since)
        oldest._disarm()
        oldest.transport.abort()
        return True


def server_limits() -> dict[str, Any]:
    """uvicorn.Config arguments for the guarded server."""
    return {
        "http": GuardedH11Protocol,
        "ws": "none",
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE,
    }


class RecentIds:
    """The last `size` update ids seen: a repeat is dropped (Telegram redelivers an update it
    thinks was not received; anyone holding the secret could replay one)."""

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self._size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._ids:
            return False
        self._ids[update_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class Throttle(logging.Filter):
    """A logger filter: of the records with the same message template, one passes per
    `interval`; the next one that passes says how many were left out in between."""

    def __init__(
        self, interval: float = LOG_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._kinds: dict[str, tuple[float, int]] = {}  # template -> (last passed, left out)

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        key = str(record.msg)
        last, left_out = self._kinds.get(key, (float("-inf"), 0))
        if now - last < self._interval:
            self._kinds[key] = (last, left_out + 1)
            return False
        self._kinds[key] = (now, 0)
        if left_out:
            record.msg = f"{record.msg} ({left_out} more since the last such line)"
        return True
