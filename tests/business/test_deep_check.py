"""`python -m bot check --deep`: a read-only tour of the account as the bot will offer it, that
says what it could not read by field and endpoint, with an exit code CI can gate on."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.operator import load_operator
from bot.core.models import Service
from bot.ops.deep_check import run_deep_check
from sandbox.config import SandboxConfig
from sandbox.testing import SandboxServer
from tests.booking.conftest import MONDAY, make_client
from tests.business.conftest import operator_settings
from tests.fakes.bot_api import FakeBotAPI
from tests.process import bot_env

NOW = MONDAY + timedelta(hours=3)  # Monday 23 November 2026, 10:00 in Madrid
READS = {"GET", "OPTIONS"}


@pytest.fixture
def sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    """The sandbox at NOW; a test's own config (indirect parametrization) keeps NOW too."""
    config = getattr(request, "param", None) or SandboxConfig(freeze_clock=True)
    return config.replace(now=NOW)


async def tour(server: SandboxServer, **values: str) -> list[str]:
    settings = operator_settings(server, **values)
    report = await run_deep_check(settings, load_operator(settings), now=NOW)
    lines = report.lines()
    assert lines[-1].startswith("Deep check passed" if report.ok else "Deep check failed")
    return lines


def writes(sandbox: SandboxServer) -> set[tuple[str, str]]:
    """Every API request that could change something (the token request is not one)."""
    return {(method, route) for method, route in sandbox.stats.requests if method not in READS}


async def test_the_tour_shows_the_offer_and_the_window_and_only_reads(
    sandbox: SandboxServer,
) -> None:
    lines = await tour(
        sandbox,
        HIDE_SERVICES="svc_physio,svc_typo",
        BOOKING_LEAD_TIME="2h",
        BOOKING_HORIZON="60d",
        CHANGE_CUTOFF="24h",
        BOT_LANGUAGES="es,en",
        CONTACT="+34 600 000 000",
    )
    text = "\n".join(lines)
    assert lines[0] == (
        "OK   Rules: languages es, en (default es); bookable from 2 h to 60 d ahead; changes: "
        "reschedule and cancel until 24 h before the start"
    )
    assert (
        "OK   Branches: 5 of 5 offered, in this order\n"
        "       1. loc_madrid  Madrid – Chamberí  (Europe/Madrid)\n"
        "       2. loc_milan  Milano – Porta Romana  (Europe/Rome)\n"
        "       3. loc_berlin  Berlin – Prenzlauer Berg  (Europe/Berlin)\n"
        "       4. loc_madrid_24h  Madrid – Urgencias 24 h  (Europe/Madrid)\n"
        "       5. loc_cdmx  Ciudad de México – Roma Norte  (America/Mexico_City)\n"
    ) in text
    assert "OK   Services: 5 of 6 offered, in this order" in lines
    assert "       not offered: svc_physio  Physiotherapy session  (hidden)" in lines
    assert "WARN HIDE_SERVICES: names svc_typo, which this account does not have (a typo?)" in lines
    consultation = next(x for x in lines if x.startswith("OK   Availability svc_consultation"))
    assert re.fullmatch(
        r"OK   Availability svc_consultation at loc_madrid: \d+ bookable time\(s\) in the "
        r"booking window, the first on Mon 2026-11-23 12:00 \(Europe/Madrid\)",
        consultation,
    ), consultation
    assert "earlier free time(s) are inside BOOKING_LEAD_TIME" in text  # the next hours
    assert [x for x in lines if x.startswith("OK   Availability")] and "FAIL" not in text
    assert lines[-2] == (
        "OK   Reschedule/cancel: the server offers POST /appointments/reschedule and "
        "/appointments/cancel (appointment_id or booking_id: told apart on first use); "
        "PATCH /appointments/{id}"
    )
    assert lines[-1] == "Deep check passed: the bot can serve customers (1 warning(s))."
    assert not writes(sandbox)
    assert not sandbox.store.active_holds() and not sandbox.store.appointment_list()


@pytest.mark.parametrize(
    ("sandbox_config", "values", "expected"),
    [
        (
            SandboxConfig(freeze_clock=True, dialects=frozenset({"patch"})),
            {},
            "OK   Reschedule/cancel: the server offers PATCH /appointments/{id}",
        ),
        (
            SandboxConfig(freeze_clock=True, dialects=frozenset({"booking_id"})),
            {},
            "OK   Reschedule/cancel: the server offers POST /appointments/reschedule and "
            "/appointments/cancel (appointment_id or booking_id: told apart on first use)",
        ),
        (
            SandboxConfig(freeze_clock=True, dialects=frozenset({"appointment_id"})),
            {"ZIMUN_API_DIALECT": "patch"},
            "FAIL Reschedule/cancel: ZIMUN_API_DIALECT=patch, but the server does not allow "
            "PATCH /appointments/{id}",
        ),
        (
            SandboxConfig(freeze_clock=True, dialects=frozenset({"appointment_id"})),
            {"ZIMUN_API_DIALECT": "patch", "ALLOW_RESCHEDULE": "0", "ALLOW_CANCEL": "0"},
            "WARN Reschedule/cancel: ZIMUN_API_DIALECT=patch, but the server does not allow "
            "PATCH /appointments/{id} (not used: ALLOW_RESCHEDULE and ALLOW_CANCEL are off)",
        ),
        (  # a wrong pin passed as OK: both POST forms share the routes OPTIONS can tell
            SandboxConfig(freeze_clock=True, dialects=frozenset({"appointment_id"})),
            {"ZIMUN_API_DIALECT": "booking_id"},
            "WARN Reschedule/cancel: ZIMUN_API_DIALECT=booking_id is used as set, but it "
            "cannot be confirmed without a change; if it is wrong every reschedule and cancel "
            "fails: leave it unset to detect the form on first use",
        ),
    ],
    indirect=["sandbox_config"],
)
async def test_the_change_form_is_learnt_without_a_change(
    sandbox: SandboxServer, values: dict[str, str], expected: str
) -> None:
    lines = await tour(sandbox, **values)
    assert lines[-2] == expected
    assert not sandbox.store.appointment_list()


async def test_a_rule_that_offers_nothing_fails(sandbox: SandboxServer) -> None:
    everywhere = "loc_madrid,loc_milan,loc_berlin,loc_madrid_24h,loc_cdmx"
    lines = await tour(sandbox, HIDE_LOCATIONS=everywhere)
    assert "FAIL Branches: none of 5 is offered: customers cannot book" in lines
    assert lines[-1].startswith("Deep check failed: 2 problem(s)")  # branches and services


# ---- damaged answers: what could not be read, where ---------------------------------------


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            ("GET", "/availability", "days[0].slots[0].start_time", "remove"),
            "FAIL Availability svc_checkup at loc_madrid: GET /availability?service_id="
            "svc_checkup&location_id=loc_madrid&days_ahead=31 answered something the bot cannot "
            "read: Day: field 'slots.0.start' is missing",
        ),
        (
            ("GET", "/availability", "days[0].date", "garble"),
            "FAIL Availability svc_checkup at loc_madrid: GET /availability?service_id="
            "svc_checkup&location_id=loc_madrid&days_ahead=31 answered something the bot cannot "
            "read: Day: field 'date' Input should be a valid date",
        ),
        (
            ("GET", "/locations", "items[0].id", "remove"),
            "FAIL Branches: GET /locations answered something the bot cannot read: Location: "
            "field 'id' is missing",
        ),
        (
            ("GET", "/locations", "items[1].timezone", "garble"),
            "WARN Branch loc_milan: timezone 'garbled#value' is not understood (field "
            "'timezone', GET /locations): times would be shown in UTC",
        ),
        (
            ("GET", "/services", "items[1].duration_minutes", "remove"),
            "INFO Service svc_consultation: no duration (field 'duration_minutes', GET "
            "/services): the calendar file assumes 30 min when the booking does not say when "
            "it ends",
        ),
    ],
)
async def test_a_damaged_answer_is_reported_by_field_and_endpoint(
    sandbox: SandboxServer, damage: tuple[str, str, str, str], expected: str
) -> None:
    method, route, field_path, mode = damage
    sandbox.faults.damage(method, route, field_path, mode, garbage="garbled#value")
    lines = await tour(sandbox)
    assert any(line.startswith(expected) for line in lines), "\n".join(lines)
    failed = expected.startswith("FAIL")
    assert lines[-1].startswith("Deep check failed" if failed else "Deep check passed")


# ---- as operators run it ------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[tuple[FakeBotAPI, str]]:
    api = FakeBotAPI()
    with api.serve() as base_url:
        yield api, base_url


def run_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_check_deep_passes_and_prints_no_secret_or_customer_data(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    async with make_client(sandbox) as client:
        await book_someone(client, sandbox)
    booked = writes(sandbox)
    env = bot_env(api, base_url, sandbox, tmp_path / "bot.db", HIDE_SERVICES="svc_physio")
    result = run_bot(env, tmp_path, "check", "--deep")
    assert writes(sandbox) == booked  # the check added no write of its own
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = result.stdout.splitlines()
    assert lines[0] == "OK   Telegram: TELEGRAM_BOT_TOKEN accepted, the bot is @zimun_test_bot"
    assert "OK   Services: 5 of 6 offered, in this order" in lines
    assert lines[-1].startswith("Deep check passed: the bot can serve customers")
    for secret in (sandbox.client_secret, api.token, "Zoë Private", "zoe.private@example.com"):
        assert secret not in output
    assert "Traceback" not in output


async def book_someone(client: object, sandbox: SandboxServer) -> None:
    """A customer's appointment in the account: the check must not show it."""
    store = sandbox.store
    service = Service(id="svc_consultation", duration_minutes=30)
    availability = await client.get_availability(  # type: ignore[attr-defined]
        service.id, location_id="loc_madrid", days_ahead=14
    )
    start = next(s.start for d in availability.days for s in d.slots)
    hold = await client.hold(service=service, start=start, location_id="loc_madrid")  # type: ignore[attr-defined]
    await client.confirm(hold.hold_id, name="Zoë Private", email="zoe.private@example.com")  # type: ignore[attr-defined]
    assert store.appointment_list("confirmed")


def test_check_deep_fails_on_a_damaged_answer(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    sandbox.faults.damage("GET", "/services", "items[2].id", "remove")
    env = bot_env(api, base_url, sandbox, tmp_path / "bot.db")
    result = run_bot(env, tmp_path, "check", "--deep")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "FAIL Services: GET /services answered something the bot cannot read: Service: field "
        "'id' is missing"
    ) in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1].startswith("Deep check failed: 1 problem(s)")


def test_a_broken_override_stops_start_up_with_one_line(
    fake: tuple[FakeBotAPI, str], sandbox: SandboxServer, tmp_path: Path
) -> None:
    api, base_url = fake
    folder = tmp_path / "messages"
    folder.mkdir()
    (folder / "de.po").write_text(
        'msgid ""\nmsgstr ""\n\nmsgid "From now on I\'ll write in {language}."\n'
        'msgstr "Sprache: {sprache}."\n',
        encoding="utf-8",
    )
    env = bot_env(api, base_url, sandbox, tmp_path / "bot.db", MESSAGES_DIR=str(folder))
    for args in ((), ("check",), ("check", "--deep")):
        result = run_bot(env, tmp_path, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.splitlines() == [
            f"Configuration error: MESSAGES_DIR={folder}: de.po line 4: placeholders {{sprache}} "
            "differ from the original's {language}; keep every {name} of the msgid, spelled "
            'the same (message "From now on I\'ll write in {language}.")'
        ]
        assert result.stdout == ""
    assert not api.calls  # Telegram was not even asked
    assert not (tmp_path / "bot.db").exists()
