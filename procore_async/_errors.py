"""The errors procore_async raises on purpose, and the status-code mapping.

Hierarchy::

    Error                         base of every error raised on purpose; carries .response
    ├── APIConnectionError        the API could not be reached (after retries)
    │   └── APITimeoutError       ... because a timeout fired
    ├── OutcomeUnknownError       a write failed after it may have been applied; not resent
    ├── APIStatusError            any error status (3xx not followed, 4xx, 5xx); .status_code
    │   ├── AuthorizationError    401
    │   ├── ForbiddenError        403
    │   ├── InvalidRequestError   400 and every other 4xx not below; also bad input before I/O
    │   │   ├── ConflictError             409
    │   │   └── UnprocessableEntityError  422
    │   ├── NotFoundError         404
    │   ├── RateLimitError        429
    │   └── ServerError           5xx
    ├── OAuthError                the token endpoint refused or failed
    ├── MissingTokenError         no usable token in the store
    ├── TokenStoreError           a store holds data that is not a token
    └── SyncError                 one or more sync batches failed; carries .result

The class names follow the Ruby gem, so code ported from it keeps its ``rescue``
clauses as ``except`` clauses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ._batch import SyncResult
    from ._response import Response

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthorizationError",
    "ConflictError",
    "Error",
    "ForbiddenError",
    "InvalidRequestError",
    "MissingTokenError",
    "NotFoundError",
    "OAuthError",
    "OutcomeUnknownError",
    "RateLimitError",
    "ServerError",
    "SyncError",
    "TokenStoreError",
    "UnprocessableEntityError",
    "connection_error",
    "error_for_response",
    "may_have_applied",
]

#: Transport failures raised before any byte of the request left this process.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_CONNECTION_MESSAGE = (
    "Cannot connect to the Procore API ({detail}). Check the host and your network; "
    "raise Config.timeout or Config.max_retries if requests are being cut short."
)


class Error(Exception):
    """Base class of every error procore_async raises on purpose.

    ``response`` is the :class:`~procore_async.Response` that caused the error, or
    None when the error happened before (or without) a response.  ``retry_after``
    is the wait in seconds the server asked for, when it asked for one.
    """

    def __init__(
        self,
        message: str,
        *,
        response: Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.retry_after = retry_after

    @property
    def status_code(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    @property
    def request_id(self) -> str | None:
        return self.response.request_id if self.response is not None else None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.response is not None:
            parts.append(f"status_code={self.response.status_code}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after:g}")
        return f"{type(self).__name__}({', '.join(parts)})"


class APIConnectionError(Error):
    """The API could not be reached: connection refused or reset, DNS, TLS, timeouts.

    Raised once the retry policy gives up; ``__cause__`` is the last underlying error.
    ``request_sent`` is False when the failure happened before the request left
    (so even a POST may be retried safely).
    """

    request_sent: bool = True


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout outlived its retries."""


class OutcomeUnknownError(Error):
    """A write failed after it may have reached Procore, and is not safe to send again.

    The reply was lost (read timeout, dropped connection) or a 5xx came back, for
    a request that is not idempotent (a POST without a declared Idempotency-Token,
    a sync batch with an item lacking ``id``/``origin_id``).  Procore may or may
    not have applied it: check before resending.  ``__cause__`` is the failure;
    ``response`` the 5xx response, if there was one.
    """


class APIStatusError(Error):
    """Base of every error built from an HTTP status; ``status_code`` is that status.

    Raised as itself for statuses no subclass covers (an unfollowed 3xx, a 1xx).
    """


class AuthorizationError(APIStatusError):
    """401: the token is missing, expired, revoked or invalid."""


class ForbiddenError(APIStatusError):
    """403: the token is valid but lacks permission (or the app is not installed)."""


class InvalidRequestError(APIStatusError):
    """400 (or another 4xx) from the server, or bad input rejected before any I/O.

    Raised before any I/O it has no response, and ``status_code`` is None.
    """


class ConflictError(InvalidRequestError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(InvalidRequestError):
    """422: the body was understood but refused (validation errors)."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist or the user cannot see it."""


class RateLimitError(APIStatusError):
    """429: the rate limit is spent; ``retry_after`` says how long until it resets."""


class ServerError(APIStatusError):
    """5xx: Procore failed (or a proxy before it did)."""


class OAuthError(Error):
    """The OAuth token or revoke endpoint refused the request.

    ``error`` and ``error_description`` are the server's RFC 6749 fields when present.
    """

    def __init__(
        self,
        message: str,
        *,
        response: Response | None = None,
        retry_after: float | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        super().__init__(message, response=response, retry_after=retry_after)
        self.error = error
        self.error_description = error_description


class MissingTokenError(Error):
    """No usable access token: the store is empty or holds a token without one."""


class TokenStoreError(Error):
    """A token store holds data that cannot be read as a token (corrupt file, bad JSON)."""


class SyncError(Error):
    """At least one sync batch failed after its retries.

    ``result`` is the :class:`~procore_async.SyncResult` with everything the other
    batches achieved and, in ``result.failures``, each failed batch and its error.
    """

    def __init__(self, message: str, *, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: InvalidRequestError,
    401: AuthorizationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def _class_for(status: int) -> type[APIStatusError]:
    cls = _STATUS_ERRORS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    if status >= 400:
        return InvalidRequestError
    return APIStatusError


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """Wrap an httpx transport failure, noting whether the request may have been sent."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    error = cls(_CONNECTION_MESSAGE.format(detail=type(exc).__name__))
    error.request_sent = not isinstance(exc, _UNSENT)
    error.__cause__ = exc
    return error


def _server_text(body: Any) -> str | None:
    """Pick the human text out of one of Procore's many error body shapes."""
    if isinstance(body, str):
        text = body.strip()
        return text[:200] if text and not text.startswith("<") else None
    if not isinstance(body, dict):
        return None
    for key in ("errors", "error", "message", "error_description"):
        value = body.get(key)
        if isinstance(value, dict) and key == "error":
            value = value.get("message") or value.get("code")
        if isinstance(value, str) and value:
            return value[:200]
        if isinstance(value, list) and value:
            return "; ".join(str(v) for v in value)[:200]
        if isinstance(value, dict) and value:
            # Rails validation errors: {"name": ["can't be blank"]} -> "name: can't be blank".
            return "; ".join(f"{field}: {_joined(msgs)}" for field, msgs in value.items())[:200]
    return None


def _joined(messages: Any) -> str:
    if isinstance(messages, (list, tuple)):
        return ", ".join(str(message) for message in messages)
    return str(messages)


def may_have_applied(error: BaseException) -> bool:
    """True when ``error`` leaves open whether the server acted on the request.

    A reply lost after sending (read timeout, dropped connection, the retry
    deadline) or a 5xx may follow a change already made.  Certainly not applied:
    refused before sending, a 429, a 503 that asked for a wait, any 4xx.
    """
    if isinstance(error, APIConnectionError):
        return error.request_sent
    status = error.status_code if isinstance(error, Error) else None
    if status is None or status < 500:
        return False
    return not (status == 503 and isinstance(error, Error) and error.retry_after is not None)


def error_for_response(response: Response, *, retry_after: float | None = None) -> APIStatusError:
    """Build the typed error for a non-2xx ``response``.

    The message names the status, method and path (never the query, which may hold
    secrets), the request id, and the server's own error text when it sent one.
    """
    status = response.status_code
    cls = _class_for(status)
    request = response.request
    reason = f" {response.reason_phrase}" if response.reason_phrase else ""  # none for 599
    message = f"{status}{reason}: {request.method} {request.url.path}"
    if response.request_id:
        message += f" (request id {response.request_id})"
    text = _server_text(response.body)
    if text:
        message += f": {text}"
    return cls(message, response=response, retry_after=retry_after)


# Tracebacks show the public path (procore_async.NotFoundError), where users import them from.
for _cls in (
    Error,
    APIConnectionError,
    APITimeoutError,
    APIStatusError,
    AuthorizationError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    UnprocessableEntityError,
    RateLimitError,
    ServerError,
    OAuthError,
    MissingTokenError,
    TokenStoreError,
    SyncError,
):
    _cls.__module__ = "procore_async"
del _cls
