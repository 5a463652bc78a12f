"""What keeps the webhook's web server answering when someone abuses it.

uvicorn alone has no deadline for receiving a request and no cap on connections, so 300
connections that never finish their headers (slow-loris) used up the process's file
descriptors, and /healthz and Telegram's updates timed out until they were closed. The HTTP
protocol here is uvicorn's h11 one with two limits added:

- a deadline: a whole request (headers and body) must arrive within `REQUEST_DEADLINE` seconds
  of the connection opening or of the previous response; a connection still sending is closed;
- a cap: at most `MAX_CONNECTIONS` open connections, and `MAX_PER_CLIENT` from one address.
  A connection beyond either closes the oldest one (of that address, at its own cap) that has
  not finished sending its headers (a slow sender or an idle keep-alive), so a real request
  always gets in; if there is none, the newcomer is closed. A connection whose headers are in
  is never evicted: a stream of 2,000 partial connections a second evicted real requests whose
  body came 50 ms after their headers. The per-address cap keeps one sender from filling the
  server with such connections (behind a reverse proxy every connection has its address: the
  cap then works as a lower total, with the same eviction).

Headers are capped at `MAX_HEADER_BYTES`, however they arrive: h11 counts only a request still
incomplete, so a 100 KB header block in one write was accepted; the bytes before the blank line
are counted here and the request refused with 431 beyond. Bodies are capped at `MAX_BODY_BYTES`
by the app (Telegram's updates are a few kilobytes). Telegram itself opens at most 40
connections (setWebhook's max_connections default), well under the caps.

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
MAX_PER_CLIENT = 50  # open connections from one address
# Connections accepted in one go (asyncio accepts up to the listen backlog per wake-up, before
# any is seen, let alone evicted): uvicorn's 2,048 let 300 queued half-open connections take
# every file descriptor under a 256 limit ("socket.accept() out of system resource").
ACCEPT_BACKLOG = 64
REQUEST_DEADLINE = 10.0  # seconds
KEEP_ALIVE = 5  # seconds an idle connection stays open after a response (uvicorn's default)
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024
RECENT_UPDATES = 10_000  # update ids remembered to drop Telegram's (or a replayer's) repeats
LOG_INTERVAL = 60.0  # seconds between two log lines about the same kind of refusal

_RECEIVING = (h11.IDLE, h11.SEND_BODY)  # the client has not finished its request yet
HEADERS_END = b"\r\n\r\n"
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)
refusals = logging.getLogger("bot.telegram.webhook.refused")  # throttled (quiet_refusals)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request deadline and a connection cap (see the module)."""

    max_connections = MAX_CONNECTIONS
    max_per_client = MAX_PER_CLIENT
    request_deadline = REQUEST_DEADLINE
    max_header_bytes = MAX_HEADER_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0
        self._refused = False
        self._head_bytes, self._tail, self._head_done = 0, b"", False
        self._address = _address(transport)
        if not self._room():
            self._refused = True
            transport.abort()
            return
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        starting = self.conn.their_state is h11.IDLE and not self._head_done  # headers
        if starting and self._headers_too_large(data):
            refusals.warning("webhook request refused: headers over %d bytes", MAX_HEADER_BYTES)
            self._disarm()
            self.transport.write(TOO_LARGE)
            self.transport.close()
            return
        super().data_received(data)

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
        self._head_bytes, self._tail, self._head_done = 0, b"", False  # and the same header cap
        super().on_response_complete()

    @property
    def waiting(self) -> bool:
        """Open, and its request's headers not all in yet (nothing lost by closing it)."""
        return self._timer is not None and self.conn.their_state is h11.IDLE

    def _headers_too_large(self, data: bytes) -> bool:
        """Count the bytes of this request up to the blank line ending its headers."""
        window = self._tail + data
        end = window.find(HEADERS_END)
        if end < 0:
            self._head_bytes += len(data)
            self._tail = window[-(len(HEADERS_END) - 1) :]
        else:
            self._head_bytes += max(0, end + len(HEADERS_END) - len(self._tail))
            self._head_done = True
        return self._head_bytes > self.max_header_bytes

    def _room(self) -> bool:
        """Whether a new connection fits under both caps, evicting a waiting one if needed."""
        guarded = [c for c in self.connections if isinstance(c, GuardedH11Protocol)]
        mine = [c for c in guarded if c._address == self._address]
        if self._address is not None and len(mine) >= self.max_per_client:
            return self._evict_one(mine)
        if len(self.connections) >= self.max_connections:
            return self._evict_one(guarded)
        return True

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

    @staticmethod
    def _evict_one(candidates: list[GuardedH11Protocol]) -> bool:
        waiting = [c for c in candidates if c.waiting]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._since)
        oldest._disarm()
        oldest.transport.abort()
        return True


def _address(transport: asyncio.Transport) -> str | None:
    """The client's address (without its port), or None when the socket does not say."""
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else None


def server_limits() -> dict[str, Any]:
    """uvicorn.Config arguments for the guarded server."""
    return {
        "http": GuardedH11Protocol,
        "ws": "none",
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE,
        "backlog": ACCEPT_BACKLOG,
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

    def forget(self, update_id: int) -> None:
        """Not received after all (it could not be recorded): its redelivery is welcome."""
        self._ids.pop(update_id, None)


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
