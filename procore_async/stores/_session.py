"""The session store: a user's token in their web session (Starlette's ``request.session``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from .._errors import TokenStoreError
from ..auth._token import Token
from ._base import LockingTokenStore, TokenStore

__all__ = ["SessionStore"]


class SessionStore:
    """Keeps the token in a session mapping under ``key``, as the gem's Session store.

    ``session`` is any mutable mapping; in a Starlette or FastAPI handler it is
    ``request.session`` (``SessionMiddleware``).  The token is kept as the gem's JSON
    string, and ``delete`` removes the key.

    .. warning::
       Starlette's ``SessionMiddleware`` (like Rails' default cookie store) keeps the
       whole session in a cookie that is **signed, not encrypted**: anyone who sees
       the cookie (the user, their browser extensions, a proxy log) can read the
       access and refresh tokens in it.  Use a server-side session, or keep only a
       reference in the session with ``reference_store``.

    With ``reference_store`` the session holds only a random reference
    (``{"reference": "..."}``) and the token lives in the store that
    ``reference_store(reference)`` returns, e.g.
    ``lambda ref: RedisStore(redis=redis, key=ref)``.  ``lock()`` then delegates to
    that store's lock when it has one.  Without it there is nothing to share across
    processes and ``lock()`` only marks the critical section.
    """

    __slots__ = ("_reference_store", "_session", "key")

    def __init__(
        self,
        session: MutableMapping[str, Any],
        key: str = "procore_token",
        *,
        reference_store: Callable[[str], TokenStore] | None = None,
    ) -> None:
        self._session = session
        self.key = key
        self._reference_store = reference_store

    async def fetch(self) -> Token | None:
        value = self._session.get(self.key)
        if value is None:
            return None
        if self._reference_store is not None:
            return await self._reference_store(self._reference(value)).fetch()
        try:
            if isinstance(value, (str, bytes)):
                return Token.from_json(value)
            return Token.from_dict(value)
        except TokenStoreError as exc:
            raise TokenStoreError(f"session key {self.key!r}: {exc}") from None

    async def save(self, token: Token) -> None:
        if self._reference_store is None:
            self._session[self.key] = token.to_json()
            return
        value = self._session.get(self.key)
        reference = secrets.token_urlsafe(24) if value is None else self._reference(value)
        await self._reference_store(reference).save(token)
        # Set only once the token is stored, so the session never points at nothing.
        self._session[self.key] = json.dumps({"reference": reference})

    async def delete(self) -> None:
        value = self._session.get(self.key)
        if self._reference_store is not None and value is not None:
            await self._reference_store(self._reference(value)).delete()
        self._session.pop(self.key, None)

    def lock(self) -> AbstractAsyncContextManager[object]:
        """The referenced store's lock when there is one, else a plain section."""
        return self._locked()

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        value = self._session.get(self.key)
        if self._reference_store is not None and value is not None:
            backing = self._reference_store(self._reference(value))
            if isinstance(backing, LockingTokenStore):
                async with backing.lock():
                    yield
                return
        yield

    def _reference(self, value: Any) -> str:
        try:
            data = json.loads(value) if isinstance(value, (str, bytes)) else value
        except ValueError:
            data = None
        reference = data.get("reference") if isinstance(data, dict) else None
        if not isinstance(reference, str) or not reference:
            raise TokenStoreError(
                f"session key {self.key!r} does not hold a token reference "
                "(a token stored before reference_store was set? delete it and log in again)"
            )
        return reference

    def __repr__(self) -> str:
        mode = ", by reference" if self._reference_store is not None else ""
        return f"SessionStore(key={self.key!r}{mode})"
