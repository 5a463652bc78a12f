"""python-telegram-bot's transport over one process-wide httpx client, so that N bots cost one
connection pool and one TLS context instead of N of each.

python-telegram-bot gives every Bot two HTTPXRequest objects (one for getUpdates, one for the
rest), each with its own httpx.AsyncClient: its pool, its sockets, its TLS context (about 840 KB
and 22 ms to load). At a thousand businesses that is two thousand of each (issue 19).
`SharedRequest` sends through a client it is given and does not own: its `initialize` and
`shutdown`, which every Bot calls on start and stop, leave that client alone (bot.telegram.
shared_http.SharedHttp closes it once, at process end). Everything else is HTTPXRequest's
behaviour, which it follows line for line (PTB 22, telegram/request/_httpxrequest.py): the
default and per-call timeouts, the media write timeout, the User-Agent, and the errors
(TimedOut for timeouts, with PTB's own text for a pool timeout; NetworkError for the rest).
"""

from __future__ import annotations

import httpx
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# python-telegram-bot's defaults (ApplicationBuilder, HTTPXRequest).
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)


class SharedRequest(BaseRequest):
    """A BaseRequest over a shared httpx.AsyncClient, with its own default timeouts.

    One instance may serve many bots (it keeps nothing per bot: the token is in each URL);
    a getUpdates instance with other timeouts may share the same client, or another one.
    """

    __slots__ = ("_client", "_media_write_timeout", "_timeout")

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._client = client
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
        )
        self._media_write_timeout = media_write_timeout

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; Bot.get_updates adds the long poll's timeout to it."""
        return self._timeout.read

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def initialize(self) -> None:
        """Nothing to open: the shared client is open for the process's lifetime."""

    async def shutdown(self) -> None:
        """Nothing to close: a bot that stops must not close the other bots' client."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See BaseRequest.do_request: one HTTP request, (status, body), PTB's errors."""
        if self._client.is_closed:
            raise RuntimeError("The shared HTTP client is closed")

        files = request_data.multipart_data if request_data else None
        data = request_data.json_parameters if request_data else None

        # A timeout the caller left unset takes this request's default.
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._timeout.read
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._timeout.connect
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._timeout.pool
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._timeout.write if not files else self._media_write_timeout

        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
        )
        try:
            res = await self._client.request(
                method=method,
                url=url,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                files=files,
                data=data,
            )
        except httpx.TimeoutException as err:
            if isinstance(err, httpx.PoolTimeout):
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from err
            raise TimedOut from err
        except httpx.HTTPError as err:
            # The class name helps when the error's text is empty (as PTB does).
            raise NetworkError(f"httpx.{err.__class__.__name__}: {err}") from err
        return res.status_code, res.content
