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
        APIStatusError,
        APITimeoutError,
        AuthorizationError,
        ConflictError,
        Error,
        ForbiddenError,
        InvalidRequestError,
        MissingTokenError,
        NotFoundError,
        OAuthError,
        OutcomeUnknownError,
        RateLimitError,
        ServerError,
        SyncError,
        TokenStoreError,
        UnprocessableEntityError,
    )
    from ._hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent
    from ._pagination import ItemIterator, PageIterator
    from ._ratelimit import RateLimit, RateLimiter, RatePacer
    from ._ratelimit_redis import RedisRateLimiter
    from ._request import IssuedURL, Requester, RequestSpec
    from ._response import Response
    from ._retry import RetryPolicy
    from .auth import Token

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthorizationError",
    "BatchFailure",
    "Config",
    "ConflictError",
    "Error",
    "ForbiddenError",
    "Hooks",
    "InvalidRequestError",
    "IssuedURL",
    "ItemIterator",
    "MissingTokenError",
    "NotFoundError",
    "OAuthError",
    "OutcomeUnknownError",
    "PageIterator",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "RatePacer",
    "RedisRateLimiter",
    "RequestEvent",
    "RequestSpec",
    "Requester",
    "Response",
    "ResponseEvent",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "SyncError",
    "SyncResult",
    "Token",
    "TokenStoreError",
    "UnprocessableEntityError",
    "__version__",
    "configure",
    "get_config",
]

_ERRORS = (
    "APIConnectionError APITimeoutError AuthorizationError Error ForbiddenError "
    "InvalidRequestError MissingTokenError NotFoundError OAuthError RateLimitError "
    "ServerError SyncError TokenStoreError"
    " APIStatusError ConflictError OutcomeUnknownError UnprocessableEntityError"
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
    **dict.fromkeys(("IssuedURL", "RequestSpec", "Requester"), "._request"),
    **dict.fromkeys(("Hooks", "RequestEvent", "ResponseEvent", "RetryEvent"), "._hooks"),
}


__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__, public_module=True)
