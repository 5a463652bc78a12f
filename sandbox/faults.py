"""Fault injection for tests and benchmarks, off by default.

Random knobs (`latency_ms`, `error_rate`, `rate_limit_rate`) model a flaky network for
benchmarks; the deterministic ones (`fail_next`, `drop_response_next`, `block_next`) let a test
force exactly the failure it wants, which is what tests should use. `damage` spoils one field
of successful answers, for checks that must say what they could not parse and where. All of
them apply to the API routes only; the token endpoint has its own `token_fail_next`.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox import damage as damaging


@dataclass
class _Rule:
    remaining: int
    status: int = 503
    path: str | None = None
    method: str | None = None
    retry_after: int | None = None

    def matches(self, method: str, path: str, route: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return self.path is None or self.path in (path, route)


@dataclass
class Gate:
    """Holds one request just before the handler runs, until the test releases it."""

    path: str
    method: str | None = None
    entered: threading.Event = field(default_factory=threading.Event)
    _open: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self._open.set()

    def wait_entered(self, timeout: float = 5.0) -> bool:
        """Block (in the test's thread) until the held request has arrived."""
        return self.entered.wait(timeout)

    async def _pass(self) -> None:
        self.entered.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._open.wait, 30.0)


@dataclass
class _Damage:
    remaining: int
    method: str
    route: str
    steps: tuple[damaging.Step, ...]
    mode: str
    garbage: Any

    def matches(self, method: str, path: str, route: str) -> bool:
        return self.method == method and self.route in (path, route)


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: int | None


class Faults:
    def __init__(
        self,
        *,
        latency_ms: int = 0,
        error_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        retry_after: int = 1,
        seed: int | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        self.error_rate = error_rate
        self.rate_limit_rate = rate_limit_rate
        self.retry_after = retry_after
        self.token_latency_ms = 0
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._fail: list[_Rule] = []
        self._token_fail: list[_Rule] = []
        self._drop: list[_Rule] = []
        self._gates: list[Gate] = []
        self._damage: list[_Damage] = []

    # -- what tests call -------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        path: str | None = None,
        method: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next `n` API requests (matching `path`/`method` if given) answer `status`
        without being processed. 429 carries Retry-After (`retry_after`, default the knob).
        `path` is relative to /api/v1 and matches the request path or the route template
        ("/appointments/confirm", "/appointments/{appointment_id}")."""
        with self._lock:
            self._fail.append(_Rule(n, status, path, method, retry_after))

    def drop_response_next(
        self, path: str, n: int = 1, *, method: str | None = None, status: int = 500
    ) -> None:
        """Process the next `n` matching requests fully (and record their idempotent result),
        then answer `status` instead: a response lost after the server committed."""
        with self._lock:
            self._drop.append(_Rule(n, status, path, method))

    def block_next(self, path: str, *, method: str | None = None) -> Gate:
        """Hold the next matching request after its idempotency key is reserved and before it
        is processed, until `gate.release()`; `gate.wait_entered()` waits for it to arrive."""
        gate = Gate(path, method)
        with self._lock:
            self._gates.append(gate)
        return gate

    def token_fail_next(
        self, n: int = 1, status: int = 503, retry_after: int | None = None
    ) -> None:
        """The next `n` token requests answer `status` (429 with Retry-After)."""
        with self._lock:
            self._token_fail.append(_Rule(n, status, None, None, retry_after))

    def damage(
        self,
        method: str,
        route: str,
        field_path: str,
        mode: str = damaging.REMOVE,
        times: int = 1,
        *,
        garbage: Any = damaging.AUTO,
    ) -> None:
        """Spoil `field_path` in the next `times` successful (2xx) JSON answers of `method`
        `route` (relative to /api/v1; the request path or the route template) that have it.
        `mode` "remove" deletes the field, "garble" replaces it with garbage of the wrong kind
        (a timestamp: "not-a-date"; another string: 12345; a number: "many") or `garbage`.
        Paths: "items[].timezone", "days[].slots[].start_time", "slots[0].start_time" (see
        sandbox/damage.py). An answer without that field does not count towards `times`."""
        if mode not in damaging.MODES:
            raise ValueError(f"mode must be one of {damaging.MODES}, got {mode!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        steps = damaging.parse_path(field_path)
        rule = _Damage(times, method.upper(), route, steps, mode, garbage)
        with self._lock:
            self._damage.append(rule)

    def clear(self) -> None:
        """Everything off, as at start with no knobs."""
        with self._lock:
            self._damage.clear()
            self._fail.clear()
            self._token_fail.clear()
            self._drop.clear()
            gates, self._gates = self._gates, []
        for gate in gates:
            gate.release()
        self.latency_ms = 0
        self.error_rate = 0.0
        self.rate_limit_rate = 0.0
        self.token_latency_ms = 0

    # -- what the server calls -------------------------------------------------------------

    def before_request(self, method: str, path: str, route: str) -> Failure | None:
        """A forced or random failure for this request, or None to process it."""
        with self._lock:
            rule = _take(self._fail, method, path, route)
            if rule is not None:
                return Failure(rule.status, self._retry(rule))
            if self.rate_limit_rate and self._random.random() < self.rate_limit_rate:
                return Failure(429, self.retry_after)
            if self.error_rate and self._random.random() < self.error_rate:
                return Failure(503, None)
        return None

    def before_token(self) -> Failure | None:
        with self._lock:
            rule = _take(self._token_fail, "POST", "/oauth/token", "/oauth/token")
        return Failure(rule.status, self._retry(rule)) if rule else None

    async def delay(self, method: str, path: str, route: str) -> None:
        with self._lock:
            gate = next((g for g in self._gates if _gate_matches(g, method, path, route)), None)
            if gate is not None:
                self._gates.remove(gate)
        if gate is not None:
            await gate._pass()
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)

    def damaged(self, method: str, path: str, route: str, payload: Any) -> Any:
        """`payload` as it leaves the server: a damaged copy when a `damage` rule applies."""
        with self._lock:
            rules = [r for r in self._damage if r.matches(method, path, route)]
            if not rules:
                return payload
            # A copy as the client will read it: the original may be kept for idempotent
            # replays, and JSON does not share objects (flat `slots` and `days[].slots` do).
            payload = json.loads(json.dumps(payload))
            for rule in rules:
                if damaging.damage(payload, rule.steps, rule.mode, rule.garbage):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._damage.remove(rule)
        return payload

    def drop_status(self, method: str, path: str, route: str) -> int | None:
        with self._lock:
            rule = _take(self._drop, method, path, route)
        return rule.status if rule else None

    def _retry(self, rule: _Rule) -> int | None:
        if rule.status != 429:
            return rule.retry_after
        return rule.retry_after if rule.retry_after is not None else self.retry_after


def _take(rules: list[_Rule], method: str, path: str, route: str) -> _Rule | None:
    for rule in rules:
        if rule.matches(method, path, route):
            rule.remaining -= 1
            if rule.remaining <= 0:
                rules.remove(rule)
            return rule
    return None


def _gate_matches(gate: Gate, method: str, path: str, route: str) -> bool:
    if gate.method and gate.method.upper() != method:
        return False
    return gate.path in (path, route)
