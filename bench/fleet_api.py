"""The Bot API of many bots, in process, behind python-telegram-bot's real transport.

Each business's bot has its own token and its own `WebhookBotAPI` (a bench.fake_telegram
BenchBotAPI whose updates are delivered as Telegram delivers them to a webhook, instead of
queued for getUpdates). `BotApiTransport` is an httpx transport that hands each request to
the fake of the token in its URL: the businesses' calls go through the production
SharedRequest and the one shared httpx client (request building, form and multipart encoding,
answer parsing) without sockets, so the bot process's file descriptors and CPU are the bot's.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import httpx

from bench.fake_telegram import BenchBotAPI

Deliver = Callable[[dict[str, Any]], None]

_UNAUTHORIZED = b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
_JSON = {"content-type": "application/json"}


def bot_token(number: int) -> str:
    """Business `number`'s bot token (a valid shape: id, colon, 35 characters)."""
    return f"{700000000 + number}:AAfleetBench{number:08d}_abcdefghijklmno"


class WebhookBotAPI(BenchBotAPI):
    """One bot's Bot API whose updates are posted to the bot (`deliver`), as in webhook mode:
    no getUpdates, no queue."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.deliver: Deliver | None = None
        self._ids = itertools.count(1)

    def serves_webhooks(self) -> None:
        """Answer the webhook registration a business makes as it starts."""
        self._methods["setWebhook"] = lambda params, files: True

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        assert self.deliver is not None, "the business is not serving"
        update_id = next(self._ids)
        self.pushed += 1
        self.injected_at[update_id] = time.perf_counter()
        self.deliver({"update_id": update_id, kind: payload})
        return update_id


class BotApiTransport(httpx.AsyncBaseTransport):
    """`/bot<token>/<method>` requests answered by that token's WebhookBotAPI."""

    def __init__(self) -> None:
        self.apis: dict[str, WebhookBotAPI] = {}

    def add(self, api: WebhookBotAPI) -> None:
        self.apis[api.token] = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        head, _, method = request.url.path.rpartition("/")
        token = head.rpartition("/bot")[2]
        api = self.apis.get(token)
        if api is None:
            return httpx.Response(401, content=_UNAUTHORIZED, headers=_JSON)
        params, files = _form(request.headers.get("content-type", ""), await request.aread())
        status, body = await api.dispatch(token, method, params, files)
        return httpx.Response(status, content=body, headers=_JSON)


def _form(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters (raw form values, as the Bot API reads them) and the files (name ->
    size) of a Bot API request."""
    if content_type.startswith("multipart/"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        params: dict[str, Any] = {}
        files: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            content = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename:
                files[filename] = len(content)
            elif isinstance(name, str):
                params[name] = content.decode()
        return params, files
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}"), {}
    return dict(parse_qsl(body.decode())), {}
