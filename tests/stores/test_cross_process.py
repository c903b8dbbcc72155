"""The headline test: many processes sharing one expired token refresh it exactly once.

A small OAuth + API server (Starlette under uvicorn, on a free loopback port)
behaves like Procore where it matters: refresh tokens are single use, and the API
accepts only the newest access token.  Four OS processes, each with 50 concurrent
requests, share one RedisStore (or MemcachedStore) holding an expired token.
"""

from __future__ import annotations

# Child processes are started and read from the test body; blocking there is harmless.
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from procore_async.auth import Token
from procore_async.stores import MemcachedStore, RedisStore

WORKER = Path(__file__).with_name("_refresh_worker.py")
PROCESSES, REQUESTS = 4, 50

pytestmark = pytest.mark.slow


class TokenServer:
    """Counts grants and API calls; generation N means access-N / refresh-N are current."""

    def __init__(self) -> None:
        self.generation = 0
        self.calls: Counter[str] = Counter()

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            form = dict(parse_qsl((await request.body()).decode()))
            if form.get("grant_type") != "refresh_token" or form.get("client_secret") != "secret":
                self.calls["bad_grant"] += 1
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            if form.get("refresh_token") != f"refresh-{self.generation}":
                self.calls["invalid_grant"] += 1  # a spent (single-use) refresh token
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.generation += 1
            self.calls["refresh"] += 1
            await anyio.sleep(0.2)  # a slow token endpoint widens any race
            return JSONResponse(
                {
                    "access_token": f"access-{self.generation}",
                    "refresh_token": f"refresh-{self.generation}",
                    "token_type": "bearer",
                    "expires_in": 7200,
                }
            )

        async def me(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer access-{self.generation}":
                self.calls["unauthorized"] += 1
                return JSONResponse({"errors": "Unauthorized"}, status_code=401)
            self.calls["me"] += 1
            return JSONResponse({"generation": self.generation})

        return Starlette(
            routes=[
                Route("/oauth/token", token, methods=["POST"]),
                Route("/rest/v1.0/me", me),
            ]
        )


@pytest.fixture
def token_server() -> Iterator[tuple[TokenServer, str]]:
    state = TokenServer()
    config = uvicorn.Config(
        state.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the token server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield state, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def expired_token() -> Token:
    return Token("access-0", "refresh-0", int(time.time()) - 10)


@pytest.mark.parametrize("kind", ["redis", "memcached"])
async def test_processes_sharing_an_expired_token_refresh_it_once(
    kind: str, request: pytest.FixtureRequest, token_server: tuple[TokenServer, str]
) -> None:
    state, base = token_server
    server = request.getfixturevalue(f"{kind}_server")
    store, close = await open_store(kind, server.port)
    try:
        await run_processes(kind, server.port, base, store)
    finally:
        await close()
    assert state.calls["refresh"] == 1
    assert state.calls["invalid_grant"] == 0
    assert state.calls["me"] == PROCESSES * REQUESTS


async def open_store(kind: str, port: int) -> tuple[RedisStore | MemcachedStore, Any]:
    if kind == "redis":
        from redis.asyncio import Redis

        redis = Redis(host="127.0.0.1", port=port)
        await redis.flushdb()
        return RedisStore(redis=redis, key="shared"), redis.aclose
    import aiomcache

    client = aiomcache.Client("127.0.0.1", port)
    await client.flush_all()
    return MemcachedStore(client=client, key="shared"), client.close


async def run_processes(
    kind: str, port: int, base: str, store: RedisStore | MemcachedStore
) -> None:
    await store.save(expired_token())

    cmd = [sys.executable, str(WORKER), kind, str(port), base, str(REQUESTS)]
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    try:
        with anyio.fail_after(60):
            for proc in procs:  # every process is up, its client built
                assert proc.stdout is not None
                assert await anyio.to_thread.run_sync(proc.stdout.readline) == "ready\n"
            for proc in procs:  # then all of them go at once
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            outputs = [await anyio.to_thread.run_sync(proc.communicate) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [proc.returncode for proc in procs] == [0] * PROCESSES
    results = [json.loads(stdout) for stdout, _ in outputs]
    assert [r["errors"] for r in results] == [[]] * PROCESSES
    assert [r["generations"] for r in results] == [[1] * REQUESTS] * PROCESSES
    saved = await store.fetch()
    assert saved is not None
    assert (saved.access_token, saved.refresh_token, saved.expired) == (
        "access-1",
        "refresh-1",
        False,
    )
