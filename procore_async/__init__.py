"""procore_async: the asyncio-native Python client for the Procore REST API.

Everything public is importable from here; modules with a leading underscore are
private and may change without notice.

Names load on first use: ``import procore_async`` alone (as the pytest plugin of
``procore_async.testing`` does in every test run of every project that installs
this package) costs almost nothing until a name is touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__

if TYPE_CHECKING:
    from ._batch import BatchFailure, SyncResult
    from ._client import AsyncClient
    from ._config import Config, configure, get_config
    from ._errors import (
        APIConnectionError,
        APITimeoutError,
        AuthorizationError,
        Error,
        ForbiddenError,
        InvalidRequestError,
        MissingTokenError,
        NotFoundError,
        OAuthError,
        RateLimitError,
        ServerError,
        SyncError,
        TokenStoreError,
    )
    from ._pagination import ItemIterator, PageIterator
    from ._ratelimit import RateLimit, RateLimiter, RatePacer
    from ._ratelimit_redis import RedisRateLimiter
    from ._response import Response
    from ._retry import RetryPolicy
    from .auth import Token

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AsyncClient",
    "AuthorizationError",
    "BatchFailure",
    "Config",
    "Error",
    "ForbiddenError",
    "InvalidRequestError",
    "ItemIterator",
    "MissingTokenError",
    "NotFoundError",
    "OAuthError",
    "PageIterator",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "RatePacer",
    "RedisRateLimiter",
    "Response",
    "RetryPolicy",
    "ServerError",
    "SyncError",
    "SyncResult",
    "Token",
    "TokenStoreError",
    "__version__",
    "configure",
    "get_config",
]

_ERRORS = (
    "APIConnectionError APITimeoutError AuthorizationError Error ForbiddenError "
    "InvalidRequestError MissingTokenError NotFoundError OAuthError RateLimitError "
    "ServerError SyncError TokenStoreError"
)
_HOME: dict[str, str] = {
    **dict.fromkeys(_ERRORS.split(), "._errors"),
    **dict.fromkeys(("BatchFailure", "SyncResult"), "._batch"),
    **dict.fromkeys(("Config", "configure", "get_config"), "._config"),
    **dict.fromkeys(("RateLimit", "RateLimiter", "RatePacer"), "._ratelimit"),
    **dict.fromkeys(("ItemIterator", "PageIterator"), "._pagination"),
    "AsyncClient": "._client",
    "RedisRateLimiter": "._ratelimit_redis",
    "Response": "._response",
    "RetryPolicy": "._retry",
    "Token": ".auth",
}


__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__, public_module=True)
