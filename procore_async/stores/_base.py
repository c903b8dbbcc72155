"""The TokenStore protocol every store implements."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from ..auth._token import Token

__all__ = ["LockingTokenStore", "TokenStore"]


@runtime_checkable
class TokenStore(Protocol):
    """Where a client keeps its token between requests and between processes.

    ``fetch`` returns None when nothing is stored; a stored value that is not a token
    raises :class:`~procore_async.TokenStoreError` rather than looking empty, so a
    corrupt store is never silently replaced by a new login.
    """

    async def fetch(self) -> Token | None: ...

    async def save(self, token: Token) -> None: ...

    async def delete(self) -> None: ...


@runtime_checkable
class LockingTokenStore(TokenStore, Protocol):
    """A store that several processes share, with a lock the client holds while it refreshes.

    Procore refresh tokens are single use, so two processes refreshing the same token
    at once lock one of them out.  The client takes ``lock()`` around a refresh and
    re-reads the store inside it, because another process may have refreshed already.
    """

    def lock(self) -> AbstractAsyncContextManager[object]: ...
