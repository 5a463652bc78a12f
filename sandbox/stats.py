"""Counters for tests and benchmarks: token requests, and API requests per (method, route)."""

from __future__ import annotations

import threading
from collections import Counter


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.token_requests = 0
        self.requests: Counter[tuple[str, str]] = Counter()  # ("POST", "/appointments/hold")
        self.responses: Counter[tuple[str, str, int]] = Counter()  # (method, route, status)

    def count_token(self) -> None:
        with self._lock:
            self.token_requests += 1

    def count_request(self, method: str, route: str) -> None:
        with self._lock:
            self.requests[(method, route)] += 1

    def count_response(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self.responses[(method, route, status)] += 1

    def count(self, method: str, route: str, status: int | None = None) -> int:
        """Requests to `route` (template relative to /api/v1), or responses with `status`."""
        with self._lock:
            if status is None:
                return self.requests[(method.upper(), route)]
            return self.responses[(method.upper(), route, status)]

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def reset(self) -> None:
        with self._lock:
            self.token_requests = 0
            self.requests.clear()
            self.responses.clear()
