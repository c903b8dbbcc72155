"""procore_async: the asyncio-native Python client for the Procore REST API.

Everything public is importable from here; modules with a leading underscore are
private and may change without notice.
"""

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
from ._ratelimit import RateLimit, RateLimiter, RatePacer
from ._response import Response
from ._retry import RetryPolicy
from ._version import __version__
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
    "MissingTokenError",
    "NotFoundError",
    "OAuthError",
    "RateLimit",
    "RateLimitError",
    "RateLimiter",
    "RatePacer",
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

# Tracebacks and reprs show the public path (procore_async.NotFoundError), not the private module.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("procore_async."):
        try:
            _obj.__module__ = "procore_async"
        except (AttributeError, TypeError):
            pass
del _name, _obj
