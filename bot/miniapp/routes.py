"""The page and its JSON endpoints for one business: Starlette routes under `prefix`.

    GET  {prefix}/             the page (index.html), with Telegram's script
    GET  {prefix}/app.js, /app.css
    GET  {prefix}/words.json   the page's own words, every offered language (no customer data)
    POST {prefix}/api/open     the conversation's current screen (the `Look` event)
    POST {prefix}/api/tap      {"data": payload}: a button of a screen, as in the chat
    POST {prefix}/api/text     {"text": ...}: an answer typed into the page's field
    POST {prefix}/api/command  {"name": "book" | "mybookings"}

Every /api request carries Telegram's initData (`Authorization: tma <initData>`), verified
with the bot token (bot.miniapp.initdata); the customer is who Telegram signed, their chat is
their private chat with the bot, so page and chat are one conversation. A missing, forged or
expired one is answered 401 with a JSON message in the customer's language where known.
Inputs are checked as the chat's are (payloads by bot.core.payload), each customer has a
budget of requests, and one customer's page requests are handled one at a time.

What the conversation says in reply to a page action that the chat must get too (a new
message: the booking's confirmation with its .ics, a change's confirmation) is handed to
`send`, which the composition root binds to the chat's own delivery, so it arrives in the
chat exactly as after a chat booking.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from weakref import WeakValueDictionary

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config.chat_tag import chat_tag
from bot.core.events import Command, Event, Look, Tap, Text
from bot.core.payload import MAX_BYTES, decode
from bot.core.screens import Reply
from bot.miniapp import words
from bot.miniapp.initdata import MAX_AGE, Refused, verify
from bot.miniapp.present import reply_json

if TYPE_CHECKING:
    from bot.chat.engine import Conversation

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
AUTH_SCHEME = "tma"
MAX_BODY = 8192  # bytes of a request body: the longest field is a typed answer
MAX_TEXT = 4096  # characters of a typed answer, as a Telegram message
COMMANDS = frozenset({"book", "mybookings"})
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

Send = Callable[[int, Reply], Awaitable[None]]
Admit = Callable[[int], bool]
# Runs one page request's work in the chat's own order (the chat adapter's lane for the chat).
Serialize = Callable[[int, Awaitable[bool]], Awaitable[bool]]
Reader = Callable[[dict[str, Any]], Event]
Handler = Callable[[Request], Awaitable[Response]]


def security_headers(script_url: str) -> dict[str, str]:
    """The page loads its own files and Telegram's script, nothing else; no inline code."""
    script_origin = "{0.scheme}://{0.netloc}".format(urlsplit(script_url))
    policy = (
        "default-src 'self'; "
        f"script-src 'self' {script_origin}; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; object-src 'none'; "
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


class BadRequest(Exception):
    """The request does not fit the endpoint (400)."""


def miniapp_routes(
    conversation: Conversation,
    send: Send,
    *,
    bot_token: str,
    prefix: str = "",
    script_url: str = TELEGRAM_SCRIPT,
    admit: Admit | None = None,
    serialize: Serialize | None = None,
    now: Callable[[], datetime] | None = None,
    max_age: timedelta = MAX_AGE,
) -> list[BaseRoute]:
    """The page of one business (its conversation) under `prefix` ("" or "/path").

    `send` delivers a reply to the customer's chat; `admit` says whether a customer still has
    budget; `serialize` runs a request's work in the chat's order (without it, one customer's
    page requests still run one at a time)."""
    prefix = prefix.rstrip("/")
    clock = now or conversation.now
    headers = security_headers(script_url)
    page = (
        (STATIC / "index.html")
        .read_text(encoding="utf-8")
        .replace("{{telegram_script}}", html.escape(script_url, quote=True))
    )
    files = {name: (STATIC / name).read_bytes() for name in ("app.js", "app.css")}
    word_table = json.dumps(words.page_words()).encode()
    locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()

    async def own_order(chat_id: int, work: Awaitable[bool]) -> bool:
        lock = locks.get(chat_id)
        if lock is None:
            lock = locks[chat_id] = asyncio.Lock()
        async with lock:
            return await work

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    async def to_index(request: Request) -> Response:
        return Response(status_code=308, headers={"Location": prefix + "/", **headers})

    def static(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return Response(files[name], media_type=TYPES[Path(name).suffix], headers=headers)

        return serve

    async def word_list(request: Request) -> Response:
        return Response(word_table, media_type="application/json", headers=headers)

    def endpoint(
        read: Callable[[dict[str, Any]], Event],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            scheme, _, init_data = auth.partition(" ")
            try:
                if scheme.lower() != AUTH_SCHEME:
                    raise Refused("missing")
                user = verify(init_data.strip(), bot_token, clock(), max_age)
            except Refused as exc:
                log.info("page request refused: initData %s", exc)
                return _json({"error": str(exc), "message": _refusal(exc)}, 401, headers)
            customer = user.customer
            language = await conversation.language_for(customer)
            if admit is not None and not admit(customer.chat_id):
                log.info("page of chat %s: over its budget", chat_tag(customer.chat_id))
                return _json(
                    {"error": "busy", "message": words.say(words.TOO_FAST, language)}, 429, headers
                )
            try:
                event = read(await _body(request))
            except BadRequest as exc:
                log.info("page of chat %s: bad request (%s)", chat_tag(customer.chat_id), exc)
                return _json(
                    {"error": "invalid", "message": words.say(words.INVALID, language)},
                    400,
                    headers,
                )
            replies: list[Reply] = []

            async def work() -> bool:
                reply = await conversation.handle(customer, event, until_delivered=True)
                replies.append(reply)
                try:
                    return await _to_chat(send, customer.chat_id, event, reply)
                finally:
                    await conversation.delivered(customer.chat_id)

            sent = await (serialize or own_order)(customer.chat_id, work())
            return _json(reply_json(replies[0], sent=sent), 200, headers)

        return answer

    return [
        Route(prefix + "/", index, methods=["GET"]),
        *([Route(prefix, to_index, methods=["GET"])] if prefix else []),
        Route(prefix + "/app.js", static("app.js"), methods=["GET"]),
        Route(prefix + "/app.css", static("app.css"), methods=["GET"]),
        Route(prefix + "/words.json", word_list, methods=["GET"]),
        Route(prefix + "/api/open", endpoint(_look), methods=["POST"]),
        Route(prefix + "/api/tap", endpoint(_tap), methods=["POST"]),
        Route(prefix + "/api/text", endpoint(_text), methods=["POST"]),
        Route(prefix + "/api/command", endpoint(_command), methods=["POST"]),
    ]


async def _to_chat(send: Send, chat_id: int, event: Event, reply: Reply) -> bool:
    """A tap's reply that is a new message (not the screen replacing the tapped one) goes to
    the chat too: a confirmation, its calendar file, a change's confirmation."""
    if not isinstance(event, Tap):
        return False
    new = tuple(screen for screen in reply.screens if not screen.edit)
    if not new:
        return False
    try:
        await send(chat_id, Reply(reply.language, screens=new))
    except Exception as exc:  # the page still shows it; the chat's own errors are logged there
        log.warning(
            "page reply to chat %s not delivered: %s", chat_tag(chat_id), type(exc).__name__
        )
        return False
    return True


def _refusal(exc: Refused) -> str:
    msg = words.EXPIRED if str(exc) == "expired" else words.REFUSED
    return words.say(msg, exc.language)


def _json(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    return JSONResponse(body, status_code=status, headers={**headers, "Cache-Control": "no-store"})


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest("too large")
    raw = b""
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise BadRequest("too large")
    except ClientDisconnect:
        raise BadRequest("disconnected") from None
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("not an object")
    return body


def _only(body: dict[str, Any], *names: str) -> None:
    if set(body) - set(names):
        raise BadRequest("unknown fields")


def _look(body: dict[str, Any]) -> Event:
    _only(body)
    return Look()


def _tap(body: dict[str, Any]) -> Event:
    _only(body, "data")
    data = body.get("data")
    if not isinstance(data, str) or len(data) > MAX_BYTES or decode(data) is None:
        raise BadRequest("not a payload")
    return Tap(data)


def _text(body: dict[str, Any]) -> Event:
    _only(body, "text")
    text = body.get("text")
    if not isinstance(text, str) or len(text) > MAX_TEXT or "\x00" in text:
        raise BadRequest("not a text")
    return Text(text)


def _command(body: dict[str, Any]) -> Event:
    _only(body, "name")
    name = body.get("name")
    if name not in COMMANDS:
        raise BadRequest("not a command")
    return Command(str(name))
