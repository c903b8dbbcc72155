from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

import procore_async
from procore_async import Config, Token
from procore_async.stores import MemoryStore

API = "https://api.procore.com"
LOGIN = "https://login.procore.com"
TOKEN_URL = f"{LOGIN}/oauth/token"


def fresh(access: str = "token", refresh: str | None = "refresh", ttl: float = 3600) -> Token:
    return Token(access, refresh, time.time() + ttl)


def grant(
    access: str, refresh: str | None = "new-refresh", expires_in: int = 5400
) -> httpx.Response:
    payload: dict[str, object] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": expires_in,
        "created_at": int(time.time()),
    }
    if refresh is not None:
        payload["refresh_token"] = refresh
    return httpx.Response(200, json=payload)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(key="test")


@pytest.fixture
def config() -> Config:
    return Config(retry_backoff=0.01, max_retries=2)


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def client(
    store: MemoryStore, config: Config, mock: respx.MockRouter
) -> AsyncIterator[procore_async.AsyncClient]:
    async with procore_async.AsyncClient("id", "secret", store, config=config) as client:
        yield client
