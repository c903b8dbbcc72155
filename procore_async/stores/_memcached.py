"""The memcached store: tokens shared through memcached, the gem's Dalli store in Python."""

from __future__ import annotations

import math
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from .._errors import TokenStoreError
from .._lazy import require_extra
from ..auth._token import Token

if TYPE_CHECKING:
    import aiomcache

__all__ = ["MemcachedStore"]

# memcached reads an expiry above 30 days as an absolute Unix time; this one is in
# January 1970, so an item stored with it is expired at once (see _release).
_EXPIRED = 30 * 24 * 3600 + 1
_MARSHAL_HEADER = b"\x04\x08"


class MemcachedStore:
    """Keeps the token in memcached under ``procore-dalli-<key>``, as the gem's Dalli store.

    The value is the gem's JSON, stored with no expiry.  Pick it where memcached is
    already the shared cache; remember memcached may evict the token under memory
    pressure, which logs the user out (Redis does not).

    A default Ruby ``Dalli::Client`` Marshal-encodes the JSON string and sets
    memcached flag 1.  Plain ``aiomcache.Client`` refuses flagged values, so to share
    tokens with such an app pass
    ``aiomcache.FlagClient(host, port, get_flag_handler=MemcachedStore.flagged_value)``;
    this store then decodes the Marshal string itself.  (With ``raw: true`` on the
    Ruby side the value is plain JSON and any client works.)

    ``lock()`` is built on memcached's atomic ``add`` of ``procore-dalli-<key>:lock``
    with an expiry of ``lock_timeout`` seconds, polled with backoff for up to
    ``lock_blocking_timeout`` seconds, and released only while it still holds this
    holder's random value.
    """

    __slots__ = ("_client", "_lock_blocking_timeout", "_lock_timeout", "key")

    def __init__(
        self,
        client: aiomcache.Client | aiomcache.FlagClient[Any],
        key: str | int,
        *,
        lock_timeout: float = 30.0,
        lock_blocking_timeout: float = 60.0,
    ) -> None:
        require_extra("aiomcache", "memcached", "MemcachedStore")
        if lock_timeout < 1 or lock_blocking_timeout < 0:
            raise ValueError("lock_timeout must be at least 1 s, lock_blocking_timeout >= 0")
        self._client = client
        self.key = key
        self._lock_timeout = lock_timeout
        self._lock_blocking_timeout = lock_blocking_timeout

    @property
    def memcached_key(self) -> bytes:
        """The memcached key holding the token, ``procore-dalli-<key>`` like the gem's."""
        return f"procore-dalli-{self.key}".encode()

    @staticmethod
    async def flagged_value(value: bytes, flags: int) -> bytes:
        """An ``aiomcache.FlagClient`` ``get_flag_handler`` that hands flagged bytes over as is."""
        return value

    async def fetch(self) -> Token | None:
        from aiomcache.exceptions import ClientException

        try:
            raw: Any = await self._client.get(self.memcached_key)
        except ClientException as exc:
            if "flags without handler" not in str(exc):
                raise
            raise TokenStoreError(
                f"memcached key {self._name} holds a flagged value (Dalli's Marshal "
                "encoding?); pass aiomcache.FlagClient(..., "
                "get_flag_handler=MemcachedStore.flagged_value)"
            ) from None
        if raw is None:
            return None
        try:
            if not isinstance(raw, bytes):
                raise TokenStoreError(f"unexpected value type {type(raw).__name__}")
            if raw.startswith(_MARSHAL_HEADER):
                raw = _ruby_marshal_string(raw)
            return Token.from_json(raw)
        except TokenStoreError as exc:
            raise TokenStoreError(f"memcached key {self._name}: {exc}") from None

    async def save(self, token: Token) -> None:
        if not await self._client.set(self.memcached_key, token.to_json().encode()):
            raise TokenStoreError(f"memcached refused to store {self._name}")

    async def delete(self) -> None:
        await self._client.delete(self.memcached_key)

    def lock(self) -> AbstractAsyncContextManager[object]:
        """The cross-process refresh lock on ``procore-dalli-<key>:lock``."""
        return self._locked()

    @asynccontextmanager
    async def _locked(self) -> AsyncIterator[None]:
        name = self.memcached_key + b":lock"
        mine = secrets.token_hex(16).encode()
        expiry = math.ceil(self._lock_timeout)
        deadline = anyio.current_time() + self._lock_blocking_timeout
        delay = 0.005
        while not await self._client.add(name, mine, exptime=expiry):
            left = deadline - anyio.current_time()
            if left <= 0:
                raise TokenStoreError(
                    f"could not take the memcached lock {name.decode()!r} "
                    f"within {self._lock_blocking_timeout:g}s"
                )
            await anyio.sleep(min(delay, left))
            delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await self._release(name, mine)

    async def _release(self, name: bytes, mine: bytes) -> None:
        # memcached has no compare-and-delete; gets + cas is one: overwrite the lock
        # with an already-expired item only if nobody touched it since we read it.
        # If it expired and another holder took it, its value differs and stays.
        value, cas = await self._client.gets(name)
        if value == mine and cas is not None:
            await self._client.cas(name, b"", cas, exptime=_EXPIRED)

    @property
    def _name(self) -> str:
        return repr(self.memcached_key.decode())

    def __repr__(self) -> str:
        return f"MemcachedStore(key={self._name})"


def _ruby_marshal_string(data: bytes) -> bytes:
    """The bytes of a Ruby String dumped with ``Marshal`` (``\\x04\\x08 I? " len bytes ...``).

    Only that one shape is read, which is what Dalli stores for the gem's JSON;
    encoding ivars after the bytes are ignored.
    """
    index = len(_MARSHAL_HEADER)
    if data[index : index + 1] == b"I":
        index += 1
    if data[index : index + 1] != b'"':
        raise TokenStoreError("holds a Ruby Marshal value that is not a String")
    length, index = _marshal_int(data, index + 1)
    body = data[index : index + length]
    if length < 0 or len(body) != length:
        raise TokenStoreError("holds a truncated Ruby Marshal String")
    return body


def _marshal_int(data: bytes, index: int) -> tuple[int, int]:
    """Decode Marshal's variable-length integer at ``index``; return (value, next index)."""
    if index >= len(data):
        raise TokenStoreError("holds a truncated Ruby Marshal String")
    first = int.from_bytes(data[index : index + 1], "little", signed=True)
    index += 1
    if first == 0:
        return 0, index
    if first >= 5:
        return first - 5, index
    if first <= -5:
        return first + 5, index
    size = abs(first)
    raw = data[index : index + size]
    if len(raw) != size:
        raise TokenStoreError("holds a truncated Ruby Marshal String")
    value = int.from_bytes(raw, "little")
    if first < 0:
        value -= 1 << (8 * size)
    return value, index + size
