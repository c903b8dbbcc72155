"""The pooled ``httpx.AsyncClient`` a client owns: its transport and a pool that grows.

Two transports, chosen by ``Config.http_transport``:

* ``"httpx"`` (default): httpx's own ``AsyncHTTPTransport`` (httpcore's pool);
* ``"aiohttp"``: ``httpx_aiohttp.AiohttpTransport`` (extra ``aiohttp``), an
  aiohttp connector behind the httpx interface, which the OpenAI and Anthropic
  SDKs offer for high concurrency.  Its exception mapping turns *every*
  ``aiohttp.ClientConnectionError`` (a server that hung up after reading the
  request included) into ``httpx.ConnectTimeout``, which means "never sent";
  :class:`_SafeAiohttpTransport` maps the ones that may follow a sent request
  to ``httpx.RemoteProtocolError`` instead, so a POST is not resent after it
  may have been applied.

Pool sizing: with ``Config.max_connections=None`` the pool starts at 32 and
:class:`PoolGrowth` raises its limit to the number of requests in flight (at
most 1000), so ``sync(concurrency=64)`` gets 64 connections rather than 32 plus
a queue (httpcore's pool also slows down when many requests queue on it).  The
limit lives in a private attribute of httpcore's pool (``_max_connections``) or
of aiohttp's connector (``_limit``); when neither is found, growth is off and
the pool keeps its size.  An injected ``http_client`` or ``transport`` is never
touched.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from ._config import Config

__all__ = ["INITIAL_POOL", "MAX_POOL", "PoolGrowth", "build_http"]

INITIAL_POOL = 32
MAX_POOL = 1000


@functools.lru_cache(maxsize=1)
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context (httpx's defaults) for every client-owned pool in the process.

    Building one reads the CA bundle from disk: ~70 ms of blocking I/O that an app
    creating a client per request (or per test) would otherwise pay every time.
    """
    return httpx.create_ssl_context()


def _aiohttp_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ValueError(
            "Config.http_transport='aiohttp' needs the aiohttp extra: "
            "pip install 'procore-async[aiohttp]'"
        ) from exc

    unsent = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)

    class _SafeAiohttpTransport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                response: httpx.Response = await super().handle_async_request(request)
            except httpx.ConnectTimeout as exc:
                if isinstance(exc.__cause__, unsent):
                    raise
                raise httpx.RemoteProtocolError(str(exc), request=request) from exc.__cause__
            return response

    transport: httpx.AsyncBaseTransport = _SafeAiohttpTransport(
        verify=_shared_ssl_context(), limits=limits
    )
    return transport


def build_http(config: Config, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """The pooled client an ``AsyncClient`` owns (closed by it)."""
    size = config.max_connections or INITIAL_POOL
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    if transport is None and config.http_transport == "aiohttp":
        transport = _aiohttp_transport(limits)
    return httpx.AsyncClient(
        transport=transport, verify=_shared_ssl_context(), timeout=config.http_timeout,
        limits=limits,
    )  # fmt: skip


class PoolGrowth:
    """Raises the pool's limit to the requests in flight; see the module docstring."""

    __slots__ = ("_pool", "_set", "inflight", "size")

    def __init__(self, http: httpx.AsyncClient, config: Config, owned: bool) -> None:
        self.inflight = 0
        self.size = config.max_connections or INITIAL_POOL
        self._pool: Any = None
        self._set: Any = None
        if owned and config.max_connections is None:
            self._find(getattr(http, "_transport", None))

    def _find(self, transport: Any) -> None:
        pool = getattr(transport, "_pool", None)  # httpx.AsyncHTTPTransport -> httpcore
        if pool is not None and isinstance(getattr(pool, "_max_connections", None), int):
            self._pool, self._set = pool, _grow_httpcore
        elif hasattr(transport, "get_client") and hasattr(transport, "limits"):
            self._pool, self._set = transport, _grow_aiohttp

    @property
    def grows(self) -> bool:
        return self._pool is not None

    @classmethod
    def of(cls, http: httpx.AsyncClient, config: Config, owned: bool) -> PoolGrowth | None:
        """The growth of ``http``'s pool, or None when it cannot grow (nothing to track)."""
        growth = cls(http, config, owned)
        return growth if growth.grows else None

    def enter(self) -> None:
        self.inflight += 1
        if self.inflight > self.size and self._pool is not None and self.size < MAX_POOL:
            self.size = min(MAX_POOL, max(self.inflight, self.size * 2))
            self._set(self._pool, self.size)

    def leave(self) -> None:
        self.inflight -= 1


def _grow_httpcore(pool: Any, size: int) -> None:
    pool._max_connections = size
    pool._max_keepalive_connections = size


def _grow_aiohttp(transport: Any, size: int) -> None:
    transport.limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    session = transport.client
    connector = getattr(session, "connector", None)
    if connector is not None and isinstance(getattr(connector, "_limit", None), int):
        connector._limit = size
