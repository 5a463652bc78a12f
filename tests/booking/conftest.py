"""Fixtures for the conversation tests: a real ZimunClient against the sandbox over HTTP,
a temp-file Storage, and an engine whose clock is the sandbox's (controllable) clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.chat.engine import Conversation
from bot.core.events import Customer
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.driver import Chat
from tests.clock import MONDAY

LANGUAGES = ("en", "es", "it", "de")


async def _no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


def make_client(sandbox: SandboxServer, *, max_retries: int = 1) -> ZimunClient:
    return ZimunClient(
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        max_retries=max_retries,
        sleep=_no_sleep,
        timeout=5.0,
    )


@pytest.fixture
async def api(sandbox: SandboxServer) -> AsyncIterator[ZimunClient]:
    async with make_client(sandbox) as client:
        yield client


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "bot.db")


@pytest.fixture
def storage(db_path: str) -> Iterator[Storage]:
    store = Storage(db_path)
    yield store
    store.close()


@pytest.fixture
def engine(api: ZimunClient, storage: Storage, sandbox: SandboxServer) -> Conversation:
    return Conversation(api, storage, now=sandbox.clock.now)


def customer(user_id: int = 1001, lang: str = "en", **kw: object) -> Customer:
    defaults: dict[str, object] = {"first_name": "Ana", "last_name": "García"}
    defaults.update(kw)
    return Customer(user_id=user_id, chat_id=user_id, language_code=lang, **defaults)  # type: ignore[arg-type]


@pytest.fixture
def chat(engine: Conversation) -> Iterator[Chat]:
    talk = Chat(engine, customer())
    yield talk
    assert not talk.untranslated(), f"untranslated msgids: {sorted(talk.untranslated())}"


@pytest.fixture(autouse=True)
def fixed_clock(sandbox: SandboxServer) -> datetime:
    """Tests run at a known instant, whatever today is."""
    return sandbox.clock.set(MONDAY)
