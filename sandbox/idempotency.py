"""Idempotency-Key semantics of the contract (modelled on Stripe's).

Keys are scoped per client and route and live 24 h on the sandbox clock. Same key + same body:
the first response is replayed with `Idempotent-Replayed: true`. Same key + different body
(or a different path on the same route): 422 idempotency_key_reused. Same key while the first
request still runs: 409 idempotency_request_in_progress. Answers of 5xx are not kept, so a
retry after a server failure runs again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sandbox.clock import Clock
from sandbox.errors import ApiError

Scope = tuple[str, str, str, str]  # (client_id, method, route, key)


@dataclass
class Saved:
    fingerprint: str
    created_at: datetime
    status: int | None = None  # None while the first request runs
    body: Any = None


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    def __init__(self, clock: Clock, ttl: float) -> None:
        self.clock = clock
        self.ttl = timedelta(seconds=ttl)
        self._saved: dict[Scope, Saved] = {}
        self._lock = threading.Lock()

    def begin(self, scope: Scope, print_: str) -> Saved | None:
        """Reserve the key: None to go ahead, the saved answer to replay, or an ApiError."""
        now = self.clock.now()
        with self._lock:
            self._purge(now)
            saved = self._saved.get(scope)
            if saved is None:
                self._saved[scope] = Saved(print_, now)
                return None
        if saved.fingerprint != print_:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
                {"idempotency_key": scope[3]},
            )
        if saved.status is None:
            raise ApiError(
                409,
                "idempotency_request_in_progress",
                "a request with this Idempotency-Key is still being processed",
                {"idempotency_key": scope[3]},
            )
        return saved

    def finish(self, scope: Scope, status: int, body: Any) -> None:
        with self._lock:
            saved = self._saved.get(scope)
            if saved is None:
                return
            if status >= 500:
                del self._saved[scope]
            else:
                saved.status, saved.body = status, body

    def abandon(self, scope: Scope) -> None:
        with self._lock:
            self._saved.pop(scope, None)

    def _purge(self, now: datetime) -> None:
        old = [k for k, v in self._saved.items() if now - v.created_at >= self.ttl]
        for k in old:
            del self._saved[k]
