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
  reschedule instead of blocking a slot for an hour;
* ``retry_deadline`` bounds the whole call, attempts included, not only the
  sleeps between them;
* an error that already went through a retry loop (a token refresh inside a
  request) is not retried again by the outer one: one retry layer, not two
  multiplied together.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
import weakref
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
_DEADLINE_MESSAGE = (
    "{what} did not finish within Config.retry_deadline ({deadline:g}s), retries included"
)

#: Errors a retry loop has already given up on; an enclosing loop must not retry them.
_SETTLED: weakref.WeakSet[BaseException] = weakref.WeakSet()


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

    ``Retry-After`` as seconds or an HTTP-date wins; on a 429 without a usable
    one, ``X-Rate-Limit-Reset`` (epoch seconds) is used.  Past times give 0;
    negative, non-finite or garbled values are ignored.
    """
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value is not None:
        seconds = _parse_retry_after(value.strip(), now)
        if seconds is not None:
            return seconds
    if status_code == 429:
        at = _finite(headers.get("x-rate-limit-reset"))
        if at is not None and at > 0:
            return max(0.0, at - now)
    return None


def _finite(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_retry_after(value: str, now: float) -> float | None:
    seconds = _finite(value)
    if seconds is not None:
        return seconds if seconds >= 0 else None
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(0.0, email.utils.mktime_tz(parsed) - now)
    except (TypeError, ValueError, OverflowError):
        return None


class RetryPolicy:
    """The client's retry policy, built once from its :class:`Config`.

    ``retries`` counts the retries this policy has performed (every call of the
    client and of its token endpoint shares it), for progress reports and tests.
    """

    __slots__ = ("backoff", "deadline", "logger", "max_retries", "max_wait", "random", "retries")

    def __init__(self, config: Config, *, rng: random.Random | None = None) -> None:
        self.max_retries = config.max_retries
        self.backoff = config.retry_backoff
        self.max_wait = config.max_retry_wait
        self.deadline = config.retry_deadline
        self.logger = config.logger
        self.random = rng or random.Random()
        #: Retries performed so far (a sleep and a new attempt each).
        self.retries = 0

    def is_retryable(self, exc: BaseException, idempotent: bool) -> bool:
        """Whether ``exc`` may be retried at all (ignoring counts and waits)."""
        if exc in _SETTLED:
            return False
        if isinstance(exc, APIConnectionError):
            return idempotent or not getattr(exc, "request_sent", True)
        if not isinstance(exc, Error) or exc.response is None:
            return False
        status = exc.response.status_code
        if status == 429 or (status == 503 and exc.retry_after is not None):
            return True
        return status >= 500 and idempotent

    def backoff_wait(self, retry_number: int) -> float:
        """The gem's schedule (``backoff * 1.5^(n-1)``: 1.5, 2.25, 3.375 s) with ±25% jitter.

        No backoff grows past ``max_retry_wait`` (or ``retry_backoff`` if larger),
        so ``max_retries=100`` does not end in sleeps of years.
        """
        cap = max(self.max_wait, self.backoff)
        base = self.backoff * 1.5 ** min(retry_number - 1, 200)
        return min(base * self.random.uniform(0.75, 1.25), cap)

    def wait_for(self, exc: BaseException | None, retry_number: int) -> float:
        """How long to sleep before retry ``retry_number`` (1-based) after ``exc``.

        A positive server-requested wait is honoured, never shortened; a zero one
        (a reset already past, usually clock skew) falls back to the backoff, since
        retrying at once would only spend the remaining retries on more refusals.
        """
        server = exc.retry_after if isinstance(exc, Error) else None
        if server is not None and server > 0:
            # A little later than asked spreads a herd of waiters.
            late = self.random.uniform(0, min(1.0, 0.1 * server))
            return min(server + late, max(server, self.max_wait))
        return self.backoff_wait(retry_number)

    async def call(self, attempt: Callable[[], Awaitable[T]], *, idempotent: bool, what: str) -> T:
        """Run ``attempt`` until it succeeds or the policy gives up (then re-raise)."""
        started = anyio.current_time() if self.deadline is not None else 0.0
        deadline = self.deadline

        async def bounded() -> T:
            if deadline is None:
                return await attempt()
            with anyio.move_on_after(deadline - (anyio.current_time() - started)):
                return await attempt()
            error = APITimeoutError(_DEADLINE_MESSAGE.format(what=what, deadline=deadline))
            _SETTLED.add(error)
            raise error

        # The first attempt runs outside tenacity: nearly every call succeeds at once,
        # and setting up a tenacity loop costs about half as much CPU as httpx spends
        # sending the request.  A failure is handed to tenacity as its attempt 1.
        try:
            return await bounded()
        except Exception as exc:
            first_failure: list[Exception] = [exc]

        async def replay_then_attempt() -> T:
            if first_failure:
                raise first_failure.pop()
            return await bounded()

        def retry(state: RetryCallState) -> bool:
            exc = _failure(state)
            if exc is None or not self.is_retryable(exc, idempotent):
                return False
            server = exc.retry_after if isinstance(exc, Error) else None
            if server is not None and server > self.max_wait:
                self.logger.warning(
                    "not retrying %s after %s: the server asked to wait %.1fs, more than "
                    "max_retry_wait (%.1fs); raising with retry_after set",
                    what,
                    _reason(exc),
                    server,
                    self.max_wait,
                )
                return False
            return True

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > self.max_retries:
                count = state.attempt_number
                why = f"{count} attempt{'s' if count != 1 else ''}"
            elif deadline is not None and (
                anyio.current_time() - started + (state.upcoming_sleep or 0.0) > deadline
            ):
                why = f"retry_deadline ({deadline:g}s) would pass"
            else:
                return False
            self.logger.warning("giving up on %s after %s: %s", what, _reason(_failure(state)), why)
            return True

        def wait(state: RetryCallState) -> float:
            return self.wait_for(_failure(state), state.attempt_number)

        def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            self.logger.warning(
                "retrying %s after %s (retry %d of %d, waiting %.2fs)",
                what,
                _reason(_failure(state)),
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
        try:
            return await retrying(replay_then_attempt)
        except Error as exc:
            _SETTLED.add(exc)
            raise


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, Error) and exc.response is not None:
        return f"status {exc.response.status_code}"
    cause = exc.__cause__ if exc is not None else None
    return type(cause or exc).__name__
