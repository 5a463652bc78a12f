"""A fake Telegram Bot API: what python-telegram-bot calls, with the customer's side scripted.

Tests and benchmarks run the real `Application` against it, either over HTTP on 127.0.0.1
(`FakeBotAPI.serve()`, a Starlette app under uvicorn in a background thread, which is also what a
bot subprocess talks to) or in-process (`FakeBotAPI.request()`, a `BaseRequest` that calls the
same core without sockets, for benchmarks that want to measure the bot and not the loopback).

The core keeps what a customer would see: each chat's messages with their current text and
keyboard (edits replace them in place), the documents received, and every call the bot made. The
customer's side is a few helpers (`user_sends_text`, `user_sends_command`, `user_taps`,
`tap_button`) that queue updates for `getUpdates`, which long-polls with Telegram's offset
semantics: an update is served until the bot confirms it by asking for a higher offset.

State is guarded by one lock because the helpers run in the test's thread while the server runs
in its own; long-polling waiters are woken on their own event loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram.request import BaseRequest, RequestData

DEFAULT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"

# How long a test waits for something the bot will do: long enough for a busy CI machine with
# two cores, since waits end as soon as the condition holds (only a failing test waits it out).
WAIT = 40.0

# Methods that act in a chat: the ones Telegram's flood control applies to, and the default
# target of `flood()`.
CHAT_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendDocument",
        "answerCallbackQuery",
        "deleteMessage",
    }
)

# Form fields that are strings even when they look like JSON ("123" typed by a customer).
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "secret_token",
        "language_code",
        "inline_message_id",
        "description",
        "short_description",
        "name",
        "ip_address",
    }
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """A Bot API error answer: `{"ok": false, "error_code", "description", "parameters"}`."""

    def __init__(self, code: int, description: str, parameters: Mapping[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = dict(parameters or {})

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str = "Ana"
    last_name: str | None = None
    language_code: str | None = "en"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class FakeDocument:
    filename: str
    content: bytes
    mime_type: str | None


@dataclass
class ChatMessage:
    """One message in a chat as the customer sees it now (edits update it in place)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: FakeDocument | None = None
    caption: str | None = None
    edits: int = 0
    sender: int | None = None  # in a group: the user who wrote it

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """The inline keyboard as rows of (label, callback_data)."""
        if not self.reply_markup:
            return []
        return [
            [(b.get("text", ""), b.get("callback_data", "")) for b in row]
            for row in self.reply_markup.get("inline_keyboard", [])
        ]

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]


@dataclass(frozen=True)
class Call:
    """A Bot API call the bot made; `chat_id` when the call targets a chat, `at` monotonic."""

    method: str
    params: Mapping[str, Any]
    chat_id: int | None
    at: float
    status: int = 200


@dataclass
class _Fault:
    remaining: int
    methods: frozenset[str]
    code: int
    description: str
    parameters: dict[str, Any]
    chat_id: int | None = None  # only calls to this chat (None: any)


# What a reply to a customer is made of: the calls `hold_next` holds by default.
REPLY_METHODS = frozenset({"sendMessage", "editMessageText", "sendDocument"})


@dataclass
class HeldCall:
    """A Bot API call held just before it is processed (`FakeBotAPI.hold_next`): the bot waits
    for Telegram's answer, and a test can kill it meanwhile. `release()` lets the call through;
    `lose()` answers it with an error without processing it, as if it had never reached
    Telegram (the bot that made it is gone). With `after`, the call is processed first (the
    customer sees the reply) and its answer held: `lose()` then only answers with an error."""

    methods: frozenset[str]
    chat_id: int | None
    after: bool = False
    entered: threading.Event = field(default_factory=threading.Event)
    _open: threading.Event = field(default_factory=threading.Event)
    lost: bool = False
    params: Mapping[str, Any] | None = None  # the call held, once it arrived

    def matches(self, method: str, chat_id: int | None) -> bool:
        return method in self.methods and self.chat_id in (None, chat_id)

    def wait_entered(self, timeout: float = 30.0) -> bool:
        """Block (in the test's thread) until the held call has arrived."""
        return self.entered.wait(timeout)

    def release(self) -> None:
        self._open.set()

    def lose(self) -> None:
        self.lost = True
        self._open.set()

    async def _pass(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)
        self.entered.set()
        await asyncio.get_running_loop().run_in_executor(None, self._open.wait, 60.0)
        if self.lost:
            raise ApiError(502, "Bad Gateway")


def _chat_id_of(params: Mapping[str, Any]) -> int | None:
    value = params.get("chat_id")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def decode_form_value(name: str, value: str) -> Any:
    """python-telegram-bot sends strings as they are and everything else JSON-encoded."""
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


@dataclass
class FakeBotAPI:
    """The fake server's state and behaviour, independent of how calls arrive."""

    token: str = DEFAULT_TOKEN
    username: str = "zimun_test_bot"
    first_name: str = "Zimun Test Bot"
    callback_queries_too_old: bool = False  # answerCallbackQuery fails as Telegram does after 15 s

    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # every update ever injected
    served: Counter[int] = field(default_factory=Counter)  # update_id -> times handed out
    update_times: dict[int, float] = field(default_factory=dict)  # update_id -> injected at
    polled_at: float | None = None  # the newest getUpdates arrived then (monotonic)
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # lang -> commands
    # The menu of private chats (scope all_private_chats), by language.
    private_commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (chat id, lang) -> commands set with BotCommandScopeChat
    chat_commands: dict[tuple[int, str], list[dict[str, Any]]] = field(default_factory=dict)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    # Webhook mode as Telegram does it: updates are POSTed to the webhook once one is set.
    deliver_webhooks: bool = False
    webhook_answers: list[int] = field(default_factory=list)  # HTTP statuses, in order

    def __post_init__(self) -> None:
        self.bot_id = int(self.token.split(":", 1)[0])
        self._lock = threading.RLock()
        self._updates: deque[dict[str, Any]] = deque()  # not yet confirmed, oldest first
        self._confirmed = 0  # every update_id below this was confirmed by an offset
        self._next_update_id = itertools.count(1)
        self._next_query_id = itertools.count(1)
        self._message_ids: dict[int, Iterator[int]] = {}
        self._chats: dict[int, dict[int, ChatMessage]] = {}
        self._users: dict[int, FakeUser] = {}
        self._faults: list[_Fault] = []
        self._held: list[HeldCall] = []
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._closing = False
        self._delivery_wanted = threading.Event()
        self._deliverer: threading.Thread | None = None
        self._methods: dict[str, Callable[[Mapping[str, Any], Mapping[str, FakeDocument]], Any]]
        self._methods = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "deleteMessage": self._delete_message,
            "setMyCommands": self._set_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": self._get_my_commands,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setChatMenuButton": lambda params, files: True,  # recorded in calls_of
            "close": lambda params, files: True,
            "logOut": lambda params, files: True,
        }

    # ---- the bot's side ----------------------------------------------------------------------

    async def dispatch(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, FakeDocument] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        files = files or {}
        chat_id = _chat_id_of(params)
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            if method == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                handler = self._methods.get(method)
                if handler is None:
                    raise ApiError(404, "Not Found: method not found")
                held = self._take_held(method, chat_id)
                if held is not None and not held.after:
                    await held._pass(params)
                with self._lock:
                    self._check_faults(method, chat_id)
                    result = handler(params, files)
                if held is not None and held.after:
                    await held._pass(params)
        except ApiError as error:
            self._record(method, params, chat_id, error.code)
            return error.code, error.body()
        self._record(method, params, chat_id, 200)
        return 200, {"ok": True, "result": result}

    def _record(self, method: str, params: Mapping[str, Any], chat_id: int | None, status: int):
        if method == "getUpdates" and status == 200:
            return  # polling noise; `served` keeps what matters
        with self._lock:
            self.calls.append(Call(method, dict(params), chat_id, time.monotonic(), status))

    def _take_held(self, method: str, chat_id: int | None) -> HeldCall | None:
        with self._lock:
            held = next((h for h in self._held if h.matches(method, chat_id)), None)
            if held is not None:
                self._held.remove(held)
            return held

    def _check_faults(self, method: str, chat_id: int | None) -> None:
        for fault in self._faults:
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            if fault.remaining > 0 and method in fault.methods:
                fault.remaining -= 1
                raise ApiError(fault.code, fault.description, fault.parameters)

    async def _get_updates(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        loop = asyncio.get_running_loop()
        with self._lock:
            self.polled_at = time.monotonic()
        while True:
            with self._lock:
                if offset is not None and int(offset) > self._confirmed:
                    self._confirmed = int(offset)
                    while self._updates and self._updates[0]["update_id"] < self._confirmed:
                        self._updates.popleft()
                batch = list(itertools.islice(self._updates, limit))
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closing:
                    for update in batch:
                        self.served[update["update_id"]] += 1
                    return batch
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, waiter))
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                with self._lock, contextlib.suppress(ValueError):
                    self._waiters.remove((loop, waiter))

    def _wake_pollers(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(_resolve, waiter)

    def _get_me(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _new_message(self, chat_id: int, *, from_bot: bool) -> ChatMessage:
        ids = self._message_ids.setdefault(chat_id, itertools.count(1))
        message = ChatMessage(next(ids), chat_id, from_bot, int(time.time()))
        self._chats.setdefault(chat_id, {})[message.message_id] = message
        return message

    def _message_json(self, message: ChatMessage) -> dict[str, Any]:
        user = self._users.get(message.chat_id) or FakeUser(message.chat_id)
        sender = (
            {"id": self.bot_id, "is_bot": True, "first_name": self.first_name}
            if message.from_bot
            else user.as_json()
        )
        if message.sender is not None and not message.from_bot:
            sender = (self._users.get(message.sender) or FakeUser(message.sender)).as_json()
        chat: dict[str, Any] = (
            {"id": message.chat_id, "type": "private", "first_name": user.first_name}
            if message.chat_id > 0
            else {"id": message.chat_id, "type": "group", "title": "Staff room"}
        )
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat,
            "from": sender,
        }
        if message.edits:
            data["edit_date"] = int(time.time())
        if message.text is not None:
            data["text"] = message.text
            if not message.from_bot and message.text.startswith("/"):
                command = message.text.split(maxsplit=1)[0]
                data["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if message.document is not None:
            data["document"] = {
                "file_id": f"doc-{message.chat_id}-{message.message_id}",
                "file_unique_id": f"u{message.chat_id}x{message.message_id}",
                "file_name": message.document.filename,
                "mime_type": message.document.mime_type,
                "file_size": len(message.document.content),
            }
        if message.caption is not None:
            data["caption"] = message.caption
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _target(self, params: Mapping[str, Any]) -> ChatMessage:
        chat_id = _chat_id_of(params)
        message_id = params.get("message_id")
        message = self._chats.get(chat_id or 0, {}).get(int(message_id or 0))
        if chat_id is None or message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _send_message(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        chat_id = _chat_id_of(params)
        text = params.get("text")
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        if not text or not str(text).strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(str(text)) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        message = self._new_message(chat_id, from_bot=True)
        message.text = str(text)
        message.parse_mode = params.get("parse_mode")
        message.reply_markup = _markup(params.get("reply_markup"))
        return self._message_json(message)

    def _edit_message_text(
        self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]
    ) -> Any:
        message = self._target(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _markup(params.get("reply_markup"))
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.text = text
        message.parse_mode = params.get("parse_mode")
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    def _edit_message_reply_markup(
        self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]
    ) -> Any:
        message = self._target(params)
        markup = _markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    def _answer_callback_query(
        self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]
    ) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if self.callback_queries_too_old or query_id in self.callback_answers:
            raise ApiError(400, QUERY_TOO_OLD)
        self.callback_answers[query_id] = dict(params)
        return True

    def _send_document(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        chat_id = _chat_id_of(params)
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat not found")
        reference = params.get("document")
        name = str(reference).removeprefix("attach://") if reference else "document"
        document = files.get(name) or files.get("document")
        if document is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        message = self._new_message(chat_id, from_bot=True)
        message.document = document
        message.caption = params.get("caption")
        message.parse_mode = params.get("parse_mode")
        message.reply_markup = _markup(params.get("reply_markup"))
        return self._message_json(message)

    def _delete_message(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        message = self._target(params)
        del self._chats[message.chat_id][message.message_id]
        return True

    def _set_my_commands(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        language = str(params.get("language_code") or "")
        commands = list(params.get("commands") or [])
        scope = params.get("scope") or {"type": "default"}
        if scope.get("type") == "chat":
            self.chat_commands[(int(scope["chat_id"]), language)] = commands
        elif scope.get("type") == "default":
            self.commands[language] = commands
        elif scope.get("type") == "all_private_chats":
            self.private_commands[language] = commands
        else:
            raise ApiError(400, f"Bad Request: scope {scope.get('type')} is not supported here")
        return True

    def _delete_my_commands(
        self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]
    ) -> Any:
        language = str(params.get("language_code") or "")
        scope = (params.get("scope") or {"type": "default"}).get("type")
        menus = {"default": self.commands, "all_private_chats": self.private_commands}
        if scope in menus:
            menus[scope].pop(language, None)
        return True

    def _get_my_commands(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        return self.commands.get(str(params.get("language_code") or ""), [])

    def _set_webhook(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        self.webhook = dict(params)
        if self.deliver_webhooks and self._updates:
            threading.Thread(target=self._deliver_soon, daemon=True).start()
        return True

    def _delete_webhook(self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]) -> Any:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(
        self, params: Mapping[str, Any], files: Mapping[str, FakeDocument]
    ) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # ---- faults ------------------------------------------------------------------------------

    def flood(
        self,
        count: int,
        retry_after: int = 1,
        methods: frozenset[str] = CHAT_METHODS,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `methods` (to `chat_id` only, if given) with 429
        "retry after N"."""
        self.fail(
            count,
            429,
            f"Too Many Requests: retry after {retry_after}",
            methods,
            {"retry_after": retry_after},
            chat_id=chat_id,
        )

    def fail(
        self,
        count: int,
        code: int,
        description: str,
        methods: frozenset[str] = CHAT_METHODS,
        parameters: dict[str, Any] | None = None,
        *,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next `count` calls of `methods` (to `chat_id` only, if given) with this
        Bot API error."""
        with self._lock:
            self._faults.append(
                _Fault(
                    count, frozenset(methods), code, description, dict(parameters or {}), chat_id
                )
            )

    def hold_next(
        self,
        chat_id: int | None = None,
        methods: frozenset[str] = REPLY_METHODS,
        *,
        after: bool = False,
    ) -> HeldCall:
        """Hold the next call of `methods` (to `chat_id` only, if given) before it is processed,
        until the test releases or loses it: the moment between a bot's work and its reply.
        With `after`, processed and then held: the moment between the reply and what the bot
        does once Telegram has answered it."""
        held = HeldCall(frozenset(methods), chat_id, after)
        with self._lock:
            self._held.append(held)
        return held

    @property
    def faults_pending(self) -> int:
        with self._lock:
            return sum(f.remaining for f in self._faults)

    # ---- the customer's side -----------------------------------------------------------------

    def user(self, chat_id: int, **changes: Any) -> FakeUser:
        """The customer of a private chat (user id = chat id); keyword arguments change them."""
        with self._lock:
            user = self._users.get(chat_id) or FakeUser(chat_id)
            if changes:
                user = FakeUser(**{**user.__dict__, **changes})
            self._users[chat_id] = user
            return user

    def _push(self, kind: str, payload: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._next_update_id)
            update = {"update_id": update_id, kind: payload}
            self._updates.append(update)
            self.updates.append(update)
            self.update_times[update_id] = time.monotonic()
            pushing = self.deliver_webhooks and bool(self.webhook.get("url"))
        if pushing:
            self._deliver_soon()
        else:
            self._wake_pollers()
        return update_id

    def _deliver_soon(self) -> None:
        """Webhook mode (`deliver_webhooks`): POST the pending updates to the webhook, in
        order, with its secret, as Telegram does; an answer other than 200 is tried again
        (Telegram retries too). One thread per bot, started when first needed."""
        with self._lock:
            self._delivery_wanted.set()
            if self._deliverer is not None and self._deliverer.is_alive():
                return
            self._deliverer = threading.Thread(
                target=self._deliver_loop, name=f"fake-webhook-{self.bot_id}", daemon=True
            )
            self._deliverer.start()

    def _deliver_loop(self) -> None:
        import httpx

        with httpx.Client(timeout=10) as http:
            while not self._closing:
                self._delivery_wanted.wait(0.5)
                self._delivery_wanted.clear()
                while not self._closing:
                    with self._lock:
                        update = self._updates[0] if self._updates else None
                    posted = None if update is None else self.post_to_webhook(http, update)
                    if posted is None:
                        break
                    if not posted:
                        continue  # sent again after the pause
                    with self._lock:
                        if self._updates and self._updates[0] is update:
                            self._updates.popleft()

    def post_to_webhook(self, http: Any, update: dict[str, Any]) -> bool | None:
        """POST `update` to the webhook set (with its secret), as Telegram does, and record
        the answer (`webhook_answers`, `served`): True for a 200, else False after a short
        pause (Telegram sends it again); None when no webhook is set."""
        import httpx

        with self._lock:
            url = self.webhook.get("url")
            secret = self.webhook.get("secret_token", "")
        if not url:
            return None
        try:
            answer = http.post(
                url, json=update, headers={SECRET_HEADER: secret} if secret else {}
            ).status_code
        except httpx.TransportError:
            answer = 0
        with self._lock:
            self.webhook_answers.append(answer)
            if answer == 200:
                self.served[update["update_id"]] += 1
        if answer != 200:
            time.sleep(0.1)
        return answer == 200

    def user_sends_text(self, chat_id: int, text: str, **user: Any) -> int:
        """The customer types `text`; returns the update_id."""
        self.user(chat_id, **user)
        with self._lock:
            message = self._new_message(chat_id, from_bot=False)
            message.text = text
            payload = self._message_json(message)
        return self._push("message", payload)

    def user_edits_text(self, chat_id: int, message_id: int, text: str) -> int:
        """The customer edits a message they sent earlier; returns the update_id."""
        with self._lock:
            message = self._chats[chat_id][message_id]
            assert not message.from_bot, "customers edit only their own messages"
            message.text = text
            message.edits += 1
            payload = self._message_json(message)
        return self._push("edited_message", payload)

    def user_sends_in_group(self, group_id: int, user_id: int, text: str, **user: Any) -> int:
        """A user writes `text` in a group chat (`group_id` < 0) the bot is a member of."""
        assert group_id < 0, "group chat ids are negative"
        self.user(user_id, **user)
        with self._lock:
            message = self._new_message(group_id, from_bot=False)
            message.sender = user_id
            message.text = text
            payload = self._message_json(message)
        return self._push("message", payload)

    def user_sends_location(self, chat_id: int, latitude: float, longitude: float, **user: Any):
        """A message without text (as a photo or sticker would be); returns the update_id."""
        self.user(chat_id, **user)
        with self._lock:
            payload = self._message_json(self._new_message(chat_id, from_bot=False))
        payload["location"] = {"latitude": latitude, "longitude": longitude}
        return self._push("message", payload)

    def user_sends_command(self, chat_id: int, command: str, arg: str = "", **user: Any) -> int:
        """`/command arg` (the slash is optional in `command`)."""
        text = "/" + command.lstrip("/")
        return self.user_sends_text(chat_id, f"{text} {arg}".strip(), **user)

    def user_taps(self, chat_id: int, message_id: int, data: str, **user: Any) -> int:
        """The customer presses a button whose callback_data is `data` (forged or not)."""
        customer = self.user(chat_id, **user)
        with self._lock:
            message = self._chats.get(chat_id, {}).get(message_id)
            payload: dict[str, Any] = {
                "id": str(next(self._next_query_id)),
                "from": customer.as_json(),
                "chat_instance": f"ci{chat_id}",
                "data": data,
            }
            if message is not None:
                payload["message"] = self._message_json(message)
        return self._push("callback_query", payload)

    def find_button(self, chat_id: int, label: str) -> tuple[int, str]:
        """(message_id, callback_data) of the button whose label contains `label`, looked up
        on the newest message with a keyboard (case-insensitive)."""
        wanted = label.casefold()
        with self._lock:
            keyboards = [m for m in self.messages(chat_id) if m.reply_markup]
        if not keyboards:
            raise LookupError(f"chat {chat_id} has no message with buttons")
        latest = keyboards[-1]
        for row in latest.buttons:
            for text, data in row:
                if wanted in text.casefold():
                    return latest.message_id, data
        raise LookupError(f"no button {label!r} on message {latest.message_id}: {latest.labels}")

    def tap_button(self, chat_id: int, label: str, **user: Any) -> int:
        message_id, data = self.find_button(chat_id, label)
        return self.user_taps(chat_id, message_id, data, **user)

    def tap_index(self, chat_id: int, index: int, **user: Any) -> int:
        """Tap the `index`-th button (reading order) of the newest keyboard."""
        keyboards = [m for m in self.messages(chat_id) if m.reply_markup]
        if not keyboards:
            raise LookupError(f"chat {chat_id} has no message with buttons")
        latest = keyboards[-1]
        data = [d for row in latest.buttons for _, d in row][index]
        return self.user_taps(chat_id, latest.message_id, data, **user)

    # ---- what the customer sees --------------------------------------------------------------

    def messages(self, chat_id: int) -> list[ChatMessage]:
        """The bot's messages in the chat, oldest first, each as it looks now."""
        with self._lock:
            return [m for m in self._chats.get(chat_id, {}).values() if m.from_bot]

    def sent_by_user(self, chat_id: int) -> list[ChatMessage]:
        """The customer's own messages in the chat, oldest first."""
        with self._lock:
            return [m for m in self._chats.get(chat_id, {}).values() if not m.from_bot]

    def latest(self, chat_id: int) -> ChatMessage | None:
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def latest_keyboard(self, chat_id: int) -> ChatMessage | None:
        keyboards = [m for m in self.messages(chat_id) if m.reply_markup]
        return keyboards[-1] if keyboards else None

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.messages(chat_id) if m.text is not None]

    def documents(self, chat_id: int) -> list[FakeDocument]:
        return [m.document for m in self.messages(chat_id) if m.document is not None]

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == method and (chat_id is None or c.chat_id == chat_id)
            ]

    def answer_to(self, update_id: int) -> dict[str, Any] | None:
        """The answerCallbackQuery parameters for the callback query of update `update_id`."""
        with self._lock:
            update = next((u for u in self.updates if u["update_id"] == update_id), None)
            if update is None or "callback_query" not in update:
                return None
            return self.callback_answers.get(update["callback_query"]["id"])

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by the bot (served or not)."""
        with self._lock:
            return len(self._updates)

    @property
    def last_update_id(self) -> int:
        with self._lock:
            return max(self.update_times, default=0)

    async def wait_for(
        self, predicate: Callable[[], Any], within: float = WAIT, interval: float = 0.01
    ) -> Any:
        """Poll `predicate` until it returns something truthy (returned) or time runs out."""
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {within}s: {self.describe()}")
            await asyncio.sleep(interval)

    def wait_for_sync(
        self, predicate: Callable[[], Any], within: float = WAIT, interval: float = 0.01
    ) -> Any:
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {within}s: {self.describe()}")
            time.sleep(interval)

    async def wait_for_reply(self, chat_id: int, after: int, within: float = WAIT) -> ChatMessage:
        """Wait until the bot changed the chat after call number `after` (len(calls) before the
        customer acted) and the update was confirmed; returns the newest bot message."""

        def changed() -> ChatMessage | None:
            with self._lock:
                touched = any(
                    c.chat_id == chat_id and c.status == 200 and c.method != "answerCallbackQuery"
                    for c in self.calls[after:]
                )
            return self.latest(chat_id) if touched else None

        return await self.wait_for(changed, within)

    def describe(self) -> str:
        """A short dump for failure messages: the last messages of each chat."""
        with self._lock:
            lines = [f"pending updates={len(self._updates)} calls={len(self.calls)}"]
            for chat_id, messages in self._chats.items():
                for message in list(messages.values())[-3:]:
                    who = "bot" if message.from_bot else "user"
                    text = (message.text or message.caption or "")[:160].replace("\n", " | ")
                    doc = f" [document {message.document.filename}]" if message.document else ""
                    lines.append(f"  {chat_id} #{message.message_id} {who}: {text}{doc}")
                    if message.labels:
                        lines.append(f"      buttons: {message.labels}")
            return "\n".join(lines)

    # ---- transports --------------------------------------------------------------------------

    def close(self) -> None:
        """Release long-polling requests so servers and bots can stop promptly."""
        with self._lock:
            self._closing = True
        self._delivery_wanted.set()
        self._wake_pollers()

    def reopen(self) -> None:
        with self._lock:
            self._closing = False

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve over HTTP in a background thread; yields the base URL ("http://127.0.0.1:N")."""
        server = _ThreadedServer(self.asgi_app(), host, port)
        self.reopen()
        server.start()
        try:
            yield server.base_url
        finally:
            self.close()
            server.stop()

    def asgi_app(self) -> Any:
        return _asgi_app(self.dispatch)

    def request(self) -> InProcessRequest:
        """An in-process `telegram.request.BaseRequest` over this fake (no sockets)."""
        return InProcessRequest(self)


Dispatch = Callable[
    [str, str, Mapping[str, Any], Mapping[str, FakeDocument]], Awaitable[tuple[int, dict[str, Any]]]
]


def _asgi_app(dispatch: Dispatch) -> Any:
    """The Bot API over HTTP: /bot<token>/<method>, answered by `dispatch`."""
    from starlette.applications import Starlette
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        try:
            return await answer(request)
        except ClientDisconnect:  # the bot gave up on the call (it is stopping): no answer
            return Response(status_code=499)

    async def answer(request: Request) -> JSONResponse:
        token = request.path_params["token"]
        method = request.path_params["method"]
        params: dict[str, Any] = {
            k: decode_form_value(k, v) for k, v in request.query_params.items()
        }
        files: dict[str, FakeDocument] = {}
        if request.method == "POST":
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("application/json"):
                params.update(await request.json())
            elif content_type.startswith(("multipart/", "application/x-www-form")):
                async with request.form() as form:
                    for key, value in form.multi_items():
                        if isinstance(value, str):
                            params[key] = decode_form_value(key, value)
                        else:
                            files[key] = FakeDocument(
                                value.filename or key, await value.read(), value.content_type
                            )
        status, body = await dispatch(token, method, params, files)
        return JSONResponse(body, status_code=status)

    routes = [Route("/bot{token}/{method}", endpoint, methods=["GET", "POST"])]
    return Starlette(routes=routes)


class FakeBots:
    """Many bots behind one fake Bot API server, as Telegram serves every bot at one address:
    one `FakeBotAPI` per token (each its own chats, calls and updates), chosen by the token in
    the URL; a token it does not know (never added, or revoked) is answered 401."""

    def __init__(self, **defaults: Any) -> None:
        self.bots: dict[str, FakeBotAPI] = {}
        self._defaults = defaults
        self._ids = itertools.count(700_000_001)
        self._lock = threading.Lock()

    def add(self, name: str | None = None, **options: Any) -> FakeBotAPI:
        """A new bot with its own token (and @username `name`_bot)."""
        with self._lock:
            bot_id = next(self._ids)
        label = name or f"b{bot_id}"
        token = f"{bot_id}:AAFake{label.replace('-', '_')}Token_{bot_id:x}xxxxxxxxxxxxxxxx"
        fake = FakeBotAPI(
            token=token,
            username=f"{label.replace('-', '_')}_bot",
            first_name=label,
            **{**self._defaults, **options},
        )
        with self._lock:
            self.bots[token] = fake
        return fake

    def revoke(self, fake: FakeBotAPI) -> None:
        """Telegram forgets the token: every call with it is 401 from now on."""
        with self._lock:
            self.bots.pop(fake.token, None)

    def restore(self, fake: FakeBotAPI) -> None:
        """Telegram knows the token again (a revocation undone)."""
        with self._lock:
            self.bots[fake.token] = fake

    async def dispatch(
        self,
        token: str,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, FakeDocument] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        fake = self.bots.get(token)
        if fake is None:
            return 401, ApiError(401, "Unauthorized").body()
        return await fake.dispatch(token, method, params, files)

    def close(self) -> None:
        for fake in list(self.bots.values()):
            fake.close()

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve every bot over HTTP in a background thread; yields the base URL."""
        server = _ThreadedServer(_asgi_app(self.dispatch), host, port)
        server.start()
        try:
            yield server.base_url
        finally:
            self.close()
            server.stop()


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _markup(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = json.loads(value) if value else None
    return value or None


class _ThreadedServer:
    """uvicorn on a background thread with its own event loop, on an ephemeral port."""

    def __init__(self, app: Any, host: str, port: int):
        import uvicorn

        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-bot-api", daemon=True)
        self.host = host

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake Bot API server did not start")
            time.sleep(0.005)

    @property
    def base_url(self) -> str:
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


class DispatchRequest(BaseRequest):
    """A `BaseRequest` that hands each Bot API call to `dispatch` in-process: python-telegram-bot's
    full request path (serialisation, error mapping, rate limiter) without a socket. Subclasses
    say where the call goes (the test fake here, the benchmark's lean fake in bench/)."""

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def dispatch(
        self, token: str, method: str, params: dict[str, Any], files: dict[str, FakeDocument]
    ) -> tuple[int, bytes]:
        raise NotImplementedError

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        prefix, _, api_method = urlsplit(url).path.rpartition("/")
        token = prefix.rpartition("/bot")[2]
        params: dict[str, Any] = dict(request_data.parameters) if request_data else {}
        files: dict[str, FakeDocument] = {}
        if request_data and request_data.contains_files:
            for name, (filename, content, mime) in request_data.multipart_data.items():
                raw = content if isinstance(content, bytes) else content.read()
                files[name] = FakeDocument(filename or name, raw, mime)
        return await self.dispatch(token, api_method, params, files)


class InProcessRequest(DispatchRequest):
    """Calls `FakeBotAPI.dispatch` directly, no loopback socket."""

    def __init__(self, fake: FakeBotAPI):
        self._fake = fake

    async def dispatch(
        self, token: str, method: str, params: dict[str, Any], files: dict[str, FakeDocument]
    ) -> tuple[int, bytes]:
        status, body = await self._fake.dispatch(token, method, params, files)
        return status, json.dumps(body).encode()


__all__ = [
    "CHAT_METHODS",
    "DEFAULT_TOKEN",
    "NOT_MODIFIED",
    "QUERY_TOO_OLD",
    "ApiError",
    "Call",
    "ChatMessage",
    "DispatchRequest",
    "FakeBotAPI",
    "FakeBots",
    "FakeDocument",
    "FakeUser",
    "InProcessRequest",
]
