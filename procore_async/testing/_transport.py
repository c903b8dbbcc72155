"""An httpx transport that runs the fake in process and drops connections for real.

``httpx.ASGITransport`` re-raises whatever the app raises; the fake raises
:class:`ConnectionDropped` to drop a connection, and this transport turns it into the
exception httpx raises when a real peer hangs up, so client code under test takes the
same path it would take in production.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from ._faults import ConnectionDropped
from ._http import ASGIReceive, ASGISend

__all__ = ["FakeTransport"]

_App = Callable[[MutableMapping[str, Any], ASGIReceive, ASGISend], Awaitable[None]]


class FakeTransport(httpx.AsyncBaseTransport):
    """In-process transport to a :class:`~procore_async.testing.FakeProcore`."""

    def __init__(self, app: _App) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            if exc.applied:
                # The server did the work; the reply was lost on the way back.
                raise httpx.ReadError(
                    "[Errno 104] Connection reset by peer", request=request
                ) from None
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()
