"""The seed file, the controllable clock, and `python -m sandbox`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.__main__ import parse_args
from sandbox.clock import Clock
from sandbox.config import DEFAULT_SEED_PATH, SandboxConfig
from sandbox.seed import SeedError, load_seed, parse_seed
from sandbox.testing import serve_sandbox
from tests.process import free_port
from tests.sandbox.conftest import MONDAY, Api

RAW = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))


def test_default_seed_is_the_demo_organization() -> None:
    seed = load_seed(DEFAULT_SEED_PATH)
    assert len({loc.timezone for loc in seed.locations}) >= 3
    assert len({svc.duration_minutes for svc in seed.services}) >= 5
    assert any(not svc.location_ids for svc in seed.services)
    assert any(svc.capacity > 1 for svc in seed.services)
    madrid = seed.location("loc_madrid")
    assert madrid is not None
    holiday = madrid.holiday_on(date(2027, 12, 25))  # recurring "MM-DD"
    assert holiday is not None and holiday.name == "Navidad"
    assert madrid.holiday_on(date(2026, 12, 7)) is not None  # dated "YYYY-MM-DD"
    assert madrid.holiday_on(date(2027, 12, 7)) is None
    assert madrid.intervals_on(date(2026, 11, 29)) == ()  # Sunday
    assert [loc.id for loc in seed.locations][:3] == ["loc_madrid", "loc_milan", "loc_berlin"]
    round_the_clock = seed.location("loc_madrid_24h")
    assert round_the_clock is not None
    [interval] = round_the_clock.intervals_on(date(2027, 3, 28))
    assert interval.wall_bounds(date(2027, 3, 28)) == (
        datetime(2027, 3, 28, 0, 0),
        datetime(2027, 3, 29, 0, 0),  # "24:00"
    )
    mexico = seed.location("loc_cdmx")
    assert mexico is not None and mexico.timezone == "America/Mexico_City"
    for day in (date(2026, 2, 2), date(2027, 3, 15), date(2028, 11, 20)):  # moved to Mondays
        assert day.weekday() == 0 and mexico.holiday_on(day) is not None
    assert mexico.holiday_on(date(2028, 9, 16)) is not None  # recurring


def broken(path: list[Any], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (broken(["locations", 0, "timezone"], "Mars/Olympus"), "unknown timezone"),
        (broken(["locations", 0, "opening_hours", "mon"], [["14:00", "09:00"]]), "closes before"),
        (broken(["locations", 0, "opening_hours", "funday"], []), "unknown weekday"),
        (broken(["locations", 0, "opening_hours", "mon"], [["24:00", "24:00"]]), "may be"),
        (broken(["locations", 0, "opening_hours", "mon"], [["09:00", "25:00"]]), "may be"),
        (broken(["locations", 0, "opening_hours", "mon"], [["09:00"]]), "expected"),
        (broken(["locations", 0, "holidays", 0, "date"], "31-31"), "neither MM-DD"),
        (broken(["services", 0, "duration_minutes"], 0), "positive integer"),
        (broken(["services", 1, "location_ids"], ["loc_paris"]), "unknown location"),
        (broken(["services", 1, "id"], "svc_checkup"), "duplicate"),
        (broken(["services"], []), "non-empty list"),
    ],
)
def test_a_broken_seed_names_the_problem(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        parse_seed(raw)


def test_a_seed_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(SeedError, match="not valid JSON"):
        load_seed(path)


def test_a_custom_seed_is_served(tmp_path: Path) -> None:
    raw = copy.deepcopy(RAW)
    raw["services"] = [{**raw["services"][0], "id": "svc_only", "capacity": 1}]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with serve_sandbox(SandboxConfig(seed_path=path, now=MONDAY, freeze_clock=True)) as server:
        api = Api(server)
        ids = [s["id"] for s in api.get("/services").json()["items"]]
        api.close()
    assert ids == ["svc_only"]


def test_clock_advance_set_freeze() -> None:
    clock = Clock(MONDAY, frozen=True)
    assert clock.now() == MONDAY
    assert clock.advance(90) == MONDAY + timedelta(seconds=90)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    clock.set(later)
    assert clock.now() == later
    clock.unfreeze()
    assert clock.now() >= later
    assert not clock.frozen
    real = Clock()
    assert abs(real.now() - datetime.now(UTC)) < timedelta(seconds=5)
    real.advance(3600)
    assert real.now() - datetime.now(UTC) > timedelta(minutes=59)
    with pytest.raises(ValueError):
        clock.set(datetime(2027, 1, 1))


def test_cli_flags_build_the_config() -> None:
    config, host, port = parse_args(
        [
            "--port",
            "9000",
            "--hold-ttl",
            "60",
            "--token-ttl",
            "120",
            "--dialects",
            "patch,booking_id",
            "--rate-limit-rate",
            "0.1",
            "--latency-ms",
            "20",
        ]
    )
    assert (host, port) == ("127.0.0.1", 9000)
    assert (config.hold_ttl, config.token_ttl) == (60, 120)
    assert config.dialects == {"patch", "booking_id"}
    assert (config.rate_limit_rate, config.latency_ms) == (0.1, 20)
    assert config.control_api is True
    assert parse_args(["--no-control-api"])[0].control_api is False
    with pytest.raises(SystemExit):
        parse_args(["--dialects", "telepathy"])


def test_config_refuses_unknown_dialects() -> None:
    with pytest.raises(ValueError, match="dialects"):
        SandboxConfig(dialects=frozenset({"fax"}))


def test_python_m_sandbox_serves_the_api() -> None:
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--dialects", "patch"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        form = {"grant_type": "client_credentials"}
        deadline = time.monotonic() + 20
        while True:
            try:
                token = httpx.post(
                    f"{url}/oauth/token", auth=("demo-client", "demo-secret"), data=form
                )
                break
            except httpx.ConnectError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "python -m sandbox did not start"
                time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        locations = httpx.get(f"{url}/api/v1/locations", headers=headers)
        assert len(locations.json()["items"]) == 5
        assert httpx.post(f"{url}/api/v1/appointments/cancel", headers=headers).status_code == 405
        # The control API drives the process from outside: the business, and the clock.
        assert httpx.post(f"{url}/_sandbox/locations/loc_berlin/deactivate").status_code == 200
        items = httpx.get(f"{url}/api/v1/locations", headers=headers).json()["items"]
        assert [loc["active"] for loc in items if loc["id"] == "loc_berlin"] == [False]
        clock = httpx.post(f"{url}/_sandbox/clock", json={"now": "2027-10-30T12:00:00Z"})
        assert clock.json() == {"now": "2027-10-30T12:00:00+00:00", "frozen": True}
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()


def test_the_cli_takes_numbered_clients() -> None:
    config, _, _ = parse_args(["--clients", "500", "--client-prefix", "b", "--secret-prefix", "s"])
    assert config.extra_clients == 500
    assert config.all_clients[-1].client_id == "b-500"
    assert config.all_clients[-1].client_secret == "s-500"
    assert parse_args([])[0].all_clients == (config.client,)
