"""The retry policy's arithmetic: Retry-After honoured and capped, backoff capped, budgets kept."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from bot.zimun.retry import RetryPolicy, is_retryable_status, parse_retry_after

NOW = datetime(2026, 2, 20, 9, 0, tzinfo=UTC).timestamp()


def policy(**changes: object) -> RetryPolicy:
    defaults: dict[str, object] = {"rand": lambda: 0.0}  # no jitter: exact numbers
    return RetryPolicy(**{**defaults, **changes})  # type: ignore[arg-type]


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    p = policy(base_delay=0.5, max_delay=3.0)
    assert [p.delay(n, None) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_only_shortens_the_delay_by_at_most_a_quarter() -> None:
    p = policy(base_delay=1.0, rand=lambda: 1.0)
    assert p.delay(0, None) == pytest.approx(0.75)
    assert p.delay(2, None) == pytest.approx(3.0)


def test_retry_after_is_honoured_exactly() -> None:
    assert policy().delay(0, 2.0) == 2.0
    assert policy().delay(3, 0.0) == 0.0


def test_retry_after_is_capped() -> None:
    assert policy(max_retry_after=5.0).delay(0, 3600.0) == 5.0


def test_attempts_and_total_time_are_bounded() -> None:
    p = policy(max_retries=2, max_total=10.0)
    assert p.should_retry(0, 1.0, elapsed=0.0)
    assert p.should_retry(1, 1.0, elapsed=5.0)
    assert not p.should_retry(2, 0.0, elapsed=0.0)  # out of attempts
    assert not p.should_retry(0, 6.0, elapsed=5.0)  # the sleep would overrun the budget


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After-Ms": "250"}, 0.25),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=lambda: NOW) == expected


def test_retry_after_as_an_http_date() -> None:
    later = format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True)
    earlier = format_datetime(datetime.fromtimestamp(NOW - 60, UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": later}, now=lambda: NOW) == pytest.approx(7.0)
    assert parse_retry_after({"Retry-After": earlier}, now=lambda: NOW) == 0.0


def test_retry_after_from_httpx_headers() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "2"})) == 2.0


@pytest.mark.parametrize(
    ("status", "code", "retry"),
    [
        (429, "rate_limited", True),
        (500, None, True),
        (503, None, True),
        (502, None, True),
        (409, "idempotency_request_in_progress", True),
        (409, "slot_unavailable", False),
        (404, None, False),
        (422, "idempotency_key_reused", False),
        (401, "invalid_token", False),
    ],
)
def test_which_statuses_are_retried(status: int, code: str | None, retry: bool) -> None:
    assert is_retryable_status(status, code) is retry
