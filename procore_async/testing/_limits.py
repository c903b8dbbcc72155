"""Procore's two rate-limit windows (hourly and 10-second spike) and their headers.

Procore counts every request, failed ones included, and reports one window in
``X-Rate-Limit-*``: the spike window, unless the hourly one is nearly spent
(procore-api.md §5).  The hourly window is fixed; the spike window rolls (``rolling=True``,
what a strict fake uses): it holds the last 10 seconds of accepted requests, so a burst
at the end of one fixed window and the start of the next is refused, and its reset is
when the oldest of them leaves the window.  ``rolling=False`` keeps fixed windows.
"Nearly spent" is read here as "fewer requests left this hour than one spike window
allows", the point where the hourly limit becomes the one to hit first.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["HOUR", "RATE_LIMIT_TEXT", "SPIKE", "RateLimiter", "Verdict"]

HOUR = 3600.0
SPIKE = 10.0

#: Procore's 429 body: plain text, not JSON.
RATE_LIMIT_TEXT = (
    "You have surpassed the max number of requests for an hour. "
    "Please wait until your limit resets."
)


@dataclass(slots=True)
class _Window:
    limit: int
    length: float
    start: float = -math.inf
    count: int = 0

    def roll(self, now: float) -> None:
        if now >= self.start + self.length:
            self.start, self.count = now, 0

    def hit(self, now: float) -> bool:
        """Count one request; False when it is over the limit (it still counts)."""
        self.roll(now)
        self.count += 1
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def reset(self) -> int:
        return math.ceil(self.start + self.length)


@dataclass(slots=True)
class _Rolling:
    """A sliding window: the times of the accepted requests of the last ``length`` s."""

    limit: int
    length: float
    hits: deque[float] = field(default_factory=deque)
    now: float = 0.0

    def hit(self, now: float) -> bool:
        """Count one request if there is room; a refused one does not take a slot."""
        self.now = now
        hits = self.hits
        while hits and hits[0] <= now - self.length:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    @property
    def remaining(self) -> int:
        return max(0, self.limit - len(self.hits))

    @property
    def reset(self) -> int:
        """When a slot frees: the oldest counted request leaves the window."""
        oldest = self.hits[0] if self.hits else self.now
        return math.ceil(oldest + self.length)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one request may proceed, and the headers every response carries."""

    allowed: bool
    headers: tuple[tuple[str, str], ...]
    retry_after: int = 0


class RateLimiter:
    """Per-bucket fixed windows; a bucket is a token's principal (user or app+company)."""

    def __init__(
        self,
        hourly: int | None,
        spike: int | None,
        clock: Callable[[], float],
        *,
        rolling: bool = False,
    ) -> None:
        for name, value in (("rate_limit", hourly), ("spike_limit", spike)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer or None")
        self._hourly = hourly
        self._spike = spike
        self._clock = clock
        self._rolling = rolling
        self._buckets: dict[str, tuple[_Window | None, _Window | _Rolling | None]] = {}

    @property
    def hourly(self) -> int | None:
        return self._hourly

    @property
    def enabled(self) -> bool:
        return self._hourly is not None or self._spike is not None

    def reset(self) -> None:
        """Forget every window, as if an hour had passed for everyone."""
        self._buckets.clear()

    def hit(self, bucket: str) -> Verdict:
        """Count one request in ``bucket``; a request over either limit is refused."""
        if not self.enabled:
            return Verdict(True, ())
        windows = self._buckets.get(bucket)
        if windows is None:
            spiky: _Window | _Rolling | None = None
            if self._spike is not None:
                spiky = (
                    _Rolling(self._spike, SPIKE) if self._rolling else _Window(self._spike, SPIKE)
                )
            windows = (_Window(self._hourly, HOUR) if self._hourly is not None else None, spiky)
            self._buckets[bucket] = windows
        now = self._clock()
        hourly, spike = windows
        over = [w for w in windows if w is not None and not w.hit(now)]
        if over:
            # Report the window that refused the request, hourly first: its wait is longer.
            window = over[0]
            return Verdict(False, _headers(window), max(1, math.ceil(window.reset - now)))
        reported: _Window | _Rolling | None = spike
        if spike is None or (hourly is not None and hourly.remaining <= spike.limit):
            reported = hourly
        assert reported is not None
        return Verdict(True, _headers(reported))


def _headers(window: _Window | _Rolling) -> tuple[tuple[str, str], ...]:
    return (
        ("X-Rate-Limit-Limit", str(window.limit)),
        ("X-Rate-Limit-Remaining", str(window.remaining)),
        ("X-Rate-Limit-Reset", str(window.reset)),
    )
