"""Fixtures for the operator's words and rules: the conversation against the sandbox (as in
tests/booking), with an engine built from the operator's settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.chat.engine import Conversation
from bot.config.operator import Operator, load_operator
from bot.config.settings import Settings, load_settings
from bot.i18n.localizer import use_overrides
from bot.store.storage import Storage
from bot.zimun.client import ZimunClient
from sandbox.testing import SandboxServer
from tests.booking.conftest import (  # noqa: F401  (fixtures)
    MONDAY,
    api,
    customer,
    db_path,
    fixed_clock,
    storage,
)
from tests.booking.driver import Chat

MakeChat = Callable[..., Chat]


def operator_settings(sandbox: SandboxServer, **values: Any) -> Settings:
    """Settings as an operator would write them (strings), against the sandbox."""
    return load_settings(
        TELEGRAM_BOT_TOKEN="123:TEST",
        ZIMUN_CLIENT_ID=sandbox.client_id,
        ZIMUN_CLIENT_SECRET=sandbox.client_secret,
        ZIMUN_BASE_URL=sandbox.base_url,
        ZIMUN_TOKEN_URL=sandbox.token_url,
        **values,
    )


@pytest.fixture
def no_overrides() -> Iterator[None]:
    """Message overrides are process-wide (like `localizer()`): every test leaves none."""
    use_overrides({})
    yield
    use_overrides({})


@pytest.fixture
def make_chat(
    api: ZimunClient,  # noqa: F811
    storage: Storage,  # noqa: F811
    sandbox: SandboxServer,
    no_overrides: None,
) -> MakeChat:
    """`make_chat(HIDE_SERVICES="svc_physio", lang="es")`: a customer talking to a bot whose
    operator set these variables (and BOT_CONFIG, MESSAGES_DIR files if named)."""

    def make(*, lang: str | None = "en", user_id: int = 1001, **values: Any) -> Chat:
        operator = load_operator(operator_settings(sandbox, **values))
        use_overrides(operator.overrides)
        return Chat(engine_for(operator, api, storage, sandbox), customer(user_id, lang=lang))

    return make


def engine_for(
    operator: Operator, client: ZimunClient, store: Storage, sandbox: SandboxServer
) -> Conversation:
    return Conversation(
        client,
        store,
        now=sandbox.clock.now,
        rules=operator.rules,
        business=operator.business,
    )
