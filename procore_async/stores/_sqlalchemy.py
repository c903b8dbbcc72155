"""The SQLAlchemy store: a token in three columns of a mapped row (the gem's ActiveRecord store)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import anyio

from .._errors import TokenStoreError
from .._lazy import require_extra
from ..auth._token import Token

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["SQLAlchemyStore"]

_FIELDS = ("access_token", "refresh_token", "expires_at")


class SQLAlchemyStore:
    """Keeps the token in the ``access_token``, ``refresh_token`` and ``expires_at``
    attributes of a mapped object (a ``User`` row, say), through an ``AsyncSession``.

    ``save`` and ``delete`` commit the session, as the gem's ``update`` does, so
    anything else pending in that session is committed with them.  ``fetch`` reloads
    the row first, so a token another process refreshed is seen; a row whose
    ``access_token`` is NULL holds no token.

    ``expires_at`` may be an integer column (epoch seconds, the safe choice) or a
    ``DateTime`` column, which gets a UTC datetime (naive for a column without
    ``timezone=True``).  An ``AsyncSession`` is not safe for concurrent use, so the
    store runs one operation at a time.
    """

    __slots__ = ("_aware", "_datetime", "_guard", "_obj", "_session")

    def __init__(self, session: AsyncSession, obj: Any) -> None:
        require_extra("sqlalchemy", "sqlalchemy", "SQLAlchemyStore")
        from sqlalchemy import DateTime, inspect
        from sqlalchemy.exc import NoInspectionAvailable

        try:
            mapper = inspect(obj).mapper
        except NoInspectionAvailable:
            raise TypeError(f"SQLAlchemyStore needs a mapped object, not {obj!r}") from None
        missing = [name for name in _FIELDS if name not in mapper.attrs]
        if missing:
            raise TypeError(f"{mapper.class_.__name__} has no mapped {', '.join(missing)}")
        columns = getattr(mapper.attrs["expires_at"], "columns", ())
        column_type = columns[0].type if columns else None
        self._datetime = isinstance(column_type, DateTime)
        self._aware = bool(getattr(column_type, "timezone", False))
        self._session = session
        self._obj = obj
        self._guard = anyio.Lock()

    async def fetch(self) -> Token | None:
        from sqlalchemy.exc import InvalidRequestError

        async with self._guard:
            try:
                await self._session.refresh(self._obj, attribute_names=list(_FIELDS))
            except InvalidRequestError as exc:
                raise TokenStoreError(f"{self!r}: the row cannot be reloaded ({exc})") from None
            values = {name: getattr(self._obj, name) for name in _FIELDS}
        if values["access_token"] is None:
            return None
        try:
            return Token.from_dict(values)
        except TokenStoreError as exc:
            raise TokenStoreError(f"{self!r}: {exc}") from None

    async def save(self, token: Token) -> None:
        async with self._guard:
            self._obj.access_token = token.access_token
            self._obj.refresh_token = token.refresh_token
            self._obj.expires_at = self._column_value(token.expires_at)
            await self._session.commit()

    async def delete(self) -> None:
        async with self._guard:
            for name in _FIELDS:
                setattr(self._obj, name, None)
            await self._session.commit()

    def _column_value(self, expires_at: int | None) -> int | datetime | None:
        if expires_at is None or not self._datetime:
            return expires_at
        moment = datetime.fromtimestamp(expires_at, timezone.utc)
        return moment if self._aware else moment.replace(tzinfo=None)

    def __repr__(self) -> str:
        from sqlalchemy import inspect

        state = inspect(self._obj)
        identity = ", ".join(map(str, state.identity)) if state.identity else "unsaved"
        return f"SQLAlchemyStore(obj={type(self._obj).__name__} {identity})"
