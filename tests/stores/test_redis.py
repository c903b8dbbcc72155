"""RedisStore against a real redis-server: the gem's store tests, interop, the lock."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest

from procore_async import TokenStoreError
from procore_async.auth import Token
from procore_async.stores import LockingTokenStore, RedisStore


async def test_store_overwrite_delete(redis_client: Any) -> None:
    store = RedisStore(redis=redis_client, key="key")
    assert await store.fetch() is None
    await store.save(Token("token", "refresh", 55))
    assert await store.fetch() == Token("token", "refresh", 55)
    await store.save(Token("new token", "new refresh", 56))
    assert await store.fetch() == Token("new token", "new refresh", 56)
    await store.delete()
    assert await store.fetch() is None
    assert await redis_client.exists("procore-redis-key") == 0


async def test_writes_the_gems_key_and_json_with_no_ttl(redis_client: Any) -> None:
    await RedisStore(redis=redis_client, key=42).save(Token("a", "r", 1_700_000_000))
    raw = await redis_client.get("procore-redis-42")
    assert json.loads(raw) == {"access_token": "a", "refresh_token": "r", "expires_at": 1700000000}
    assert list(json.loads(raw)) == ["access_token", "refresh_token", "expires_at"]
    assert await redis_client.ttl("procore-redis-42") == -1


@pytest.mark.parametrize(
    "expires_at", [1_700_000_000, '"2023-11-14T22:13:20.000Z"', '"2023-11-14T22:13:20Z"']
)
async def test_reads_what_the_gem_wrote(redis_client: Any, expires_at: object) -> None:
    # Ruby: redis.set("procore-redis-#{key}", token.to_json), with an Integer or a Time.
    await redis_client.set(
        "procore-redis-key",
        f'{{"access_token":"a","refresh_token":"r","expires_at":{expires_at}}}',
    )
    assert await RedisStore(redis=redis_client, key="key").fetch() == Token("a", "r", 1_700_000_000)


async def test_works_with_a_decoding_client(redis_server: Any) -> None:
    from redis.asyncio import Redis

    client = Redis(host=redis_server.host, port=redis_server.port, decode_responses=True)
    try:
        store = RedisStore(redis=client, key="text")
        await store.save(Token("a", "r", 5))
        assert await store.fetch() == Token("a", "r", 5)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "value", [b"#<Procore::Auth::Token:0x000055d5>", b'{"access_token": 7}', b"[1]", b"\xff"]
)
async def test_corrupt_value_is_a_clear_error(redis_client: Any, value: bytes) -> None:
    await redis_client.set("procore-redis-key", value)
    with pytest.raises(TokenStoreError, match="Redis key 'procore-redis-key'"):
        await RedisStore(redis=redis_client, key="key").fetch()


async def test_fetch_is_one_get_and_nothing_else(redis_client: Any) -> None:
    store = RedisStore(redis=redis_client, key="key")
    await store.save(Token("a", "r", 5))
    await redis_client.config_resetstat()
    await store.fetch()
    stats = await redis_client.info("commandstats")
    # Besides the GET, only the reset itself and this INFO are counted.
    bookkeeping = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_config"}
    calls = {name: s["calls"] for name, s in stats.items() if name not in bookkeeping}
    assert calls == {"cmdstat_get": 1}


async def test_lock_is_exclusive_across_clients(redis_client: Any, redis_server: Any) -> None:
    from redis.asyncio import Redis

    other_client = Redis(host=redis_server.host, port=redis_server.port)
    first = RedisStore(redis=redis_client, key="key")
    second = RedisStore(redis=other_client, key="key")
    assert isinstance(first, LockingTokenStore)
    inside = 0
    most = 0

    async def critical(store: RedisStore) -> None:
        nonlocal inside, most
        async with store.lock():
            inside += 1
            most = max(most, inside)
            assert await redis_client.exists("procore-redis-key:lock") == 1
            await anyio.sleep(0.05)
            inside -= 1

    try:
        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for i in range(6):
                    tg.start_soon(critical, (first, second)[i % 2])
    finally:
        await other_client.aclose()
    assert most == 1
    assert await redis_client.exists("procore-redis-key:lock") == 0


async def test_lock_gives_up_after_the_blocking_timeout(redis_client: Any) -> None:
    holder = RedisStore(redis=redis_client, key="key")
    waiter = RedisStore(redis=redis_client, key="key", lock_blocking_timeout=0.2)
    with anyio.fail_after(10):
        async with holder.lock():
            with pytest.raises(TokenStoreError, match=r"procore-redis-key:lock.*0\.2s"):
                async with waiter.lock():
                    pytest.fail("the lock was taken twice")


async def test_expired_lock_is_not_released_from_under_its_new_holder(
    redis_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    slow = RedisStore(redis=redis_client, key="key", lock_timeout=0.2)
    fast = RedisStore(redis=redis_client, key="key", lock_timeout=30)
    with anyio.fail_after(10), caplog.at_level(logging.WARNING, "procore_async"):
        async with slow.lock():
            await anyio.sleep(0.4)  # outlives its timeout; the lock expires
            async with fast.lock():
                pass
            await redis_client.set("procore-redis-key:lock", "someone else")
        assert await redis_client.get("procore-redis-key:lock") == b"someone else"
    assert "expired before it was released" in caplog.text


def test_repr_names_the_key_never_the_token() -> None:
    store = RedisStore(redis=object(), key=42)  # type: ignore[arg-type]
    assert repr(store) == "RedisStore(key='procore-redis-42')"


def test_rejects_nonsense_lock_settings() -> None:
    with pytest.raises(ValueError, match="positive"):
        RedisStore(redis=object(), key=1, lock_timeout=0)  # type: ignore[arg-type]
