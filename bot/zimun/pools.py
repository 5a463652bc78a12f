"""One HTTP connection pool per Zimun host, shared by every business that books there.

A ZimunClient made without `http=` opens its own httpx.AsyncClient: its own pool of up to 20
connections and its own TLS context (about 840 KB and 22 ms to load). That is right for one
business and wrong for a thousand on one host (issue 19: file descriptors ran out at about
160 businesses). `ZimunPools.client_for(base_url)` hands every business on a host the same
client; each ZimunClient still sends its own OAuth token, because it passes its
`ClientCredentialsAuth` with each request (bot.zimun.client `_send`), never on the shared
client. The shared client keeps no cookies either, so nothing one business's answers set can
travel with another's requests. `ZimunClient.aclose()` leaves a client it was given open; the
pools' owner closes them all once, at process end (`aclose`).
"""

from __future__ import annotations

import ssl
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from urllib.parse import urlsplit
from urllib.request import Request

import httpx

# Per host, shared by every business there: enough for ~100 Zimun calls in flight at once
# (100 updates/s over a thousand businesses at 50 ms need about 5), far fewer than a pool each.
MAX_CONNECTIONS = 100
MAX_KEEPALIVE = 20
KEEPALIVE_EXPIRY = 30.0
DEFAULT_PORTS = {"http": 80, "https": 443}


class _NoCookies(CookiePolicy):
    """Accept no cookie and send none: a shared client must carry nothing from one business's
    answers into another's requests."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: Request) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Request) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Request) -> bool:
        return False

    def path_return_ok(self, path: str, request: Request) -> bool:
        return False


def no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing, for clients shared between businesses (given to httpx
    as a CookieJar, which it keeps as is; an httpx.Cookies would be copied into a plain jar)."""
    return CookieJar(policy=_NoCookies())


def pool_key(base_url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a Zimun base URL: businesses whose URLs differ only in path
    (or in spelling the default port) share one pool."""
    parts = urlsplit(base_url)
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError("a Zimun base URL needs a host")
    return scheme, host, parts.port or DEFAULT_PORTS.get(scheme, 443)


def tls_context() -> ssl.SSLContext:
    """The TLS context httpx would build for a client (certifi's roots, SSL_CERT_FILE and
    SSL_CERT_DIR honoured), built once to be shared by every client of the process."""
    return httpx.create_ssl_context()


class ZimunPools:
    """The shared httpx clients for Zimun, one per (scheme, host, port), made on first use."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = MAX_CONNECTIONS,
        max_keepalive: int = MAX_KEEPALIVE,
    ) -> None:
        self._ssl_context = ssl_context
        self._limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
        self._clients: dict[tuple[str, str, int], httpx.AsyncClient] = {}
        self._closed = False

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The one TLS context every pool uses (built when first needed)."""
        if self._ssl_context is None:
            self._ssl_context = tls_context()
        return self._ssl_context

    def __len__(self) -> int:
        return len(self._clients)

    def client_for(self, base_url: str) -> httpx.AsyncClient:
        """The shared client for `base_url`'s host; pass it as ZimunClient(http=...)."""
        if self._closed:
            raise RuntimeError("the Zimun pools are closed")
        key = pool_key(base_url)
        client = self._clients.get(key)
        if client is None:
            client = httpx.AsyncClient(
                verify=self.ssl_context,
                limits=self._limits,
                # Each ZimunClient passes its own timeout with every request; this is the
                # fallback for a request that has none.
                timeout=httpx.Timeout(10.0, connect=5.0),
                follow_redirects=False,
                cookies=no_cookies(),
            )
            self._clients[key] = client
        return client

    async def aclose(self) -> None:
        """Close every pool (at process end, after every ZimunClient is done)."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
