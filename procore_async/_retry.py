"""The retry policy: what is retried, how long to wait, when to give up.

Policy as data, run by tenacity (the loop, the stop, the sleep); the decisions
are small functions of the error, so they are tested as a table:

* connection failures before the request left (connect error or timeout, pool
  timeout) are always retried; failures after it may have reached the server
  (read timeout, dropped connection) only for idempotent calls;
* 429, and 503 with ``Retry-After`` (the server refused to do any work), are
  retried for every verb, waiting as long as the server asks;
* any other 5xx only for idempotent calls: GET, HEAD, OPTIONS, DELETE, PUT, and
  anything carrying an ``Idempotency-Token``;
* a server-requested wait longer than ``max_retry_wait`` is not slept through:
  the error is raised at once with ``retry_after`` set, so a worker can
  reschedule instead of blocking a slot for an hour.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
import httpx
from tenacity import AsyncRetrying, RetryCallState

from ._errors import APIConnectionError, APITimeoutError, Error

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["RetryPolicy", "connection_error", "server_requested_wait"]

T = TypeVar("T")

_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_CONNECTION_MESSAGE = (
    "Cannot connect to the Procore API ({detail}). Check the host and your network; "
    "raise Config.timeout or Config.max_retries if requests are being cut short."
)


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    """Wrap an httpx transport failure, noting whether the request may have been sent."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    error = cls(_CONNECTION_MESSAGE.format(detail=type(exc).__name__))
    error.request_sent = not isinstance(exc, _UNSENT)
    error.__cause__ = exc
    return error


def server_requested_wait(
    headers: httpx.Headers, status_code: int, now: float | None = None
) -> float | None:
    """Seconds the server asked us to wait, or None when it asked nothing usable.

    ``Retry-After`` as seconds or an HTTP-date wins; on a 429 without it,
    ``X-Rate-Limit-Reset`` (epoch seconds) is used.  Past times give 0; negative,
    non-finite or garbled values are ignored.
    """
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value is not None:
        seconds = _parse_retry_after(value.strip(), now)
        if seconds is not None:
            return seconds
    if status_code == 429:
        reset = headers.get("x-rate-limit-reset")
        if reset is not None:
            try:
                at = float(reset)
            except ValueError:
                return None
            if at == at and at not in (float("inf"), float("-inf")) and at > 0:
                return max(0.0, at - now)
    return None


def _parse_retry_after(value: str, now: float) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                return None
            return max(0.0, email.utils.mktime_tz(parsed) - now)
        except (TypeError, ValueError, OverflowError):
            return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        return None
    return seconds


class RetryPolicy:
    """The client's retry policy, built once from its :class:`Config`."""

    __slots__ = ("backoff", "deadline", "logger", "max_retries", "max_wait", "random")

    def __init__(self, config: Config, *, rng: random.Random | None = None) -> None:
        self.max_retries = config.max_retries
        self.backoff = config.retry_backoff
        self.max_wait = config.max_retry_wait
        self.deadline = config.retry_deadline
        self.logger = config.logger
        self.random = rng or random.Random()

    def is_retryable(self, exc: BaseException, idempotent: bool) -> bool:
        """Whether ``exc`` may be retried at all (ignoring counts and waits)."""
        if isinstance(exc, APIConnectionError):
            return idempotent or not getattr(exc, "request_sent", True)
        if not isinstance(exc, Error) or exc.response is None:
            return False
        status = exc.response.status_code
        if status == 429 or (status == 503 and exc.retry_after is not None):
            return True
        return status >= 500 and idempotent

    def backoff_wait(self, retry_number: int) -> float:
        """The gem's schedule (``backoff * 1.5^(n-1)``: 1.5, 2.25, 3.375 s) with ±25% jitter."""
        base = self.backoff * 1.5 ** (retry_number - 1)
        return base * self.random.uniform(0.75, 1.25)

    def wait_for(self, exc: BaseException | None, retry_number: int) -> float:
        """How long to sleep before retry ``retry_number`` (1-based) after ``exc``."""
        server = exc.retry_after if isinstance(exc, Error) else None
        if server is not None:
            # Never earlier than asked; a little later spreads a herd of waiters.
            return server + self.random.uniform(0, min(1.0, 0.1 * server))
        return self.backoff_wait(retry_number)

    async def call(self, attempt: Callable[[], Awaitable[T]], *, idempotent: bool, what: str) -> T:
        """Run ``attempt`` until it succeeds or the policy gives up (then re-raise)."""
        started = time.monotonic()

        def retry(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if exc is None or not self.is_retryable(exc, idempotent):
                return False
            server = exc.retry_after if isinstance(exc, Error) else None
            return server is None or server <= self.max_wait

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > self.max_retries:
                return True
            if self.deadline is None:
                return False
            upcoming = state.upcoming_sleep or 0.0
            return time.monotonic() - started + upcoming > self.deadline

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait_for(exc, state.attempt_number)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.logger.warning(
                "retrying %s after %s (retry %d of %d, waiting %.2fs)",
                what,
                _reason(exc),
                state.attempt_number,
                self.max_retries,
                state.upcoming_sleep,
            )

        retrying = AsyncRetrying(
            sleep=anyio.sleep,
            stop=stop,
            wait=wait,
            retry=retry,
            before_sleep=before_sleep,
            reraise=True,
        )
        return await retrying(attempt)


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, Error) and exc.response is not None:
        return f"status {exc.response.status_code}"
    cause = exc.__cause__ if exc is not None else None
    return type(cause or exc).__name__
