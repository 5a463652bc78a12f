"""The process's HTTP clients, shared by every business it serves: one for the Bot API's calls,
one for its long polls, one per Zimun host, all on one TLS context.

Issue 19 measured what one business per set of clients costs at a thousand: file descriptors
ran out at about 160 businesses (`ulimit -n 1024`), and each client's TLS context weighs about
840 KB and 22 ms to load (three per business), where one shared context costs 9 KB. The owner
made here is what the composition root builds once and closes once, at process end, after
every business's Application has shut down (their SharedRequest objects and ZimunClients
never close what they were given):

    async with SharedHttp() as http:
        app = build_application(..., request=http.bot_request(),
                                get_updates_request=http.updates_request())
        client = ZimunClient.from_settings(settings, http=http.zimun_http(base_url))

Long polls get their own client: each holds a connection for its whole poll, and a thousand
of them must not take the connections the replies need (a pool timeout is a TimedOut).
"""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import Self

import httpx

from bot.telegram.shared_request import POOL_TIMEOUT, SharedRequest
from bot.zimun.pools import ZimunPools, no_cookies, tls_context

# python-telegram-bot's default pool for a bot's calls (ApplicationBuilder.connection_pool_size),
# now for every bot of the process together: Telegram answers in tens of milliseconds, and 256
# calls in flight is far beyond 100 updates a second.
BOT_API_CONNECTIONS = 256
BOT_API_KEEPALIVE = 32
KEEPALIVE_EXPIRY = 30.0
# The read timeout of a long poll before its own `timeout` is added (Bot.get_updates adds it).
UPDATES_READ_TIMEOUT = 5.0
# Every SharedRequest passes its own timeouts with each call; the clients' are only a fallback.
FALLBACK_TIMEOUT = 5.0


class SharedHttp:
    """Owner of the shared HTTP clients; `aclose()` (or leaving `async with`) closes them."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connections: int = BOT_API_CONNECTIONS,
        pool_timeout: float | None = POOL_TIMEOUT,
        bot_api_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`bot_api_transport` replaces the network for the Bot API's calls and long polls
        (benchmarks pass an in-process fake); Zimun's pools always use the network."""
        self.ssl_context = ssl_context if ssl_context is not None else tls_context()
        self._transport = bot_api_transport
        self._bot_api = self._client(
            httpx.Limits(
                max_connections=connections,
                max_keepalive_connections=BOT_API_KEEPALIVE,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            )
        )
        # One connection per polling bot, as python-telegram-bot's own getUpdates pool has.
        self._updates = self._client(
            httpx.Limits(
                max_connections=None,
                max_keepalive_connections=None,
                keepalive_expiry=KEEPALIVE_EXPIRY,
            )
        )
        self._bot_request = SharedRequest(self._bot_api, pool_timeout=pool_timeout)
        self._updates_request = SharedRequest(
            self._updates, read_timeout=UPDATES_READ_TIMEOUT, pool_timeout=pool_timeout
        )
        self.zimun = ZimunPools(ssl_context=self.ssl_context)

    def _client(self, limits: httpx.Limits) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=self.ssl_context,
            limits=limits,
            timeout=httpx.Timeout(FALLBACK_TIMEOUT),
            follow_redirects=False,
            cookies=no_cookies(),
            transport=self._transport,
        )

    def bot_request(self) -> SharedRequest:
        """The transport for every bot's Bot API calls (ApplicationBuilder.request)."""
        return self._bot_request

    def updates_request(self) -> SharedRequest:
        """The transport for every bot's getUpdates (ApplicationBuilder.get_updates_request)."""
        return self._updates_request

    def zimun_http(self, base_url: str) -> httpx.AsyncClient:
        """The shared client for a Zimun host (ZimunClient(http=...))."""
        return self.zimun.client_for(base_url)

    @property
    def closed(self) -> bool:
        return self._bot_api.is_closed

    async def aclose(self) -> None:
        """Close every shared client: at process end, once no business uses them."""
        try:
            await self._bot_api.aclose()
            await self._updates.aclose()
        finally:
            await self.zimun.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
