"""RedisRateLimiter against a real redis-server: one rate budget shared by processes."""

# Child processes are started from the test body; blocking there is harmless.

from __future__ import annotations

import importlib.util
import logging
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from procore_async import AsyncClient, Config, RateLimitError, Token
from procore_async._ratelimit_redis import RedisRateLimiter
from procore_async.stores import MemoryStore


def _load_store_servers() -> Any:
    """The redis-server fixture lives with the store tests; reuse it rather than copy it."""
    path = Path(__file__).parent / "stores" / "conftest.py"
    spec = importlib.util.spec_from_file_location("procore_test_store_servers", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


redis_server = _load_store_servers().redis_server


@pytest.fixture
async def redis(redis_server: Any) -> AsyncIterator[Any]:
    from redis.asyncio import Redis

    client = Redis(host=redis_server.host, port=redis_server.port)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


async def test_goes_freely_before_any_report(redis: Any) -> None:
    limiter = RedisRateLimiter(redis=redis, key="app")
    for _ in range(10):
        await limiter.acquire()
    assert await limiter.remaining() is None
    assert await redis.exists("procore-ratelimit-app") == 0


async def test_spends_the_shared_budget_down_to_the_reserve(redis: Any) -> None:
    limiter = RedisRateLimiter(redis=redis, key="app", reserve=2, max_wait=1)
    await limiter.observe(100, 5, time.time() + 60)
    for _ in range(3):
        await limiter.acquire()
    assert await limiter.remaining() == 2
    with pytest.raises(RateLimitError) as info:
        await limiter.acquire()  # the reset is a minute away: refused, not waited
    assert info.value.retry_after is not None
    assert 55 < info.value.retry_after <= 60
    assert (limiter.refusals, limiter.waits) == (1, 0)
    # Another process's limiter sees the same budget.
    assert await RedisRateLimiter(redis=redis, key="app").remaining() == 2
    assert await RedisRateLimiter(redis=redis, key="other").remaining() is None


async def test_observe_keeps_the_newest_window_and_the_lower_count(redis: Any) -> None:
    limiter = RedisRateLimiter(redis=redis, key="app")
    now = time.time()
    await limiter.observe(100, 50, now + 10)
    await limiter.observe(100, 70, now + 10)  # same window, a slower response
    assert await limiter.remaining() == 50
    await limiter.observe(100, 90, now + 5)  # an older window
    assert await limiter.remaining() == 50
    await limiter.observe(100, 99, now + 20)  # a newer window
    assert await limiter.remaining() == 99
    await limiter.observe(100, 1, now - 1)  # a window that has already ended
    assert await limiter.remaining() == 99
    ttl = await redis.ttl("procore-ratelimit-app")
    assert 3600 < ttl <= 3621


async def test_holds_until_the_reset_then_assumes_the_next_window(redis: Any) -> None:
    limiter = RedisRateLimiter(redis=redis, key="app", reserve=2, poll_interval=0.1)
    await limiter.observe(10, 2, time.time() + 0.6)
    started = time.monotonic()
    with anyio.fail_after(10):
        await limiter.acquire()
    assert time.monotonic() - started >= 0.3
    assert limiter.waits == 1
    assert limiter.waited >= 0.3
    # The next window is assumed as large as the last until a response says otherwise.
    assert await limiter.remaining() == 9


@pytest.mark.slow
async def test_processes_never_overspend_the_last_units(redis: Any, redis_server: Any) -> None:
    limiter = RedisRateLimiter(redis=redis, key="fleet", reserve=2)
    await limiter.observe(1000, 52, time.time() + 120)  # 50 units above the reserve
    code = textwrap.dedent(
        f"""
        import anyio, sys
        from redis.asyncio import Redis
        from procore_async import RateLimitError
        from procore_async._ratelimit_redis import RedisRateLimiter

        async def main():
            redis = Redis(host="127.0.0.1", port={redis_server.port})
            limiter = RedisRateLimiter(redis=redis, key="fleet", reserve=2, max_wait=0)
            sys.stdin.readline()
            spent = 0

            async def spend():
                nonlocal spent
                try:
                    await limiter.acquire()
                    spent += 1
                except RateLimitError:
                    pass

            async with anyio.create_task_group() as tg:
                for _ in range(30):
                    tg.start_soon(spend)
            await redis.aclose()
            print(spent)

        anyio.run(main)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    try:
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        with anyio.fail_after(60):
            outputs = [await anyio.to_thread.run_sync(proc.communicate) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [proc.returncode for proc in procs] == [0] * 4
    assert sum(int(stdout) for stdout, _ in outputs) == 50
    assert await limiter.remaining() == 2


async def test_unreachable_redis_lets_requests_through_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    limiter = RedisRateLimiter(redis=client, key="app")
    commands = 0
    original = client.execute_command

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal commands
        commands += 1
        return await original(*args, **kwargs)

    client.execute_command = counting  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.INFO, "procore_async"), anyio.fail_after(60):
            for _ in range(5):
                await limiter.acquire()
                await limiter.observe(100, 0, time.time() + 60)
    finally:
        await client.aclose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis unreachable" in warnings[0]
    assert commands == 1  # after the first failure, Redis is left alone for a while


def test_repr_and_settings() -> None:
    class FakeRedis:
        def register_script(self, script: str) -> object:
            return script

    limiter = RedisRateLimiter(redis=FakeRedis(), key="app", reserve=3)  # type: ignore[arg-type]
    assert repr(limiter) == "RedisRateLimiter(key='procore-ratelimit-app', reserve=3)"
    with pytest.raises(ValueError, match="reserve"):
        RedisRateLimiter(redis=FakeRedis(), key="app", reserve=-1)  # type: ignore[arg-type]


async def test_paces_an_async_client(redis: Any) -> None:
    reported = {"remaining": 40}
    sent = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        headers = {
            "X-Rate-Limit-Limit": "100",
            "X-Rate-Limit-Remaining": str(reported["remaining"]),
            "X-Rate-Limit-Reset": str(int(time.time()) + 60),
        }
        return httpx.Response(200, json={"id": 1}, headers=headers)

    store = MemoryStore()
    await store.save(Token("token", "refresh", time.time() + 3600))
    limiter = RedisRateLimiter(redis=redis, key="app", reserve=2, max_wait=1)
    async with AsyncClient(
        "id",
        "secret",
        store,
        config=Config(max_retries=0),
        transport=httpx.MockTransport(handler),
        rate_limiter=limiter,
    ) as client:
        await client.get("me")
        assert await limiter.remaining() == 40
        reported["remaining"] = 2
        await client.get("me")
        with pytest.raises(RateLimitError):
            await client.get("me")  # held by the shared budget, never sent
    assert sent == 2
