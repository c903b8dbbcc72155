"""procore_async's errors in Temporal's retry model.

Temporal retries a failed activity by its retry policy unless the failure is an
``ApplicationError`` marked non-retryable; ``next_retry_delay`` overrides the
policy's backoff for one retry.  The mapping:

* :class:`~procore_async.RateLimitError` → retryable, next attempt after its
  ``retry_after`` (the budget resets then; retrying sooner only earns more 429s);
* :class:`~procore_async.InvalidRequestError`, :class:`~procore_async.ForbiddenError`,
  :class:`~procore_async.NotFoundError`, :class:`~procore_async.MissingTokenError`
  and :class:`UnkeyedImportError` → non-retryable: the same request would get the
  same answer on every worker;
* an :class:`~procore_async.OAuthError` the token endpoint answered with 400/401
  (a revoked grant, wrong credentials) → non-retryable; other OAuth failures retry;
* connection errors, 5xx and anything else → retryable with the policy's backoff.

The error ``type`` is the library's class name, so a workflow (or ``temporal
workflow show``) says ``RateLimitError`` rather than a generic failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from temporalio.exceptions import ApplicationError

from ..._errors import (
    Error,
    ForbiddenError,
    InvalidRequestError,
    MissingTokenError,
    NotFoundError,
    OAuthError,
    RateLimitError,
)

__all__ = [
    "NON_RETRYABLE_TYPES",
    "UnkeyedImportError",
    "application_error",
    "is_retryable",
    "translated_errors",
]

#: Used when a 429 carried no wait at all: Procore's windows are seconds long.
_DEFAULT_RATE_WAIT = 5.0


class UnkeyedImportError(InvalidRequestError):
    """An import row has neither ``id`` nor ``origin_id``.

    A fleet import is at least once: a shard whose worker dies is sent again from its
    last confirmed window.  A keyed row sent twice is the same upsert twice; an
    unkeyed row sent twice is two records.  So the import refuses unkeyed rows
    before sending anything.
    """


_NON_RETRYABLE: tuple[type[Error], ...] = (
    InvalidRequestError,
    ForbiddenError,
    NotFoundError,
    MissingTokenError,
)

#: Error types a retry policy must never retry (also set on the workflows' policies).
NON_RETRYABLE_TYPES = (
    "ForbiddenError",
    "InvalidRequestError",
    "MissingTokenError",
    "NotFoundError",
    "UnkeyedImportError",
)


def is_retryable(exc: BaseException) -> bool:
    """Whether another attempt (on any worker) could succeed where this one failed.

    ``ValueError``/``TypeError`` are a caller's bad input (a spec out of range):
    no retry fixes them.
    """
    if isinstance(exc, (*_NON_RETRYABLE, ValueError, TypeError)):
        return False
    if isinstance(exc, OAuthError):
        return exc.status_code not in (400, 401)
    return True


def application_error(exc: BaseException, *details: Any) -> ApplicationError:
    """The ``ApplicationError`` that tells Temporal how to treat ``exc``."""
    if isinstance(exc, ApplicationError):
        return exc
    kind = type(exc).__name__
    message = str(exc) or kind
    delay: timedelta | None = None
    if isinstance(exc, RateLimitError):
        wait = exc.retry_after if exc.retry_after is not None else _DEFAULT_RATE_WAIT
        delay = timedelta(seconds=max(wait, 0.001))
    return ApplicationError(
        message,
        *details,
        type=kind,
        non_retryable=not is_retryable(exc),
        next_retry_delay=delay,
    )


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise a library error (or any other) as its Temporal ``ApplicationError``."""
    try:
        yield
    except ApplicationError:
        raise
    except Exception as exc:
        raise application_error(exc) from exc
