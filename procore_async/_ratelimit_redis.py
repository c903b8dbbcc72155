"""One Procore rate budget shared by every process that reaches one Redis.

Procore counts requests per app token, not per process: four workers each pacing
themselves on their own estimate spend the budget four times over.  This limiter
keeps the estimate in a Redis hash (``procore-ratelimit-<key>``: ``limit``,
``remaining``, ``reset``) and changes it only inside Lua scripts, so a check and a
decrement are one atomic step and N processes never all spend the last unit.

It behaves like the in-process :class:`~procore_async.RatePacer` (same arguments,
same rules), with two differences: a held request re-checks the shared budget at
least every ``poll_interval`` seconds (news from another process cannot wake it),
and if Redis cannot be reached the limiter lets requests through (logging once,
trying Redis again every few seconds), since the retry policy still honours
Procore's 429s.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from ._errors import RateLimitError
from ._lazy import require_extra

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisRateLimiter"]

_log = logging.getLogger("procore_async")

# Seconds to go unpaced after Redis fails, before trying it again.
_OUTAGE_PAUSE = 5.0

# ARGV: now, reserve, assume_for.  Returns {1} when a request may go (one unit spent),
# {0, seconds until the window resets} when it must wait.
_ACQUIRE = """
local state = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset')
if not state[2] then return {1} end
local now, reserve = tonumber(ARGV[1]), tonumber(ARGV[2])
local remaining, reset = tonumber(state[2]), tonumber(state[3])
if now >= reset then
  remaining, reset = tonumber(state[1]), now + tonumber(ARGV[3])
  redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset', ARGV[1] + ARGV[3], 'assumed', 1)
end
if remaining > reserve then
  redis.call('HINCRBY', KEYS[1], 'remaining', -1)
  return {1}
end
return {0, tostring(reset - now)}
"""

# ARGV: now, limit, remaining, reset, ttl.  Keeps the newest window; within one
# window (or the first report of an assumed one) keeps the lower count.
_OBSERVE = """
local now, remaining, reset = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
if reset <= now then return 0 end
local state = redis.call('HMGET', KEYS[1], 'remaining', 'reset', 'assumed')
local known, known_reset, assumed = state[1], tonumber(state[2] or 0), state[3] == '1'
if known and not (reset > known_reset and not assumed) then
  if reset == known_reset or assumed then
    remaining = math.min(tonumber(known), remaining)
  else
    return 0
  end
end
redis.call('HSET', KEYS[1], 'limit', ARGV[2], 'remaining', remaining, 'reset', ARGV[4],
           'assumed', 0)
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisRateLimiter:
    """A :class:`~procore_async.RateLimiter` whose budget lives in Redis, shared by processes.

    Pass the same ``key`` (the Procore app, or the token's owner) to every process
    that spends one budget: ``AsyncClient(..., rate_limiter=RedisRateLimiter(redis=r,
    key="my-app"))``.

    * ``acquire`` spends one unit of the shared estimate; once only ``reserve``
      units are left it holds callers until the window's reset.  Before any response
      has reported a budget, requests go freely.
    * ``observe`` corrects the shared estimate with what a response reports: the
      lower of the two within one window, the server's own for a newer window.
    * After the reported window ends, the next is assumed as large as the last for
      ``assume_for`` seconds at a time, until a response reports it.
    * ``max_wait``: a hold longer than this raises :class:`RateLimitError` with
      ``retry_after`` set, without spending a request; None waits it out.
    """

    __slots__ = (
        "_acquire",
        "_clock",
        "_observe",
        "_redis",
        "_unreachable",
        "assume_for",
        "key",
        "max_wait",
        "poll_interval",
        "refusals",
        "reserve",
        "waited",
        "waits",
    )

    def __init__(
        self,
        redis: Redis,
        key: str,
        reserve: int = 2,
        *,
        max_wait: float | None = None,
        assume_for: float = 1.0,
        poll_interval: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        require_extra("redis", "redis", "RedisRateLimiter")
        if reserve < 0 or assume_for <= 0 or poll_interval <= 0:
            raise ValueError("reserve must be >= 0; assume_for and poll_interval positive")
        self._redis = redis
        self.key = key
        self.reserve = reserve
        self.max_wait = max_wait
        self.assume_for = assume_for
        self.poll_interval = poll_interval
        self._clock = clock
        self._acquire = redis.register_script(_ACQUIRE)
        self._observe = redis.register_script(_OBSERVE)
        # While Redis is down: the (anyio clock) time before which it is not tried again.
        self._unreachable: float | None = None
        #: Requests held until a window reset.
        self.waits = 0
        #: Seconds spent holding requests.
        self.waited = 0.0
        #: Requests refused at once because the reset was more than ``max_wait`` away.
        self.refusals = 0

    @property
    def redis_key(self) -> str:
        """The Redis hash holding the shared budget."""
        return f"procore-ratelimit-{self.key}"

    async def acquire(self) -> None:
        held = False
        while True:
            reply = await self._run(self._acquire, self._clock(), self.reserve, self.assume_for)
            if reply is None or int(reply[0]) == 1:
                return
            delay = float(reply[1])
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
            pause = min(delay, self.poll_interval)
            await anyio.sleep(pause)
            self.waited += pause

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        now = self._clock()
        # Keep the hash an hour past its window, so an idle fleet leaves no litter.
        ttl = max(1, math.ceil(reset - now)) + 3600
        await self._run(self._observe, now, limit, remaining, reset, ttl)

    async def remaining(self) -> int | None:
        """The shared estimate of requests left in the window (None before any report)."""
        value = await self._redis.hget(self.redis_key, "remaining")
        return None if value is None else int(value)

    async def _run(self, script: Any, *args: float) -> Any:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        if self._unreachable is not None and anyio.current_time() < self._unreachable:
            return None  # still in the outage pause: no request waits on a dead Redis
        try:
            reply = await script(keys=[self.redis_key], args=[repr(a) for a in args])
        except (RedisConnectionError, RedisTimeoutError) as exc:
            if self._unreachable is None:
                _log.warning(
                    "rate limiter %r: Redis unreachable (%s); not pacing until it is back",
                    self.redis_key,
                    type(exc).__name__,
                )
            self._unreachable = anyio.current_time() + _OUTAGE_PAUSE
            return None
        if self._unreachable is not None:
            self._unreachable = None
            _log.info("rate limiter %r: Redis reachable again", self.redis_key)
        return reply

    def __repr__(self) -> str:
        return f"RedisRateLimiter(key={self.redis_key!r}, reserve={self.reserve})"
