"""Where a receiver remembers the events it already took: in memory, or in Redis.

Procore may deliver one event more than once (a retry after a lost 2xx, a replay from
catch-up), and retries go on for up to 12 hours before the queue is discarded
(``plan_your_app/webhooks.md``).  So a store remembers an event id for longer than
that by default (24 hours), and ``claim`` is atomic: of two deliveries of one event
racing in two receivers of a fleet, exactly one gets ``True``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._lazy import require_extra

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_TTL", "DedupeStore", "MemoryDedupeStore", "RedisDedupeStore"]

#: Longer than Procore's 12 hours of retries, so a late retry is still recognised.
DEFAULT_TTL = 24 * 3600.0


@runtime_checkable
class DedupeStore(Protocol):
    """What a receiver needs to see each event once.

    ``claim(event_id)`` returns True the first time an id is claimed (within the
    TTL) and False afterwards; ``release(event_id)`` forgets a claim, so an event a
    receiver could not keep (it shut down before handling it) can come back.
    """

    async def claim(self, event_id: str) -> bool: ...

    async def release(self, event_id: str) -> None: ...


class MemoryDedupeStore:
    """Claims in this process, forgotten after ``ttl`` seconds or past ``max_size`` ids.

    The oldest claims go first when ``max_size`` is reached, so memory stays bounded
    however many events arrive.  For several receiver processes use
    :class:`RedisDedupeStore`.
    """

    __slots__ = ("_clock", "_seen", "max_size", "ttl")

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_size: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_size < 1:
            raise ValueError("ttl must be positive and max_size at least 1")
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    async def claim(self, event_id: str) -> bool:
        now = self._clock()
        seen = self._seen
        while seen:
            oldest, expires = next(iter(seen.items()))
            if expires > now and len(seen) < self.max_size:
                break
            del seen[oldest]
        until = seen.get(event_id)
        if until is not None and until > now:
            return False
        seen[event_id] = now + self.ttl
        seen.move_to_end(event_id)
        return True

    async def release(self, event_id: str) -> None:
        self._seen.pop(event_id, None)


class RedisDedupeStore:
    """Claims shared by every receiver that reaches one Redis: ``SET key 1 NX EX ttl``.

    One round trip per event, atomic in Redis, and the key expires by itself, so the
    set of remembered ids never grows without bound.  Keys are ``<prefix><event id>``.
    """

    __slots__ = ("_redis", "prefix", "ttl")

    def __init__(
        self, redis: Redis, *, ttl: float = DEFAULT_TTL, prefix: str = "procore-webhook-"
    ) -> None:
        require_extra("redis", "redis", "RedisDedupeStore")
        if ttl < 1:
            raise ValueError("ttl must be at least one second")
        self._redis = redis
        self.ttl = ttl
        self.prefix = prefix

    async def claim(self, event_id: str) -> bool:
        stored = await self._redis.set(self.prefix + event_id, b"1", nx=True, ex=int(self.ttl))
        return bool(stored)

    async def release(self, event_id: str) -> None:
        await self._redis.delete(self.prefix + event_id)
