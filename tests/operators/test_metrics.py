"""The Prometheus metrics (bot/ops/metrics.py): per-business series in the text exposition,
scraped over HTTP on loopback as Prometheus does, in a registry of their own, with label values
that cannot grow without bound."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import REGISTRY

from bot.ops.metrics import MAX_WORDS, Metrics, make_registry
from tests.fakes.bot_api import _ThreadedServer


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of series `name{labels}` in an exposition, None when absent."""
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{shown}}}" if labels else name) + r" (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else None


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def scrape(metrics: Metrics) -> Iterator[httpx.Client]:
    server = _ThreadedServer(metrics.asgi_app(), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            yield http
    finally:
        server.stop()


def text_of(http: httpx.Client) -> str:
    answer = http.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def test_the_exposition_holds_each_business_series(metrics: Metrics, scrape: httpx.Client) -> None:
    north = metrics.for_business("studio-north")
    south = metrics.for_business("south")
    assert metrics.for_business("studio-north") is north
    north.update_handled(0.03)
    north.update_handled(0.2)
    south.update_handled(4.0)
    north.booked("booked")
    north.booked("booked")
    north.booked("rescheduled")
    south.booked("cancelled")
    north.zimun_call("ok")
    north.zimun_call("unavailable")
    south.error("telegram")
    metrics.set_state("studio-north", "starting")
    metrics.set_state("studio-north", "serving")
    south.set_state("failed")

    text = text_of(scrape)
    assert sample(text, "zimun_bot_updates_handled_total", business="studio-north") == 2
    assert sample(text, "zimun_bot_updates_handled_total", business="south") == 1
    assert sample(text, "zimun_bot_reply_seconds_count", business="studio-north") == 2
    assert sample(text, "zimun_bot_reply_seconds_sum", business="south") == 4.0
    assert sample(text, "zimun_bot_reply_seconds_bucket", business="studio-north", le="0.05") == 1
    assert sample(text, "zimun_bot_reply_seconds_bucket", business="south", le="2.5") == 0
    assert sample(text, "zimun_bot_bookings_total", business="studio-north", kind="booked") == 2
    assert (
        sample(text, "zimun_bot_bookings_total", business="studio-north", kind="rescheduled") == 1
    )
    assert sample(text, "zimun_bot_bookings_total", business="south", kind="cancelled") == 1
    assert sample(text, "zimun_bot_zimun_calls_total", business="studio-north", outcome="ok") == 1
    assert (
        sample(text, "zimun_bot_zimun_calls_total", business="studio-north", outcome="unavailable")
        == 1
    )
    assert sample(text, "zimun_bot_errors_total", business="south", kind="telegram") == 1
    assert sample(text, "zimun_bot_businesses", state="serving") == 1
    assert sample(text, "zimun_bot_businesses", state="failed") == 1
    assert sample(text, "zimun_bot_businesses", state="starting") == 0
    assert "# HELP zimun_bot_reply_seconds " in text


def test_a_forgotten_business_leaves_no_series(metrics: Metrics, scrape: httpx.Client) -> None:
    gone = metrics.for_business("gone")
    gone.update_handled(0.1)
    gone.booked("booked")
    gone.zimun_call("ok")
    gone.error("zimun")
    gone.set_state("serving")
    metrics.for_business("stays").update_handled(0.1)
    metrics.forget("gone")
    text = text_of(scrape)
    assert 'business="gone"' not in text
    assert sample(text, "zimun_bot_updates_handled_total", business="stays") == 1
    assert sample(text, "zimun_bot_businesses", state="serving") == 0
    metrics.forget("never-seen")  # nothing to remove: no error


def test_label_words_are_bounded(metrics: Metrics) -> None:
    north = metrics.for_business("north")
    for n in range(MAX_WORDS + 5):
        north.error(f"kind_{n}")
    north.error("Not a word: customer text 12:00")
    north.zimun_call("OK ")
    text = metrics.exposition().decode()
    kinds = set(re.findall(r'zimun_bot_errors_total\{business="north",kind="([^"]+)"\}', text))
    assert len(kinds) == MAX_WORDS + 1 and "other" in kinds
    assert sample(text, "zimun_bot_errors_total", business="north", kind="other") == 6
    assert sample(text, "zimun_bot_zimun_calls_total", business="north", outcome="ok") == 1
    with pytest.raises(ValueError):
        north.booked("refunded")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        metrics.set_state("north", "sleeping")  # type: ignore[arg-type]


def test_each_metrics_has_its_own_registry_not_the_global_one() -> None:
    one, two = Metrics(), Metrics(make_registry())
    one.for_business("a").update_handled(0.1)
    assert one.registry is not two.registry and one.registry is not REGISTRY
    assert (
        sample(two.exposition().decode(), "zimun_bot_updates_handled_total", business="a") is None
    )
    assert REGISTRY.get_sample_value("zimun_bot_updates_handled_total", {"business": "a"}) is None
    assert "process_open_fds" in one.exposition().decode()  # the process's own, for the bars
