"""Child process for the cross-process refresh test.

``python _refresh_worker.py KIND STORE_PORT API_BASE REQUESTS``: builds an
``AsyncClient`` on a shared RedisStore or MemcachedStore (KIND), prints ``ready``,
waits for a line on stdin (so all processes start together), then makes REQUESTS
concurrent ``GET me`` calls and prints one JSON line: how many succeeded, and the
token generations the server saw.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio

from procore_async import AsyncClient, Config, Error
from procore_async.stores import TokenStore


async def open_store(kind: str, port: int) -> tuple[TokenStore, Any]:
    if kind == "redis":
        from redis.asyncio import Redis

        from procore_async.stores import RedisStore

        redis = Redis(host="127.0.0.1", port=port)
        return RedisStore(redis=redis, key="shared"), redis.aclose
    import aiomcache

    from procore_async.stores import MemcachedStore

    client = aiomcache.Client("127.0.0.1", port, pool_size=4)
    return MemcachedStore(client=client, key="shared"), client.close


async def main(kind: str, port: int, api_base: str, requests: int) -> None:
    store, close = await open_store(kind, port)
    config = Config(host=api_base, login_host=api_base, retry_backoff=0.05)
    generations: list[int] = []
    errors: list[str] = []
    try:
        async with AsyncClient("id", "secret", store, config=config) as client:
            print("ready", flush=True)
            await anyio.to_thread.run_sync(sys.stdin.readline)

            async def call() -> None:
                try:
                    response = await client.get("me")
                    generations.append(response.body["generation"])
                except Error as exc:
                    errors.append(repr(exc))

            async with anyio.create_task_group() as tg:
                for _ in range(requests):
                    tg.start_soon(call)
    finally:
        await close()
    print(json.dumps({"generations": generations, "errors": errors}), flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
