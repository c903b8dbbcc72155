"""The Redis store: tokens shared by every process (Python or Ruby) that reaches one Redis."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from .._errors import TokenStoreError
from .._lazy import require_extra
from ..auth._token import Token

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore"]

_log = logging.getLogger("procore_async")


class RedisStore:
    """Keeps the token in Redis under ``procore-redis-<key>``, as the Ruby gem does.

    The value is the gem's JSON (``access_token``, ``refresh_token``, ``expires_at``)
    with no TTL, so a Ruby and a Python app can share one token; an ISO-8601
    ``expires_at`` written by the gem reads as the right time.  ``fetch`` is a single
    ``GET`` (the gem's ``EXISTS`` + ``GET`` costs two round trips and can race with a
    delete in between).

    ``lock()`` is redis-py's asyncio :class:`~redis.asyncio.lock.Lock` on
    ``procore-redis-<key>:lock``: the client holds it around a refresh so that, of
    all the processes sharing the token, one refreshes and the others re-read.
    ``lock_timeout`` bounds how long a crashed holder can block the others;
    ``lock_blocking_timeout`` bounds how long a waiter waits before giving up with
    :class:`~procore_async.TokenStoreError`.
    """

    __slots__ = ("_lock_blocking_timeout", "_lock_sleep", "_lock_timeout", "_redis", "key")

    def __init__(
        self,
        redis: Redis,
        key: str | int,
        *,
        lock_timeout: float = 30.0,
        lock_blocking_timeout: float = 60.0,
        lock_sleep: float = 0.05,
    ) -> None:
        require_extra("redis", "redis", "RedisStore")
        if lock_timeout <= 0 or lock_blocking_timeout < 0 or lock_sleep <= 0:
            raise ValueError("lock timeouts and sleep must be positive")
        self._redis = redis
        self.key = key
        self._lock_timeout = lock_timeout
        self._lock_blocking_timeout = lock_blocking_timeout
        self._lock_sleep = lock_sleep

    @property
    def redis_key(self) -> str:
        """The Redis key holding the token, ``procore-redis-<key>`` like the gem's."""
        return f"procore-redis-{self.key}"

    async def fetch(self) -> Token | None:
        raw: Any = await self._redis.get(self.redis_key)
        if raw is None:
            return None
        try:
            return Token.from_json(raw)
        except TokenStoreError as exc:
            raise TokenStoreError(f"Redis key {self.redis_key!r}: {exc}") from None

    async def save(self, token: Token) -> None:
        await self._redis.set(self.redis_key, token.to_json())

    async def delete(self) -> None:
        await self._redis.delete(self.redis_key)

    def lock(self) -> AbstractAsyncContextManager[object]:
        """The cross-process refresh lock on ``procore-redis-<key>:lock``."""
        return self._locked()

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        from redis.exceptions import LockError

        name = f"{self.redis_key}:lock"
        lock = self._redis.lock(
            name,
            timeout=self._lock_timeout,
            blocking_timeout=self._lock_blocking_timeout,
            sleep=self._lock_sleep,
            thread_local=False,
        )
        if not await lock.acquire():
            raise TokenStoreError(
                f"could not take the Redis lock {name!r} within {self._lock_blocking_timeout:g}s"
            )
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await lock.release()
                except LockError:
                    # It expired (the holder outlived lock_timeout) and may now be
                    # someone else's: leave it alone, but say so.
                    _log.warning(
                        "Redis lock %r expired before it was released; "
                        "consider a larger lock_timeout",
                        name,
                    )

    def __repr__(self) -> str:
        return f"RedisStore(key={self.redis_key!r})"
