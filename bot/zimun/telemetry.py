"""One place that counts and logs every exchange with Zimun.

One debug line per request: method, path template, status, attempt and milliseconds. Never
the URL's ids, the Authorization header, the token, the secret or a body: bodies carry the
customers' names and emails.
"""

from __future__ import annotations

import logging

import httpx

from bot.zimun.stats import ZimunStats

log = logging.getLogger("bot.zimun")

TEMPLATE = "zimun.path_template"  # request.extensions keys set by the client
ATTEMPT = "zimun.attempt"


def template_of(request: httpx.Request) -> str:
    template = request.extensions.get(TEMPLATE)
    return template if isinstance(template, str) else "<unknown>"


def attempt_of(request: httpx.Request) -> int:
    attempt = request.extensions.get(ATTEMPT)
    return attempt if isinstance(attempt, int) else 1


class Telemetry:
    def __init__(self, stats: ZimunStats) -> None:
        self.stats = stats

    def api_sent(self, request: httpx.Request) -> None:
        self.stats.record_call(request.method, template_of(request))

    def api_answered(self, response: httpx.Response) -> None:
        """Log `response` and the ones it replaced (a 401 before the token was renewed)."""
        for each in [*response.history, response]:
            if TEMPLATE not in each.request.extensions:
                continue  # the token exchange, logged by token_answered
            log.debug(
                "%s %s -> %s attempt=%d %.0fms",
                each.request.method,
                template_of(each.request),
                each.status_code,
                attempt_of(each.request),
                _elapsed_ms(each),
            )

    def api_failed(self, method: str, template: str, attempt: int, error: Exception) -> None:
        log.debug("%s %s -> %s attempt=%d", method, template, type(error).__name__, attempt)

    def token_sent(self) -> None:
        self.stats.token_requests += 1

    def token_answered(self, status: int, seconds: float) -> None:
        log.debug("POST <token> -> %s %.0fms", status, seconds * 1000)

    def retrying(self, method: str, template: str, delay: float) -> None:
        self.stats.retries += 1
        log.debug("%s %s: retrying in %.2fs", method, template, delay)


def _elapsed_ms(response: httpx.Response) -> float:
    try:
        return response.elapsed.total_seconds() * 1000
    except RuntimeError:  # not closed yet
        return float("nan")
