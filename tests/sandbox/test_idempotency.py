"""Idempotency-Key: replay, reuse with another body, in progress, scope, lifetime, lost answers."""

from __future__ import annotations

import threading

import httpx
import pytest

from sandbox.config import ClientConfig
from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api, assert_problem, config

TUE_9 = "2026-11-24T09:00:00+01:00"
TUE_10 = "2026-11-24T10:00:00+01:00"
HOLD = {"service_id": "svc_whitening", "appointment_time": TUE_9}  # capacity 1


def test_same_key_same_body_replays_the_first_answer(sandbox: SandboxServer, api: Api) -> None:
    first = api.post("/appointments/hold", HOLD, key="k-1")
    again = api.post("/appointments/hold", HOLD, key="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(sandbox.store.active_holds()) == 1


def test_errors_are_replayed_too(api: Api) -> None:
    api.post("/appointments/hold", HOLD)
    first = api.post("/appointments/hold", HOLD, key="k-err")
    assert_problem(first, 409, "slot_unavailable")
    again = api.post("/appointments/hold", HOLD, key="k-err")
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_same_key_other_body_is_422(sandbox: SandboxServer, api: Api) -> None:
    api.post("/appointments/hold", HOLD, key="k-2")
    other = {**HOLD, "appointment_time": TUE_10}
    assert_problem(api.post("/appointments/hold", other, key="k-2"), 422, "idempotency_key_reused")
    assert len(sandbox.store.active_holds()) == 1


def test_same_key_on_another_appointment_path_is_422(api: Api) -> None:
    a = api.book("svc_physio", TUE_9)["appointment_id"]
    b = api.book("svc_physio", TUE_10)["appointment_id"]
    assert api.patch(f"/appointments/{a}", {"status": "cancelled"}, key="k-3").status_code == 200
    reused = api.patch(f"/appointments/{b}", {"status": "cancelled"}, key="k-3")
    assert_problem(reused, 422, "idempotency_key_reused")
    assert api.get(f"/appointments/{b}").json()["status"] == "confirmed"


def test_keys_are_per_route(api: Api) -> None:
    held = api.post("/appointments/hold", HOLD, key="shared")
    assert held.status_code == 201
    confirm = {
        "hold_id": held.json()["hold_id"],
        "contact_name": "Ana",
        "contact_email": "ana@example.com",
    }
    confirmed = api.post("/appointments/confirm", confirm, key="shared")
    assert confirmed.status_code == 201
    assert "idempotent-replayed" not in confirmed.headers


@pytest.mark.parametrize(
    "sandbox_config",
    [config(clients=(ClientConfig("demo-client", "demo-secret"), ClientConfig("other", "pw")))],
    indirect=True,
)
def test_keys_are_per_client(sandbox: SandboxServer, api: Api) -> None:
    other = Api(sandbox, "other", "pw")
    assert api.post("/appointments/hold", HOLD, key="k").status_code == 201
    assert_problem(other.post("/appointments/hold", HOLD, key="k"), 409, "slot_unavailable")
    other.close()


def test_keys_live_24_hours(sandbox: SandboxServer, api: Api) -> None:
    first = api.post("/appointments/hold", HOLD, key="k-old").json()
    sandbox.clock.advance(24 * 3600 - 1)
    api.login()
    assert api.post("/appointments/hold", HOLD, key="k-old").json() == first
    sandbox.clock.advance(1)
    api.login()
    # A fresh request now: the hold expired long ago and the old time is in the past.
    assert_problem(api.post("/appointments/hold", HOLD, key="k-old"), 400, "not_bookable")


def test_without_a_key_nothing_is_replayed(sandbox: SandboxServer, api: Api) -> None:
    assert api.post("/appointments/hold", HOLD).status_code == 201
    assert_problem(api.post("/appointments/hold", HOLD), 409, "slot_unavailable")


def test_same_key_while_the_first_runs_is_409_in_progress(sandbox: SandboxServer, api: Api) -> None:
    gate = sandbox.faults.block_next("/appointments/hold")
    results: dict[str, httpx.Response] = {}
    headers = {**api._headers("k-slow")}

    def first() -> None:
        with httpx.Client(base_url=sandbox.base_url) as http:
            results["first"] = http.post("/appointments/hold", json=HOLD, headers=headers)

    thread = threading.Thread(target=first)
    thread.start()
    assert gate.wait_entered()
    assert_problem(
        api.post("/appointments/hold", HOLD, key="k-slow"), 409, "idempotency_request_in_progress"
    )
    gate.release()
    thread.join(10)
    assert results["first"].status_code == 201
    again = api.post("/appointments/hold", HOLD, key="k-slow")
    assert again.json() == results["first"].json()


def test_a_lost_confirm_response_is_recovered_by_retrying(sandbox: SandboxServer, api: Api) -> None:
    hold_id = api.post("/appointments/hold", HOLD).json()["hold_id"]
    body = {"hold_id": hold_id, "contact_name": "Ana", "contact_email": "ana@example.com"}
    sandbox.faults.drop_response_next("/appointments/confirm")
    lost = api.post("/appointments/confirm", body, key="k-confirm")
    assert_problem(lost, 500, "internal_error")
    assert len(sandbox.store.appointment_list()) == 1
    retried = api.post("/appointments/confirm", body, key="k-confirm")
    assert retried.status_code == 201
    assert retried.headers["idempotent-replayed"] == "true"
    assert [a.id for a in sandbox.store.appointment_list()] == [retried.json()["appointment_id"]]


def test_a_forced_failure_is_not_remembered(sandbox: SandboxServer, api: Api) -> None:
    sandbox.faults.fail_next(1, 503, path="/appointments/hold")
    assert_problem(api.post("/appointments/hold", HOLD, key="k-503"), 503, "service_unavailable")
    retried = api.post("/appointments/hold", HOLD, key="k-503")
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
