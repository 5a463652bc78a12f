"""`python -m bot` with bad configuration: one clear line on stderr, exit code 2, no traceback."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.wiring import guessable
from tests.fakes.bot_api import DEFAULT_TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


def run_bot(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Run from an empty directory so a developer's .env cannot fill in what the test leaves out.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZIMUN_"))}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_missing_token_is_one_line(tmp_path: Path) -> None:
    result = run_bot({"ZIMUN_CLIENT_ID": "id", "ZIMUN_CLIENT_SECRET": "s"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "Configuration error: TELEGRAM_BOT_TOKEN is not set (put it in the environment or in "
        ".env; see .env.example)"
    ]
    assert "Traceback" not in result.stderr


def test_a_webhook_needs_a_secret(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "ZIMUN_CLIENT_ID": "id",
        "ZIMUN_CLIENT_SECRET": "s",
        "WEBHOOK_URL": "https://bot.example.com/telegram",
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
    }
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("Configuration error: WEBHOOK_SECRET is not set")
    )
    assert "Traceback" not in result.stderr
    assert "123:abc" not in result.stderr


def test_an_unknown_subcommand_is_refused(tmp_path: Path) -> None:
    result = run_bot({}, tmp_path, "fly")
    assert result.returncode == 2
    assert "invalid choice: 'fly'" in result.stderr


def test_an_unreachable_bot_api_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN,
        "TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}",
        "ZIMUN_CLIENT_ID": "id",
        "ZIMUN_CLIENT_SECRET": "s",
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
    }
    result = run_bot(env, tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot reach the Telegram Bot API at TELEGRAM_BASE_URL")
    assert "Traceback" not in result.stderr
    assert DEFAULT_TOKEN.split(":")[1] not in result.stderr


def test_a_token_telegram_refuses_is_one_line(tmp_path: Path) -> None:
    fake = FakeBotAPI()  # knows only its own token
    with fake.serve() as base_url:
        env = {
            "TELEGRAM_BOT_TOKEN": "987654321:AAWrongTokenWrongTokenWrongToken_xyz",
            "TELEGRAM_BASE_URL": base_url,
            "ZIMUN_CLIENT_ID": "id",
            "ZIMUN_CLIENT_SECRET": "s",
            "BOT_DB_PATH": str(tmp_path / "bot.db"),
        }
        result = run_bot(env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with BotFather)"
    )
    assert "Traceback" not in result.stderr
    assert "AAWrongToken" not in result.stderr


def test_a_short_webhook_secret_is_refused(tmp_path: Path) -> None:
    """The secret is all that keeps strangers from posting updates: 32 characters at least."""
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "ZIMUN_CLIENT_ID": "id",
        "ZIMUN_CLIENT_SECRET": "s",
        "WEBHOOK_URL": "https://bot.example.com/telegram",
        "WEBHOOK_SECRET": "x" * 31,
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
    }
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Configuration error: WEBHOOK_SECRET is invalid: use 32 to 256")
    assert "x" * 31 not in result.stderr
    assert not (tmp_path / "bot.db").exists()


@pytest.mark.parametrize("secret", ["a" * 32, "ab" * 16, "abcdefgh" * 4, "0123" * 10])
def test_a_guessable_webhook_secret_is_refused(tmp_path: Path, secret: str) -> None:
    """32 x "a" has the length Telegram accepts and nothing a stranger must guess."""
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "ZIMUN_CLIENT_ID": "id",
        "ZIMUN_CLIENT_SECRET": "s",
        "WEBHOOK_URL": "https://bot.example.com/telegram",
        "WEBHOOK_SECRET": secret,
        "BOT_DB_PATH": str(tmp_path / "bot.db"),
    }
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: WEBHOOK_SECRET is too easy to guess (too few different "
        "characters, or a short piece repeated): use a random one, e.g. the output of: "
        "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    ]
    assert not (tmp_path / "bot.db").exists()


def test_random_secrets_are_not_guessable() -> None:
    """Every secret the README suggests (and hex ones) passes, with room to spare."""
    generator = random.Random(7)
    alphabet = "0123456789abcdef"
    for _ in range(2000):
        assert not guessable("".join(generator.choice(alphabet) for _ in range(32)))
