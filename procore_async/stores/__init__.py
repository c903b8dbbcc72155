"""Token stores: where a client keeps its OAuth token.

Every store implements :class:`TokenStore` (``fetch``, ``save``, ``delete``); stores
that several processes share also offer ``lock()``.  The stores that need an optional
package (``redis``, ``memcached``, ``sqlalchemy`` extras) are imported on first use,
so ``import procore_async.stores`` never requires them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._base import LockingTokenStore, TokenStore
from ._memory import MemoryStore

if TYPE_CHECKING:
    from ._file import FileStore
    from ._memcached import MemcachedStore
    from ._redis import RedisStore
    from ._session import SessionStore
    from ._sqlalchemy import SQLAlchemyStore

__all__ = [
    "FileStore",
    "LockingTokenStore",
    "MemcachedStore",
    "MemoryStore",
    "RedisStore",
    "SQLAlchemyStore",
    "SessionStore",
    "TokenStore",
]

_LAZY = {
    "FileStore": "._file",
    "MemcachedStore": "._memcached",
    "RedisStore": "._redis",
    "SQLAlchemyStore": "._sqlalchemy",
    "SessionStore": "._session",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, __all__)
