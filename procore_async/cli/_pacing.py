"""A measuring wrapper around the client's rate pacer, for the CLI's live views.

Both ``demo`` and ``sync`` show a rate-limit pause as it happens (how many requests
are held, how long until the window resets), so a bar that stands still is explained.
"""

from __future__ import annotations

import time

from .._ratelimit import RatePacer

__all__ = ["PacingMeter"]


class PacingMeter:
    """Wraps the client's :class:`RatePacer` to measure how long requests were held.

    Implements the ``RateLimiter`` protocol, so the client uses it like the pacer
    itself; ``waiting`` is how many requests are held right now (the live view shows
    it while the progress bar stands still).
    """

    def __init__(self, inner: RatePacer) -> None:
        self.inner = inner
        self.held = 0
        self.waiting = 0
        #: Wall-clock seconds during which at least one request was held.
        self.paused = 0.0
        self._since: float | None = None

    def held_for(self) -> float | None:
        """Seconds the current hold has lasted, None when nothing is held (ignoring blips)."""
        if self._since is None:
            return None
        held = time.monotonic() - self._since
        return held if held >= 0.5 else None

    def seconds_left(self) -> float | None:
        """Seconds until the rate window resets while requests are held, else None."""
        if self.held_for() is None:
            return None
        reset = getattr(self.inner, "reset", 0.0)
        return max(0.0, reset - time.time()) if reset else None

    def pause_text(self) -> str:
        """The live status while paced: how many requests wait, and for how much longer."""
        left = self.seconds_left()
        if left is None:
            return ""
        waiting = f"{self.waiting} request{'s' if self.waiting != 1 else ''}"
        return f"⏸ rate limit reached: {waiting} held, window resets in {left:.0f} s"

    async def acquire(self) -> None:
        started = time.monotonic()
        if self.waiting == 0:
            self._since = started
        self.waiting += 1
        try:
            await self.inner.acquire()
        finally:
            self.waiting -= 1
            if self.waiting == 0 and self._since is not None:
                held = time.monotonic() - self._since
                self.paused += held if held > 0.01 else 0.0  # not the instant pass-throughs
                self._since = None
        waited = time.monotonic() - started
        if waited > 0.01:
            self.held += 1

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        await self.inner.observe(limit, remaining, reset)
