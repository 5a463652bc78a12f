"""Counters of what the client sent, so benchmarks and tests can see the cost of a booking."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class ZimunStats:
    """API requests by (method, path template), token requests and retries.

    Every HTTP exchange counts, including retries and the resend after a 401, because that is
    what the API sees and what rate limits are counted on.
    """

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    token_requests: int = 0
    retries: int = 0

    def record_call(self, method: str, template: str) -> None:
        self.calls[(method.upper(), template)] += 1

    def count(self, method: str, template: str | None = None) -> int:
        """Calls of `method` on `template`, or of `method` on any path when template is None."""
        method = method.upper()
        if template is not None:
            return self.calls[(method, template)]
        return sum(n for (m, _), n in self.calls.items() if m == method)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly snapshot: {"calls": {"GET /locations": 2, ...}, ...}."""
        return {
            "calls": {f"{m} {t}": n for (m, t), n in sorted(self.calls.items())},
            "total_calls": self.total_calls,
            "token_requests": self.token_requests,
            "retries": self.retries,
        }

    def reset(self) -> None:
        self.calls.clear()
        self.token_requests = 0
        self.retries = 0
