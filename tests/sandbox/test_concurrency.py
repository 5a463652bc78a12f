"""Conflict-free under concurrency: simultaneous holds on the last places of a slot."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import httpx

from sandbox.testing import SandboxServer
from tests.sandbox.conftest import Api

TUE_9 = "2026-11-24T09:00:00+01:00"


async def _race(server: SandboxServer, token: str, body: dict[str, str], n: int) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.AsyncClient(base_url=server.base_url) for _ in range(n)]
    try:
        responses = await asyncio.gather(
            *(c.post("/appointments/hold", json=body, headers=headers) for c in clients)
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return sorted(r.status_code for r in responses)


async def test_two_holds_on_the_last_place_give_one_hold_and_one_409(
    sandbox: SandboxServer, api: Api
) -> None:
    token = api.login()
    body = {
        "service_id": "svc_consultation",
        "appointment_time": TUE_9,
        "location_id": "loc_madrid",
    }
    assert await _race(sandbox, token, body, 2) == [201, 409]
    assert len(sandbox.store.active_holds()) == 1


async def test_many_holds_on_a_capacity_two_slot_give_two_holds(
    sandbox: SandboxServer, api: Api
) -> None:
    token = api.login()
    body = {"service_id": "svc_physio", "appointment_time": TUE_9}
    statuses = await _race(sandbox, token, body, 8)
    assert statuses == [201, 201] + [409] * 6
    assert len(sandbox.store.active_holds()) == 2


def test_the_store_itself_is_safe_across_threads(sandbox: SandboxServer) -> None:
    store = sandbox.store
    start = datetime.fromisoformat(TUE_9)
    won: list[str] = []
    barrier = threading.Barrier(8)

    def grab() -> None:
        barrier.wait()
        try:
            won.append(store.hold("svc_physio", None, start, "t").hold_id)
        except Exception as exc:  # the losers' 409
            assert getattr(exc, "code", None) == "slot_unavailable"

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(won) == 2
