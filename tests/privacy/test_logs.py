"""A whole booking through the real Application at DEBUG: the log never holds the customer's
email or name, nor a token or secret, and emails not because the scrubber caught them (no
"[email]" marker appears either). With LOG_FORMAT=json, each update is one JSON line with
its kind, action, a chat tag that is not the chat id, the outcome and the duration."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.config.chat_tag import chat_tag
from bot.config.logs import configure_logging
from bot.core.payload import Action, booking_data
from sandbox.testing import SandboxServer
from tests.reminders.harness import OpsBot
from tests.telegram.harness import Chat

NAME = "Zoraida Quintanilla"
EMAIL = "zoraida.quintanilla@example.org"


@pytest.fixture
def log_stream(sandbox: SandboxServer) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    stream = io.StringIO()
    configure_logging("DEBUG", "json", secrets=[sandbox.client_secret], stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


async def test_a_full_booking_logs_no_email_name_or_token(
    log_stream: io.StringIO, ops: OpsBot, chat: Chat, sandbox: SandboxServer
) -> None:
    chat.first_name = "Zoraida"
    await chat.open_booking()
    await chat.pick_slot(day=2)
    await chat.send(NAME)
    await chat.send("not-an-email")  # rejected input is not logged either
    await chat.send(EMAIL)
    await chat.tap_index(0)  # Confirm
    await chat.command("mybookings")
    await chat.tap_index(0)
    await chat.tap_index(1)  # Cancel booking
    await chat.tap_index(0)  # Yes
    await chat.command("forget")
    await chat.tap_index(0)
    [appointment] = sandbox.store.appointment_list()
    assert (appointment.contact_name, appointment.contact_email) == (NAME, EMAIL)

    output = log_stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    assert any(e["logger"].startswith("telegram") for e in lines)  # DEBUG really was on
    assert any(e["logger"] == "bot.zimun" for e in lines)
    for forbidden in (
        EMAIL,
        "zoraida",
        "Quintanilla",
        "not-an-email",
        ops.fake.token,
        ops.fake.token.split(":")[1],
        sandbox.client_secret,
    ):
        assert forbidden.lower() not in output.lower(), forbidden
    # Emails never reach a log call (the scrubber's marker would show); the bot token does,
    # in python-telegram-bot's "Set Bot API URL" line, and the scrubber replaces it.
    assert "[email]" not in output and "[secret]" not in output

    updates = [e for e in lines if e.get("event") == "update"]
    assert len(updates) == len(ops.fake.updates)
    for entry in updates:
        assert entry["update_kind"] in {"command", "text", "callback"}
        assert entry["outcome"] == "ok"
        assert isinstance(entry["duration_ms"], float) and entry["duration_ms"] >= 0
        assert str(chat.chat_id) not in entry["chat"] and len(entry["chat"]) == 12
    assert {e["chat"] for e in updates} == {updates[0]["chat"]}  # one chat, one tag
    assert {e["action"] for e in updates if e["update_kind"] == "command"} == {
        "start",
        "mybookings",
        "forget",
    }


async def test_no_log_line_names_a_telegram_id_only_its_tag(
    log_stream: io.StringIO, ops: OpsBot, sandbox: SandboxServer
) -> None:
    """The lines that used to print raw ids (a refused booking, a failed delivery, /forget)
    carry the same tag as the per-update line."""
    owner, intruder = Chat(ops, chat_id=73400219), Chat(ops, chat_id=73400283)
    await owner.book(day=2)
    [row] = ops.db.bookings_for_user(owner.chat_id)
    ops.fake.user_taps(intruder.chat_id, 1, booking_data(Action.OPEN_BOOKING, row.id))
    await ops.settle()  # "refused access to booking"
    ops.fake.fail(1, 400, "Bad Request: chat not found", frozenset({"sendMessage"}))
    await intruder.command("help")  # the reply fails: "update ... in chat ... failed"
    await owner.command("forget")
    await owner.tap_index(0)  # "forgotten at their request"

    output = log_stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    messages = [e["message"] for e in lines]
    for needle in ("refused access", "failed", "forgotten at their request"):
        assert any(needle in m for m in messages), needle
    for chat in (owner, intruder):
        assert str(chat.chat_id) not in output
        tag = chat_tag(chat.chat_id)
        assert any(e.get("chat") == tag for e in lines)  # the per-update line's tag ...
    assert any(chat_tag(intruder.chat_id) in m for m in messages if "refused access" in m)
    assert any(chat_tag(intruder.chat_id) in m for m in messages if "failed" in m)
    assert any(chat_tag(owner.chat_id) in m for m in messages if "forgotten" in m)
