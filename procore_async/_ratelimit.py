"""Pacing from Procore's ``X-Rate-Limit-*`` headers.

Procore reports one window at a time (the 10-second spike window, or the hourly
one when it is nearly spent): ``Limit``, ``Remaining`` and ``Reset`` (epoch
seconds).  Rather than run into 429s and back off, the client holds new requests
once the remaining budget is down to a small reserve, until the window resets.
Every task using one client shares one :class:`RatePacer`; processes that share a
Procore app token can share one budget through ``RedisRateLimiter`` instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import anyio

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
    """The ``X-Rate-Limit-*`` headers as a :class:`RateLimit`, or None if absent or garbled."""
    remaining = headers.get("x-rate-limit-remaining")
    if remaining is None:
        return None
    try:
        return RateLimit(
            limit=int(float(headers.get("x-rate-limit-limit", remaining))),
            remaining=int(float(remaining)),
            reset=int(float(headers.get("x-rate-limit-reset", 0))),
        )
    except ValueError:
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

    ``acquire`` spends one unit of the estimate; once only ``reserve`` units are
    left it sleeps until the window's reset (the first sleeper's wake-up also
    covers the others).  ``observe`` replaces the estimate with what the server
    reports, keeping the newest window.
    """

    __slots__ = ("_remaining", "_reset", "reserve", "waits")

    def __init__(self, reserve: int = 2) -> None:
        self.reserve = reserve
        self._remaining: int | None = None
        self._reset = 0.0
        #: How many times a request was held until a window reset.
        self.waits = 0

    async def acquire(self) -> None:
        while self._remaining is not None and self._remaining <= self.reserve:
            delay = self._reset - time.time()
            if delay <= 0:
                self._remaining = None
                break
            self.waits += 1
            await anyio.sleep(delay)
        if self._remaining is not None:
            self._remaining -= 1

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        if reset > self._reset or self._remaining is None:
            self._reset, self._remaining = reset, remaining
        elif reset == self._reset:
            self._remaining = min(self._remaining, remaining)
