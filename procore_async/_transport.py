"""The pooled ``httpx.AsyncClient`` a client owns: its transport, sized to the load.

Two transports, chosen by ``Config.http_transport``:

* ``"httpx"`` (default): httpx's own ``AsyncHTTPTransport`` (httpcore's pool);
* ``"aiohttp"``: ``httpx_aiohttp.AiohttpTransport`` (extra ``aiohttp``), an
  aiohttp connector behind the httpx interface, which the OpenAI and Anthropic
  SDKs offer for high concurrency.  Its exception mapping turns *every*
  ``aiohttp.ClientConnectionError`` (a server that hung up after reading the
  request included) into ``httpx.ConnectTimeout``, which means "never sent";
  the subclass here maps the ones that may follow a sent request to
  ``httpx.RemoteProtocolError`` instead, so a POST is not resent after it may
  have been applied.

Pool sizing, with ``Config.max_connections=None`` (the default): httpcore's pool
checks every connection each time a request starts or ends, so its cost grows
with connections x requests queued, and at 64 requests in flight it spends more
CPU choosing connections than sending (measured: docs/benchmarks.md).  One pool
of 32 is too small for ``sync(concurrency=64)``, one pool of 64 is slow.  So
:class:`ShardedTransport` keeps several small pools (8 connections each) and
sends each request to the least busy one, adding a pool whenever all are full,
up to 1000 connections in all: the pool grows to the concurrency asked for and
each choice stays cheap.  aiohttp's connector has no such cost; it gets one
limit of 1000.  An int ``max_connections`` is one pool of exactly that size, as
before, and an injected ``http_client`` or ``transport`` is used as is.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx

from ._config import Config

__all__ = ["MAX_POOL", "SHARD_SIZE", "ShardedTransport", "build_http"]

#: Connections per httpcore pool of a ShardedTransport.
SHARD_SIZE = 8
#: The most connections a pool sized by the load opens.
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
    size = config.max_connections
    limits = httpx.Limits(max_connections=size or MAX_POOL,
                          max_keepalive_connections=size or MAX_POOL)  # fmt: skip
    if transport is None and config.http_transport == "aiohttp":
        transport = _aiohttp_transport(limits)
    elif transport is None and size is None:
        transport = ShardedTransport()
    return httpx.AsyncClient(
        transport=transport, verify=_shared_ssl_context(), timeout=config.http_timeout,
        limits=limits,
    )  # fmt: skip


class _Released(httpx.AsyncByteStream):
    """A response body that tells its shard when it is closed (the connection is free)."""

    __slots__ = ("_done", "_release", "_stream")

    def __init__(self, stream: Any, release: Any) -> None:
        self._stream = stream
        self._release = release
        self._done = False

    async def __aiter__(self) -> Any:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if not self._done:
                self._done = True
                self._release()


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several small httpx pools behind one transport; see the module docstring."""

    def __init__(self, shard_size: int = SHARD_SIZE, max_connections: int = MAX_POOL) -> None:
        self.shard_size = shard_size
        self.max_shards = max(1, max_connections // shard_size)
        self.shards: list[httpx.AsyncHTTPTransport] = []
        self.busy: list[int] = []
        self._add()

    def _add(self) -> None:
        limits = httpx.Limits(max_connections=self.shard_size,
                              max_keepalive_connections=self.shard_size)  # fmt: skip
        self.shards.append(httpx.AsyncHTTPTransport(verify=_shared_ssl_context(), limits=limits))
        self.busy.append(0)

    def _pick(self) -> int:
        busy = self.busy
        index = min(range(len(busy)), key=busy.__getitem__)
        if busy[index] >= self.shard_size and len(busy) < self.max_shards:
            self._add()
            index = len(busy) - 1
        return index

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._pick()
        self.busy[index] += 1

        def release() -> None:
            self.busy[index] -= 1

        try:
            response = await self.shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        response.stream = _Released(response.stream, release)
        return response

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()
