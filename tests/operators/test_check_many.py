"""`python -m bot check` (and `--deep`) with BUSINESSES_FILE: every business checked, a line
each prefixed with its id, at most a bounded number at once, exit 1 when any fails; a subprocess
against fake Bot APIs and the sandbox on loopback, as operators run it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.config.businesses import BusinessConfig
from bot.config.settings import Settings, load_settings
from bot.ops.check_many import BusinessCheck, check_all, summary
from sandbox.testing import SandboxServer
from tests.fakes.bot_api import FakeBotAPI
from tests.process import bot_env

NORTH_TOKEN = "111:AAnorth-token-north-token-north"
SOUTH_TOKEN = "222:AAsouth-token-south-token-south"
EAST_TOKEN = "333:AAeast-token-east-token-east-xx"  # no Bot API knows it


def business(business_id: str) -> BusinessConfig:
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=f"1:{business_id}", ZIMUN_CLIENT_ID="id", ZIMUN_CLIENT_SECRET="s"
    )
    return BusinessConfig(business_id, settings)


async def test_at_most_limit_at_once_reported_in_the_files_order() -> None:
    businesses = [business(f"b-{n}") for n in range(12)]
    running, most = 0, 0

    async def one(settings: Settings) -> tuple[bool, list[str]]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        number = int(settings.TELEGRAM_BOT_TOKEN.get_secret_value().rsplit("-", 1)[1])
        for _ in range(12 - number):  # the later ones finish first
            await asyncio.sleep(0)
        running -= 1
        if number == 5:
            raise RuntimeError("the text of this error might quote a secret")
        return number % 4 != 0, [f"OK   checked {number}"]

    reported: list[str] = []
    results = await check_all(businesses, one, limit=3, report=lambda b, r: reported.append(b.id))
    assert most == 3
    assert reported == [b.id for b in businesses] == [r.business for r in results]
    assert results[1] == BusinessCheck("b-1", True, ("b-1: OK   checked 1",))
    assert results[5] == BusinessCheck(
        "b-5", False, ("b-5: FAIL the check crashed (RuntimeError)",)
    )
    assert [r.business for r in results if not r.ok] == ["b-0", "b-4", "b-5", "b-8"]
    assert summary(results) == "12 businesses checked: 8 passed, 4 failed (b-0, b-4, b-5, b-8)."


def test_the_summary_names_at_most_ten_failures() -> None:
    results = [BusinessCheck(f"b-{n}", False, ()) for n in range(13)]
    assert summary(results).endswith(
        "failed (b-0, b-1, b-2, b-3, b-4, b-5, b-6, b-7, b-8, b-9 and 3 more)."
    )
    assert summary(results[:1]) == "1 business checked: 0 passed, 1 failed (b-0)."
    assert summary([]) == "0 businesses checked: 0 passed, 0 failed."


@pytest.fixture
def bot_apis() -> Iterator[dict[str, tuple[FakeBotAPI, str]]]:
    """Two bots' Bot APIs, each with its token and username."""
    apis = {
        "north": FakeBotAPI(token=NORTH_TOKEN, username="north_bot"),
        "south": FakeBotAPI(token=SOUTH_TOKEN, username="south_bot"),
    }
    with ExitStack() as stack:
        yield {name: (api, stack.enter_context(api.serve())) for name, api in apis.items()}


def businesses_env(
    bot_apis: dict[str, tuple[FakeBotAPI, str]], sandbox: SandboxServer, tmp_path: Path
) -> dict[str, str]:
    """The environment of `python -m bot` with a businesses file: north and south can serve,
    east has a token Telegram does not know and a Zimun secret Zimun refuses."""
    north_api, north_url = bot_apis["north"]
    _, south_url = bot_apis["south"]
    path = tmp_path / "businesses.toml"
    path.write_text(
        f"""
[defaults]
ZIMUN_CLIENT_ID = "{sandbox.client_id}"
ZIMUN_CLIENT_SECRET = "${{SHARED_ZIMUN_SECRET}}"

[businesses.north]
TELEGRAM_BOT_TOKEN = "${{NORTH_TOKEN}}"
TELEGRAM_BASE_URL = "{north_url}/bot"

[businesses.south]
TELEGRAM_BOT_TOKEN = "{SOUTH_TOKEN}"
TELEGRAM_BASE_URL = "{south_url}/bot"
BOT_LANGUAGES = "de,en"

[businesses.east]
TELEGRAM_BOT_TOKEN = "{EAST_TOKEN}"
TELEGRAM_BASE_URL = "{south_url}/bot"
ZIMUN_CLIENT_SECRET = "not-the-secret"
""",
        encoding="utf-8",
    )
    env = bot_env(north_api, north_url, sandbox, tmp_path / "bot.db", BUSINESSES_FILE=str(path))
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_BASE_URL",
        "ZIMUN_CLIENT_ID",
        "ZIMUN_CLIENT_SECRET",
    ):
        del env[name]  # each business names its own; ZIMUN_BASE_URL, _TOKEN_URL stay shared
    env.update(NORTH_TOKEN=NORTH_TOKEN, SHARED_ZIMUN_SECRET=sandbox.client_secret)
    return env


def run_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_checks_every_business_a_line_each(
    bot_apis: dict[str, tuple[FakeBotAPI, str]], sandbox: SandboxServer, tmp_path: Path
) -> None:
    result = run_bot(businesses_env(bot_apis, sandbox, tmp_path), tmp_path, "check")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    storage, north, south, east, last = result.stdout.strip().splitlines()
    assert storage == f"OK   Storage: BOT_DB_PATH={tmp_path / 'bot.db'} will be created at start"
    assert north == (
        "north: OK   Telegram: TELEGRAM_BOT_TOKEN accepted, the bot is @north_bot; "
        "Zimun: credentials accepted, 5 branches listed"
    )
    assert south == (
        "south: OK   Telegram: TELEGRAM_BOT_TOKEN accepted, the bot is @south_bot; "
        "Zimun: credentials accepted, 5 branches listed"
    )
    assert east.startswith(
        "east: FAIL Telegram: Telegram rejected TELEGRAM_BOT_TOKEN (check it with BotFather); "
        "Zimun: credentials refused: Zimun token request refused"
    )
    assert last == "3 businesses checked: 2 passed, 1 failed (east)."
    for secret in (NORTH_TOKEN, SOUTH_TOKEN, EAST_TOKEN, sandbox.client_secret, "not-the-secret"):
        assert secret not in output
    assert "Traceback" not in output
    assert not (tmp_path / "bot.db").exists()


def test_check_deep_tours_every_business_and_passes_when_all_can_serve(
    bot_apis: dict[str, tuple[FakeBotAPI, str]], sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = businesses_env(bot_apis, sandbox, tmp_path)
    path = Path(env["BUSINESSES_FILE"])
    text = path.read_text()
    path.write_text(text[: text.index("[businesses.east]")], encoding="utf-8")
    result = run_bot(env, tmp_path, "check", "--deep")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = result.stdout.strip().splitlines()
    assert lines[1].startswith("north: OK   Telegram: TELEGRAM_BOT_TOKEN accepted")
    assert "north: OK   Rules: languages en, es, it, de (default en); " in "\n".join(lines)
    assert any(
        line.startswith("south: OK   Rules: languages de, en (default de)") for line in lines
    )
    passed = [line for line in lines if "Deep check passed" in line]
    assert [line.split(":", 1)[0] for line in passed] == ["north", "south"]
    assert lines[-1] == "2 businesses checked: 2 passed, 0 failed."
    assert all(line.startswith(("north: ", "south: ")) for line in lines[1:-1])
    for secret in (NORTH_TOKEN, SOUTH_TOKEN, sandbox.client_secret):
        assert secret not in output


def test_check_deep_skips_the_tour_of_a_business_zimun_refuses(
    bot_apis: dict[str, tuple[FakeBotAPI, str]], sandbox: SandboxServer, tmp_path: Path
) -> None:
    result = run_bot(businesses_env(bot_apis, sandbox, tmp_path), tmp_path, "check", "--deep")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "east: Deep check skipped: Zimun does not accept the credentials." in lines
    assert lines[-1] == "3 businesses checked: 2 passed, 1 failed (east)."
