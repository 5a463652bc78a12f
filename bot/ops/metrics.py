"""Prometheus metrics, per business: what operators of many bots watch instead of reading logs.

One `Metrics` per process holds a CollectorRegistry of its own (`make_registry`), never the
library's global one, so that tests, the benchmark and two bots in one interpreter do not share
counts. The adapter takes a `BusinessMetrics` per business and calls it as things happen:

    metrics = Metrics()
    north = metrics.for_business("studio-north")
    north.update_handled(0.084)        # an update answered, in seconds
    north.booked("rescheduled")        # booked / rescheduled / cancelled
    north.zimun_call("ok")             # a Zimun call's outcome
    north.error("telegram")            # something went wrong, by kind
    metrics.set_state("studio-north", "serving")   # serving / failed / starting
    app = metrics.asgi_app()           # the text exposition, to mount at /metrics

Label values are bounded: business ids come from BUSINESSES_FILE (and `forget` drops a removed
business's series), booking kinds and states are fixed lists, and an outcome or error kind is
any short word of the caller's, but at most MAX_WORDS different ones per metric (later new words
count as "other"), so a bug that puts free text in a label cannot grow the exposition without
end. Nothing customer-related is ever a label.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, get_args

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    make_asgi_app,
)

PREFIX = "zimun_bot"
BookingKind = Literal["booked", "rescheduled", "cancelled"]
BusinessState = Literal["serving", "failed", "starting"]
BOOKING_KINDS: tuple[str, ...] = get_args(BookingKind)
STATES: tuple[str, ...] = get_args(BusinessState)
# Reply latency buckets, seconds: from a cached answer (~10 ms) to a Zimun at its slowest.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_WORDS = 16  # different outcome / error kind words per metric; more become "other"
OTHER = "other"
_WORD_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def make_registry() -> CollectorRegistry:
    """A registry of this process's own (with the process's CPU, memory and open files)."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    return registry


class _Words:
    """The bounded vocabulary of one label: the first MAX_WORDS valid words, then "other"."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def known(self) -> tuple[str, ...]:
        """Every word this label may hold (OTHER included)."""
        with self._lock:
            return (*self._seen, OTHER)

    def __call__(self, word: str) -> str:
        word = word.strip().lower()
        if word in self._seen:
            return word
        if not _WORD_RE.match(word):
            return OTHER
        with self._lock:
            if len(self._seen) >= MAX_WORDS:
                return OTHER
            self._seen.add(word)
        return word


class Metrics:
    """Every business's metrics in one registry; `for_business` gives one business's view."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else make_registry()
        self.updates = Counter(
            f"{PREFIX}_updates_handled",
            "Telegram updates handled, per business",
            ["business"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{PREFIX}_reply_seconds",
            "Seconds from an update's arrival to the bot's answer, per business",
            ["business"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.bookings = Counter(
            f"{PREFIX}_bookings",
            "Bookings made, rescheduled and cancelled through the bot, per business",
            ["business", "kind"],
            registry=self.registry,
        )
        self.zimun_calls = Counter(
            f"{PREFIX}_zimun_calls",
            "Zimun API calls by outcome, per business",
            ["business", "outcome"],
            registry=self.registry,
        )
        self.errors = Counter(
            f"{PREFIX}_errors",
            "Errors by kind, per business",
            ["business", "kind"],
            registry=self.registry,
        )
        self.businesses = Gauge(
            f"{PREFIX}_businesses",
            "Businesses by state: serving, failed (retried with backoff) or starting",
            ["state"],
            registry=self.registry,
        )
        for state in STATES:
            self.businesses.labels(state=state).set(0)
        self._outcomes = _Words()
        self._error_kinds = _Words()
        self._views: dict[str, BusinessMetrics] = {}
        self._states: dict[str, str] = {}
        self._lock = threading.Lock()

    def for_business(self, business_id: str) -> BusinessMetrics:
        """Business `business_id`'s metrics (the same object on every call)."""
        with self._lock:
            view = self._views.get(business_id)
            if view is None:
                view = self._views[business_id] = BusinessMetrics(self, business_id)
            return view

    def set_state(self, business_id: str, state: BusinessState) -> None:
        """Business `business_id` is now `state`; the gauge counts businesses per state."""
        if state not in STATES:
            raise ValueError(f"{state!r} is not one of {', '.join(STATES)}")
        with self._lock:
            before = self._states.get(business_id)
            self._states[business_id] = state
            self._recount(before, state)

    def forget(self, business_id: str) -> None:
        """A business removed from the file: its series and its state go."""
        with self._lock:
            self._views.pop(business_id, None)
            before = self._states.pop(business_id, None)
            self._recount(before, None)
        for metric, words in (
            (self.updates, None),
            (self.latency, None),
            (self.bookings, BOOKING_KINDS),
            (self.zimun_calls, self._outcomes.known()),
            (self.errors, self._error_kinds.known()),
        ):
            for labels in [(business_id,)] if words is None else [(business_id, w) for w in words]:
                with contextlib.suppress(KeyError):  # never used: nothing to remove
                    metric.remove(*labels)

    def _recount(self, before: str | None, after: str | None) -> None:
        if before == after:
            return
        if before is not None:
            self.businesses.labels(state=before).dec()
        if after is not None:
            self.businesses.labels(state=after).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)

    def asgi_app(self) -> ASGIApp:
        """The exposition as an ASGI app, to mount at /metrics (never behind the public proxy:
        it names every business)."""
        app: ASGIApp = make_asgi_app(registry=self.registry)
        return app


class BusinessMetrics:
    """One business's view of the metrics: the calls the adapter makes as things happen."""

    def __init__(self, metrics: Metrics, business_id: str) -> None:
        self._metrics = metrics
        self.business_id = business_id
        # Children looked up once: an update costs an increment and an observation, no more.
        self._updates = metrics.updates.labels(business=business_id)
        self._latency = metrics.latency.labels(business=business_id)

    def update_handled(self, seconds: float) -> None:
        """An update handled; `seconds` from its arrival to the answer."""
        self._updates.inc()
        self._latency.observe(max(seconds, 0.0))

    def booked(self, kind: BookingKind) -> None:
        """A booking made ("booked"), moved ("rescheduled") or cancelled through the bot."""
        if kind not in BOOKING_KINDS:
            raise ValueError(f"{kind!r} is not one of {', '.join(BOOKING_KINDS)}")
        self._metrics.bookings.labels(business=self.business_id, kind=kind).inc()

    def zimun_call(self, outcome: str) -> None:
        """A Zimun API call ended with `outcome`, a short word: ok, refused, unavailable..."""
        label = self._metrics._outcomes(outcome)
        self._metrics.zimun_calls.labels(business=self.business_id, outcome=label).inc()

    def error(self, kind: str) -> None:
        """Something failed, by a short word for its kind: telegram, zimun, storage..."""
        label = self._metrics._error_kinds(kind)
        self._metrics.errors.labels(business=self.business_id, kind=label).inc()

    def set_state(self, state: BusinessState) -> None:
        """This business is now serving, failed or starting."""
        self._metrics.set_state(self.business_id, state)
