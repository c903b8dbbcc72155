"""The errors procore_async raises on purpose, and the status-code mapping.

Hierarchy::

    Error                         base of every error raised on purpose; carries .response
    ├── APIConnectionError        the API could not be reached (after retries)
    │   └── APITimeoutError       ... because a timeout fired
    ├── AuthorizationError        401
    ├── ForbiddenError            403
    ├── InvalidRequestError       400, 422, and bad input caught before any I/O
    ├── NotFoundError             404
    ├── RateLimitError            429
    ├── ServerError               every other non-2xx status
    ├── OAuthError                the token endpoint refused or failed
    ├── MissingTokenError         no usable token in the store
    ├── TokenStoreError           a store holds data that is not a token
    └── SyncError                 one or more sync batches failed; carries .result

The class names follow the Ruby gem, so code ported from it keeps its ``rescue``
clauses as ``except`` clauses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._batch import SyncResult
    from ._response import Response

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthorizationError",
    "Error",
    "ForbiddenError",
    "InvalidRequestError",
    "MissingTokenError",
    "NotFoundError",
    "OAuthError",
    "RateLimitError",
    "ServerError",
    "SyncError",
    "TokenStoreError",
    "error_for_response",
]


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


class AuthorizationError(Error):
    """401: the token is missing, expired, revoked or invalid."""


class ForbiddenError(Error):
    """403: the token is valid but lacks permission (or the app is not installed)."""


class InvalidRequestError(Error):
    """400 or 422 from the server, or bad input rejected before any I/O."""


class NotFoundError(Error):
    """404: the resource does not exist or the user cannot see it."""


class RateLimitError(Error):
    """429: the rate limit is spent; ``retry_after`` says how long until it resets."""


class ServerError(Error):
    """Any other non-2xx status (5xx, unfollowed 3xx, 405, 409, ...)."""


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


_STATUS_ERRORS: dict[int, type[Error]] = {
    400: InvalidRequestError,
    401: AuthorizationError,
    403: ForbiddenError,
    404: NotFoundError,
    422: InvalidRequestError,
    429: RateLimitError,
}


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


def error_for_response(response: Response, *, retry_after: float | None = None) -> Error:
    """Build the typed error for a non-2xx ``response``.

    The message names the status, method and path (never the query, which may hold
    secrets), the request id, and the server's own error text when it sent one.
    """
    status = response.status_code
    cls = _STATUS_ERRORS.get(status, ServerError)
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
    AuthorizationError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    OAuthError,
    MissingTokenError,
    TokenStoreError,
    SyncError,
):
    _cls.__module__ = "procore_async"
del _cls
