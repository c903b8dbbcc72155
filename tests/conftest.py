"""Fixtures shared by every test directory: a token store with a good token, and clients.

Kept small on purpose; a directory with needs of its own has its own conftest.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from procore_async import AsyncClient, Config, Token
from procore_async.stores import MemoryStore, TokenStore

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
#: The default host of ``Config()``, so respx routes read like real Procore URLs.
API = "https://api.procore.com"
LOGIN = "https://login.procore.com"


@pytest.fixture
async def token_store() -> MemoryStore:
    """A MemoryStore holding the access token ``"token"``, good for another hour."""
    store = MemoryStore()
    await store.save(Token("token", "refresh", int(time.time()) + 3600))
    return store


MakeClient = Callable[..., AsyncClient]


@pytest.fixture
async def make_client(token_store: MemoryStore) -> AsyncIterator[MakeClient]:
    """Build ``AsyncClient``s that are closed after the test.

    ``make_client(store=None, config=None, **client_kwargs)``: the store defaults to
    ``token_store``, the config to ``Config(max_retries=0)`` so an error status is
    raised at once instead of being retried with real sleeps.
    """
    clients: list[AsyncClient] = []

    def factory(
        store: TokenStore | None = None, config: Config | None = None, **kwargs: Any
    ) -> AsyncClient:
        client = AsyncClient(
            CLIENT_ID,
            CLIENT_SECRET,
            store if store is not None else token_store,
            config=config if config is not None else Config(max_retries=0),
            **kwargs,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
