"""Token stores: where a client keeps its OAuth token.

Every store implements :class:`TokenStore` (``fetch``, ``save``, ``delete``); stores
that several processes share also offer ``lock()``.  The stores that need an optional
package (``redis``, ``memcached``, ``sqlalchemy`` extras) are imported on first use,
so ``import procore_async.stores`` never requires them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
