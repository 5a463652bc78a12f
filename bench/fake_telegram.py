"""An in-process fake Bot API for benchmarks: python-telegram-bot's whole request path (request
building, JSON answer parsing into Message objects) without sockets, and without memory.

Unlike tests/fakes/bot_api.py, which keeps every chat so tests can read it, this fake keeps
nothing per chat once a customer is gone: it hands each Bot API call to the chat's `Listener`
(the simulated customer) and forgets it. That keeps the benchmark's own footprint out of the
bot's memory figures and its own CPU small and equal for the bot and the echo floor.

Everything runs on the benchmark's single event loop, so there are no locks.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tests.fakes.bot_api import DispatchRequest, FakeDocument

TOKEN = "123456789:AAbenchmarkTokenNotARealOne_abcdefghi"
BOT_ID = 123456789
BOT_USERNAME = "zimun_bench_bot"

_BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Zimun Bench", "username": BOT_USERNAME}
_CHAT_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "answerCallbackQuery",
        "deleteMessage",
    }
)


class Listener(Protocol):
    """The customer of one chat: told of every Bot API call made in it, and of the end of
    each of its updates."""

    def on_call(self, method: str, params: Mapping[str, Any], result: Any, at: float) -> None: ...

    def on_done(self, update_id: int, at: float) -> None: ...


class BenchBotAPI:
    """The Bot API's side: a getUpdates queue and answers to the chat methods."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.listeners: dict[int, Listener] = {}
        self.calls: Counter[str] = Counter()  # method -> count (getUpdates included)
        self.injected_at: dict[int, float] = {}  # update_id -> when it became available
        self.pushed = 0  # updates put in the queue
        self._queue: deque[dict[str, Any]] = deque()
        self._confirmed = 0
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._waiter: asyncio.Future[None] | None = None
        self._closing = False
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, Any]], Any]] = {
            "getMe": lambda p, f: _BOT_USER,
            "sendMessage": self._message,
            "editMessageText": self._message,
            "editMessageReplyMarkup": self._message,
            "sendDocument": self._document,
            "answerCallbackQuery": lambda p, f: True,
            "deleteMessage": lambda p, f: True,
            "setMyCommands": lambda p, f: True,
            "deleteMyCommands": lambda p, f: True,
            "deleteWebhook": lambda p, f: True,
            "close": lambda p, f: True,
            "logOut": lambda p, f: True,
        }

    # ---- the customers' side ----------------------------------------------------------------

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.pushed += 1
        self._queue.append({"update_id": update_id, kind: payload})
        self.injected_at[update_id] = time.perf_counter()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return update_id

    def user_json(self, chat_id: int, first_name: str, language: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if language:
            user["language_code"] = language
        return user

    def text_payload(self, user: dict[str, Any], text: str) -> dict[str, Any]:
        """A private message from `user` (a command when it starts with a slash)."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return message

    def tap_payload(
        self, user: dict[str, Any], message: dict[str, Any] | None, data: str
    ) -> dict[str, Any]:
        """A callback query: `user` pressed the button `data` on `message`."""
        query: dict[str, Any] = {
            "id": str(next(self._query_ids)),
            "from": user,
            "chat_instance": f"ci{user['id']}",
            "data": data,
        }
        if message is not None:
            query["message"] = message
        return query

    def update_done(self, chat_id: int | None, update_id: int) -> None:
        """Called by the application's last handler group once an update is fully handled."""
        listener = self.listeners.get(chat_id) if chat_id is not None else None
        if listener is not None:
            listener.on_done(update_id, time.perf_counter())

    def close(self) -> None:
        self._closing = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # ---- the bot's side -----------------------------------------------------------------------

    async def dispatch(
        self, token: str, method: str, params: dict[str, Any], files: dict[str, Any]
    ) -> tuple[int, bytes]:
        self.calls[method] += 1
        if token != self.token:
            return 401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        else:
            handler = self._methods.get(method)
            if handler is None:
                return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
            result = handler(params, files)
            if method in _CHAT_METHODS:
                chat_id = params.get("chat_id")
                listener = self.listeners.get(int(chat_id)) if chat_id is not None else None
                if listener is not None:
                    listener.on_call(method, params, result, time.perf_counter())
        return 200, json.dumps({"ok": True, "result": result}).encode()

    async def _get_updates(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset > self._confirmed:
            self._confirmed = offset
            while self._queue and self._queue[0]["update_id"] < offset:
                self._queue.popleft()
        timeout = float(params.get("timeout") or 0)
        if not self._queue and timeout > 0 and not self._closing:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout)
            except TimeoutError:
                pass
            finally:
                self._waiter = None
        return list(itertools.islice(self._queue, int(params.get("limit") or 100)))

    def _message(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = params.get("message_id") or next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": int(message_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": _BOT_USER,
            "text": params.get("text") or "…",
        }
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup:
            message["reply_markup"] = markup
        return message

    def _document(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        name, size = next(iter(files.items()), ("document", 0))
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": _BOT_USER,
            "document": {
                "file_id": f"doc-{message_id}",
                "file_unique_id": f"u{message_id}",
                "file_name": name,
                "file_size": size,
            },
        }


class BenchRequest(DispatchRequest):
    """python-telegram-bot's request path over a BenchBotAPI: no socket, no HTTP."""

    def __init__(self, api: BenchBotAPI) -> None:
        self._api = api

    async def dispatch(
        self, token: str, method: str, params: dict[str, Any], files: dict[str, FakeDocument]
    ) -> tuple[int, bytes]:
        sizes = {doc.filename: len(doc.content) for doc in files.values()}
        return await self._api.dispatch(token, method, params, sizes)
