"""The retry policy: small decision objects in a chain, run by tenacity.

A decision is a small callable ``(error, attempt, decision) -> decision``; the
chain folds them in order, each one free to keep or overrule what the ones
before it said (githubkit's ``retry.py`` is the model).  The default chain:

1. :class:`ConnectionErrors` - a failure before the request left (connect
   error or timeout, pool timeout) is always retried; one after it may have
   reached the server (read timeout, dropped connection) only when the request
   is idempotent;
2. :class:`ServerRequestedWait` - 429, and 503 with ``Retry-After`` (the server
   refused to do any work and said when to come back), are retried for every
   request, waiting as long as asked;
3. :class:`IdempotentServerErrors` - any other 5xx only when idempotent (a
   ``Retry-After`` on a 502/504 is honoured too);
4. :class:`ServerWaitCap` - whatever said yes, a server-requested wait longer
   than ``max_retry_wait`` is not slept through: the error is raised at once
   with ``retry_after`` set, so a worker can reschedule instead of blocking a
   slot for an hour;
5. :class:`MaxRetries` and :class:`Deadline` - stop after ``max_retries``, or
   when the wait would end past ``retry_deadline`` (which also bounds each
   attempt, so the whole call never outlives it).

What counts as idempotent is the request's own description
(:attr:`RequestSpec.idempotent`).  An error that must not be retried by this
loop, whatever it is (a token renewal that already went through its own loop,
the deadline), is raised inside the attempt wrapped in :class:`GiveUp`; no
module-level state remembers errors.  Reading ``Retry-After`` lives with the
response (``_response.server_requested_wait``) and classifying transport errors
with the errors (``_errors.connection_error``).

tenacity runs the loop: the stop / wait / retry hooks, ``before_sleep`` for the
log line and the retry event, and the sleep itself (``anyio.sleep``, so it is
cancellable on asyncio and trio).  The first attempt runs outside it, since
nearly every call succeeds at once.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState

from ._errors import APIConnectionError, APITimeoutError, Error

if TYPE_CHECKING:
    from ._config import Config

__all__ = [
    "Attempt",
    "ConnectionErrors",
    "Deadline",
    "Decision",
    "GiveUp",
    "IdempotentServerErrors",
    "MaxRetries",
    "RetryPolicy",
    "RetryRule",
    "ServerRequestedWait",
    "ServerWaitCap",
]

T = TypeVar("T")

_DEADLINE_MESSAGE = (
    "{what} did not finish within Config.retry_deadline ({deadline:g}s), retries included"
)


class GiveUp(Exception):
    """Raised inside an attempt to end the retry loop with ``error``, unretried."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where the loop stands: ``number`` attempts made, ``elapsed`` seconds since the
    first began, and ``wait``, the sleep the policy proposes before the next one."""

    number: int
    idempotent: bool
    elapsed: float = 0.0
    wait: float = 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    """Retry or not; ``wait`` seconds first (None: the proposed wait); ``why`` for the log."""

    retry: bool
    wait: float | None = None
    why: str = ""


class RetryRule(Protocol):
    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision: ...


class ConnectionErrors:
    """Transport failures: always when nothing was sent, else only when idempotent."""

    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision:
        if isinstance(error, APIConnectionError):
            return Decision(attempt.idempotent or not error.request_sent)
        return decision


class ServerRequestedWait:
    """429, and 503 with ``Retry-After``: retried for every request, as long as asked.

    The cap on a wait is :class:`ServerWaitCap`'s, which comes after every rule that
    may say yes.
    """

    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision:
        if not isinstance(error, Error):
            return decision
        status, wait = error.status_code, error.retry_after
        if status == 429 or (status == 503 and wait is not None):
            return Decision(True)
        return decision


class IdempotentServerErrors:
    """Any other 5xx: retried only when the request is idempotent."""

    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision:
        status = error.status_code if isinstance(error, Error) else None
        if status is not None and status >= 500 and not decision.retry:
            return Decision(attempt.idempotent)
        return decision


class ServerWaitCap:
    """A server-requested wait longer than ``max_wait`` is not slept through.

    Whatever said yes before it (a 429, a 503, a 502/504 of an idempotent call with
    ``Retry-After``), the error is raised at once with ``retry_after`` set, so a
    worker can reschedule instead of blocking a slot for an hour.
    """

    def __init__(self, max_wait: float) -> None:
        self.max_wait = max_wait

    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision:
        wait = error.retry_after if isinstance(error, Error) else None
        if decision.retry and wait is not None and wait > self.max_wait:
            return Decision(
                False,
                why=f"the server asked to wait {wait:.1f}s, more than max_retry_wait "
                f"({self.max_wait:.1f}s); raising with retry_after set",
            )
        return decision


class MaxRetries:
    """Stop once ``limit`` retries have been made."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision:
        if decision.retry and attempt.number > self.limit:
            count = attempt.number
            return Decision(False, why=f"{count} attempt{'s' if count != 1 else ''}")
        return decision


class Deadline:
    """Stop when the next wait would end past ``seconds`` after the first attempt."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds

    def __call__(self, error: BaseException, attempt: Attempt, decision: Decision) -> Decision:
        if self.seconds is None or not decision.retry:
            return decision
        wait = decision.wait if decision.wait is not None else attempt.wait
        if attempt.elapsed + wait > self.seconds:
            return Decision(False, why=f"retry_deadline ({self.seconds:g}s) would pass")
        return decision


class RetryPolicy:
    """The client's retry policy, built once from its :class:`Config`.

    ``rules`` is the chain (see the module docstring); pass your own to change
    what is retried.  ``retries`` counts the retries this policy has performed
    (every call of the client and of its token endpoint shares it).
    """

    __slots__ = ("backoff", "deadline", "logger", "max_retries", "max_wait", "random", "retries",
                 "rules")  # fmt: skip

    def __init__(
        self,
        config: Config,
        *,
        rng: random.Random | None = None,
        rules: Sequence[RetryRule] | None = None,
    ) -> None:
        self.max_retries = config.max_retries
        self.backoff = config.retry_backoff
        self.max_wait = config.max_retry_wait
        self.deadline = config.retry_deadline
        self.logger = config.logger
        self.random = rng or random.Random()
        #: Retries performed so far (a sleep and a new attempt each).
        self.retries = 0
        self.rules: tuple[RetryRule, ...] = tuple(rules) if rules is not None else (
            ConnectionErrors(),
            ServerRequestedWait(),
            IdempotentServerErrors(),
            ServerWaitCap(self.max_wait),
            MaxRetries(self.max_retries),
            Deadline(self.deadline),
        )  # fmt: skip

    def decide(self, error: BaseException, attempt: Attempt) -> Decision:
        """Fold ``error`` through the chain; the default is not to retry."""
        decision = Decision(False)
        for rule in self.rules:
            decision = rule(error, attempt, decision)
        return decision

    def is_retryable(self, exc: BaseException, idempotent: bool) -> bool:
        """Whether ``exc`` may be retried at all (ignoring counts and deadlines)."""
        return self.decide(exc, Attempt(0, idempotent)).retry

    def _decide_after(self, error: BaseException, attempt: Attempt) -> Decision:
        """The decision after ``attempt`` failed, with its wait filled in."""
        found = self.decide(error, attempt)
        if found.retry and found.wait is None:
            found = replace(found, wait=attempt.wait)
        return found

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

        A positive server-requested wait is honoured, never shortened, and made a
        little longer (spreading a herd of waiters); otherwise the backoff.
        """
        server = exc.retry_after if isinstance(exc, Error) else None
        if server is not None and server > 0:
            late = self.random.uniform(0, min(1.0, 0.1 * server))
            return min(server + late, max(server, self.max_wait))
        return self.backoff_wait(retry_number)

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        what: object,
        on_retry: Callable[[BaseException, int, float], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``attempt`` until it succeeds or the policy gives up (then re-raise).

        ``what`` names the call in log lines: a string, or any object whose ``str``
        does (a ``RequestSpec``), turned into text only on a failure;
        ``on_retry(error, retry_number, wait)`` runs before each sleep (the retry
        event hook).
        """
        deadline = self.deadline
        started = 0.0
        # The first attempt runs outside tenacity (and, without a deadline, outside any
        # wrapper): setting up its loop costs about half as much CPU as httpx spends
        # sending the request, and nearly every call succeeds at once.
        if deadline is None:
            try:
                return await attempt()
            except GiveUp as give_up:
                raise give_up.error from give_up.error.__cause__
            except Exception as exc:
                first: list[Exception] = [exc]
            started = anyio.current_time()
            bounded = attempt
        else:
            started = anyio.current_time()

            async def bounded() -> T:
                with anyio.move_on_after(deadline - (anyio.current_time() - started)):
                    return await attempt()
                message = _DEADLINE_MESSAGE.format(what=what, deadline=deadline)
                raise GiveUp(APITimeoutError(message))

            try:
                return await bounded()
            except GiveUp as give_up:
                raise give_up.error from give_up.error.__cause__
            except Exception as exc:
                first = [exc]
        what = str(what)
        decisions: dict[int, Decision] = {}

        async def replay_then_attempt() -> T:
            if first:
                raise first.pop()
            return await bounded()

        def decision(state: RetryCallState) -> Decision:
            number = state.attempt_number
            if number not in decisions:
                error = _failure(state)
                if error is None or isinstance(error, GiveUp):
                    decisions[number] = Decision(False)
                else:
                    elapsed = anyio.current_time() - started
                    at = Attempt(number, idempotent, elapsed, self.wait_for(error, number))
                    found = self._decide_after(error, at)
                    decisions[number] = found
                    if not found.retry and found.why:
                        self.logger.warning("giving up on %s after %s: %s", what,
                                            _reason(error), found.why)  # fmt: skip
            return decisions[number]

        async def before_sleep(state: RetryCallState) -> None:
            self.retries += 1
            error = _failure(state)
            wait = state.upcoming_sleep
            self.logger.warning(
                "retrying %s after %s (retry %d of %d, waiting %.2fs)",
                what, _reason(error), state.attempt_number, self.max_retries, wait,
            )  # fmt: skip
            if on_retry is not None and error is not None:
                await on_retry(error, state.attempt_number, wait)

        retrying = AsyncRetrying(
            sleep=anyio.sleep,
            stop=lambda state: not decision(state).retry,
            wait=lambda state: decision(state).wait or 0.0,
            retry=lambda state: state.outcome is not None and state.outcome.failed,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return await retrying(replay_then_attempt)
        except GiveUp as give_up:
            settled = give_up.error
        raise settled


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, Error) and exc.response is not None:
        return f"status {exc.response.status_code}"
    cause = exc.__cause__ if exc is not None else None
    return type(cause or exc).__name__
