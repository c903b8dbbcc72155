"""Pacing from Procore's ``X-Rate-Limit-*`` headers.

Procore reports one window at a time (the 10-second spike window, or the hourly
one when it is nearly spent): ``Limit``, ``Remaining`` and ``Reset`` (epoch
seconds).  Rather than run into 429s and back off, the client holds new requests
once the remaining budget is down to a small reserve, until the window resets.
Every task using one client shares one :class:`RatePacer`; processes that share a
Procore app token can share one budget through ``RedisRateLimiter`` instead.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import anyio

from ._errors import RateLimitError

if TYPE_CHECKING:
    import httpx

__all__ = ["RateLimit", "RateLimiter", "RatePacer", "parse_rate_limit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One response's view of the rate window: its size, what is left, when it resets."""

    limit: int
    remaining: int
    reset: int

    def seconds_to_reset(self, now: float | None = None) -> float:
        return max(0.0, self.reset - (time.time() if now is None else now))


def parse_rate_limit(headers: httpx.Headers) -> RateLimit | None:
    """The ``X-Rate-Limit-*`` headers as a :class:`RateLimit`, or None if absent or garbled.

    A fractional reset is rounded up: waking a little late is safe, early is not.
    """
    remaining = headers.get("x-rate-limit-remaining")
    if remaining is None:
        return None
    try:
        return RateLimit(
            limit=int(float(headers.get("x-rate-limit-limit", remaining))),
            remaining=int(float(remaining)),
            reset=math.ceil(float(headers.get("x-rate-limit-reset", 0))),
        )
    except (ValueError, OverflowError):
        return None


@runtime_checkable
class RateLimiter(Protocol):
    """What the client calls around every request to stay inside the rate budget."""

    async def acquire(self) -> None:
        """Wait, if need be, until one more request fits in the budget."""

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        """Record the budget a response reported."""


class RatePacer:
    """The in-process limiter: one budget estimate shared by every task of a client.

    * ``acquire`` spends one unit of the estimate; once only ``reserve`` units
      are left it holds callers until the window's reset.  Before any response
      has reported a budget, requests go freely (and are counted against the
      first report, which may not include them yet).
    * ``observe`` corrects the estimate with what the server reports: the lower
      of the two within one window, the server's own for a newer window.
    * When the reported window ends, the next one is assumed to be as large as
      the last (minus the reserve) until a response reports it, for at most
      ``assume_for`` seconds at a time.  So a crowd of tasks released by the
      reset neither stampedes into the new window nor waits for nothing.
    * ``max_wait``: a hold longer than this is not waited out; ``acquire``
      raises :class:`RateLimitError` with ``retry_after`` set, without spending
      a request (pass ``Config.max_retry_wait`` to match the retry policy).
      None waits as long as the window needs.
    """

    __slots__ = (
        "_assumed",
        "_blind",
        "_clock",
        "_limit",
        "_news",
        "_remaining",
        "_reset",
        "assume_for",
        "max_wait",
        "refusals",
        "reserve",
        "waited",
        "waits",
    )

    def __init__(
        self,
        reserve: int = 2,
        *,
        max_wait: float | None = None,
        assume_for: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.reserve = reserve
        self.max_wait = max_wait
        self.assume_for = assume_for
        self._clock = clock
        self._limit = 0
        self._remaining: int | None = None
        self._reset = 0.0
        self._assumed = False
        self._blind = 0
        self._news: anyio.Event | None = None
        #: Requests held until a window reset.
        self.waits = 0
        #: Seconds spent holding requests.
        self.waited = 0.0
        #: Requests refused at once because the reset was more than ``max_wait`` away.
        self.refusals = 0

    @property
    def remaining(self) -> int | None:
        """The estimate of requests left in the window (None before any report)."""
        return self._remaining

    @property
    def reset(self) -> float:
        """Epoch seconds at which the current window ends (0 before any report)."""
        return self._reset

    async def acquire(self) -> None:
        held = False
        while True:
            if self._remaining is None:
                self._blind += 1
                return
            now = self._clock()
            if now >= self._reset:
                # The window is over: assume the next is as large, until told otherwise
                # (and let at least one request through, or nothing would ever tell us).
                self._remaining = max(self._limit, self.reserve + 1)
                self._reset = now + self.assume_for
                self._assumed = True
            if self._remaining > self.reserve:
                self._remaining -= 1
                return
            delay = self._reset - now
            if self.max_wait is not None and delay > self.max_wait:
                self.refusals += 1
                raise RateLimitError(
                    f"The Procore rate limit is spent until its window resets in {delay:.0f}s, "
                    f"longer than max_retry_wait ({self.max_wait:g}s); retry later.",
                    retry_after=delay,
                )
            if not held:
                held = True
                self.waits += 1
            await self._hold(delay)

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        if reset <= self._clock():
            return  # a window that has already ended says nothing about the next one
        if self._remaining is None:
            # The first report: the other requests sent blind may not be counted in it yet.
            self._remaining = max(0, remaining - max(0, self._blind - 1))
            self._blind = 0
        elif reset > self._reset and not self._assumed:
            self._remaining = remaining
        elif reset == self._reset or self._assumed:
            # Same window (or the first report of the assumed one): keep the lower count,
            # since requests still in flight are in ours but not yet in the server's.
            self._remaining = min(self._remaining, remaining)
        else:
            return  # an older window than the one already known
        self._limit, self._reset, self._assumed = limit, reset, False
        news, self._news = self._news, None
        if news is not None:
            news.set()

    async def _hold(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when a response reports the budget."""
        if self._news is None:
            self._news = anyio.Event()
        news = self._news
        started = anyio.current_time()
        with anyio.move_on_after(seconds):
            await news.wait()
        self.waited += anyio.current_time() - started
