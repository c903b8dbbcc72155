"""Dedupe stores: memory (TTL, bounded) and Redis (a real redis-server, SET NX EX)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from procore_async.webhooks import DedupeStore, MemoryDedupeStore, RedisDedupeStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_claims_once_until_the_ttl_passes() -> None:
    clock = Clock()
    store = MemoryDedupeStore(ttl=60, clock=clock)
    assert isinstance(store, DedupeStore)
    assert await store.claim("a")
    assert not await store.claim("a")
    clock.now += 59
    assert not await store.claim("a")
    clock.now += 2
    assert await store.claim("a")


async def test_memory_stays_bounded_dropping_the_oldest() -> None:
    store = MemoryDedupeStore(max_size=3)
    for name in "abcd":
        assert await store.claim(name)
    assert len(store) == 3
    assert await store.claim("a")  # the oldest was forgotten
    assert not await store.claim("d")


async def test_memory_release_forgets() -> None:
    store = MemoryDedupeStore()
    assert await store.claim("x")
    await store.release("x")
    assert await store.claim("x")


def test_memory_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ttl"):
        MemoryDedupeStore(ttl=0)
    with pytest.raises(ValueError, match="max_size"):
        MemoryDedupeStore(max_size=0)


async def test_redis_claims_atomically_across_racers(redis_client: Any) -> None:
    stores = [RedisDedupeStore(redis_client, prefix="t1-") for _ in range(3)]
    wins: list[bool] = []

    async def race(store: RedisDedupeStore) -> None:
        wins.append(await store.claim("01JMYXMZ"))

    async with anyio.create_task_group() as tg:
        for store in stores * 5:
            tg.start_soon(race, store)
    assert wins.count(True) == 1 and len(wins) == 15


async def test_redis_keys_carry_the_ttl_and_release_deletes(redis_client: Any) -> None:
    store = RedisDedupeStore(redis_client, ttl=3600, prefix="t2-")
    assert await store.claim("42")
    ttl = await redis_client.ttl("t2-42")
    assert 3590 <= ttl <= 3600
    assert not await store.claim("42")
    await store.release("42")
    assert await redis_client.exists("t2-42") == 0
    assert await store.claim("42")


async def test_redis_forgets_after_the_ttl(redis_client: Any) -> None:
    store = RedisDedupeStore(redis_client, ttl=1, prefix="t3-")
    assert await store.claim("e")
    with anyio.fail_after(10):
        while await redis_client.exists("t3-e"):
            await anyio.sleep(0.1)
    assert await store.claim("e")


def test_redis_ttl_is_checked(redis_client: Any) -> None:
    with pytest.raises(ValueError, match="ttl"):
        RedisDedupeStore(redis_client, ttl=0.5)
