"""Fault knobs (forced and random) and the request counters."""

from __future__ import annotations

import httpx
import pytest

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem, config


def test_fail_next_forces_n_failures_then_recovers(sandbox: SandboxServer, api: Api) -> None:
    api.login()
    sandbox.faults.fail_next(2, 503)
    assert_problem(api.get("/locations"), 503, "service_unavailable")
    assert_problem(api.get("/services"), 503, "service_unavailable")
    assert api.get("/locations").status_code == 200


def test_forced_429_carries_retry_after(sandbox: SandboxServer, api: Api) -> None:
    api.login()
    sandbox.faults.fail_next(1, 429, retry_after=3)
    response = api.get("/locations")
    assert_problem(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "3"
    sandbox.faults.fail_next(1, 429)
    assert api.get("/locations").headers["retry-after"] == "1"


def test_fail_next_can_target_one_path_and_method(sandbox: SandboxServer, api: Api) -> None:
    api.login()
    sandbox.faults.fail_next(1, 502, path="/availability", method="GET")
    assert api.get("/locations").status_code == 200
    assert_problem(
        api.get("/availability", service_id="svc_physio", days_ahead=1), 502, "bad_gateway"
    )
    assert api.get("/availability", service_id="svc_physio", days_ahead=1).status_code == 200


def test_route_templates_match_too(sandbox: SandboxServer, api: Api) -> None:
    api.login()
    sandbox.faults.fail_next(1, 503, path="/appointments/{appointment_id}")
    assert_problem(api.get("/appointments/a_x"), 503, "service_unavailable")
    assert_problem(api.get("/appointments/a_x"), 404, "appointment_not_found")


def test_api_faults_leave_the_token_endpoint_alone(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.fail_next(1, 503)
    sandbox.faults.rate_limit_rate = 1.0
    api.login()
    assert_problem(api.get("/locations"), 503, "service_unavailable")
    assert_problem(api.get("/locations"), 429, "rate_limited")


def test_token_faults_have_their_own_knob(sandbox: SandboxServer) -> None:
    sandbox.faults.token_fail_next(1, 429, retry_after=2)
    form = {"grant_type": "client_credentials"}
    creds = (sandbox.client_id, sandbox.client_secret)
    first = httpx.post(sandbox.token_url, auth=creds, data=form)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2"
    assert httpx.post(sandbox.token_url, auth=creds, data=form).status_code == 200
    assert sandbox.stats.token_requests == 2


@pytest.mark.parametrize(
    "sandbox_config", [config(rate_limit_rate=1.0, retry_after=5)], indirect=True
)
def test_rate_limit_rate_set_at_start_and_off_at_runtime(sandbox: SandboxServer, api: Api) -> None:
    response = api.get("/locations")
    assert_problem(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "5"
    sandbox.faults.rate_limit_rate = 0
    assert api.get("/locations").status_code == 200


@pytest.mark.parametrize("sandbox_config", [config(error_rate=0.5, fault_seed=7)], indirect=True)
def test_error_rate_fails_some_requests(sandbox: SandboxServer, api: Api) -> None:
    statuses = [api.get("/locations").status_code for _ in range(40)]
    assert set(statuses) == {200, 503}


def test_latency_knob_still_answers(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.latency_ms = 5
    assert api.get("/locations").status_code == 200
    sandbox.faults.clear()
    assert sandbox.faults.latency_ms == 0


def test_stats_count_tokens_and_requests_per_route(sandbox: SandboxServer, api: Api) -> None:
    api.login()
    api.get("/locations")
    api.get("/locations")
    api.get("/appointments/a_1")
    api.get("/appointments/a_2")
    api.post("/appointments/hold", {"service_id": "svc_physio"})
    stats = sandbox.stats
    assert stats.token_requests == 1
    assert stats.count("GET", "/locations") == 2
    assert stats.count("GET", "/appointments/{appointment_id}") == 2
    assert stats.count("GET", "/appointments/{appointment_id}", 404) == 2
    assert stats.count("POST", "/appointments/hold", 422) == 1
    assert stats.total_requests == 5
    stats.reset()
    assert stats.total_requests == 0
    assert stats.token_requests == 0
