"""The log handler of the bot process never prints tokens, secrets or email addresses, even
when another library (httpx) or an exception message carries them."""

from __future__ import annotations

import io
import logging

import pytest

from bot.config.logs import configure_logging

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"


@pytest.fixture
def restore_root_logger():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_and_emails_are_scrubbed(fmt: str, restore_root_logger: None) -> None:
    stream = io.StringIO()
    configure_logging("DEBUG", fmt, secrets=["zimun-secret-value"], stream=stream)
    log = logging.getLogger("bot.test")
    log.info("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    log.warning("client secret zimun-secret-value rejected for ana.garcia@example.es")
    try:
        raise ValueError(f"invalid email: ana.garcia@example.es via bot{TOKEN}")
    except ValueError:
        log.exception("failed")
    output = stream.getvalue()
    assert "[token]" in output and "[email]" in output and "[secret]" in output
    assert TOKEN not in output
    assert "AAFakeTokenForTestsOnly" not in output
    assert "ana.garcia@example.es" not in output
    assert "zimun-secret-value" not in output


def test_httpx_request_lines_are_not_logged(restore_root_logger: None) -> None:
    configure_logging("DEBUG", "text", stream=io.StringIO())
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
