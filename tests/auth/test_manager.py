"""The token manager under concurrency: single flight, replay, compare-and-invalidate."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

import procore_async
from procore_async import AuthorizationError, Config, MissingTokenError, OAuthError, Token
from procore_async.stores import MemoryStore

from .conftest import API, TOKEN_URL, fresh, grant

ME = f"{API}/rest/v1.0/me"


def ok_for(*tokens: str):
    """An API handler that accepts only the given access tokens."""

    def handler(request: httpx.Request) -> httpx.Response:
        bearer = request.headers["authorization"].removeprefix("Bearer ")
        return (
            httpx.Response(200, json={"token": bearer}) if bearer in tokens else httpx.Response(401)
        )

    return handler


def slow_grant(access: str, delay: float):
    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(delay)
        return grant(access)

    return handler


@pytest.mark.parametrize("delay", [0.0, 0.3])
async def test_hundred_concurrent_requests_on_expired_token_make_one_token_call(
    client, store, mock, delay
) -> None:
    await store.save(fresh("expired", "refresh", ttl=-10))
    token_route = mock.post(TOKEN_URL).mock(side_effect=slow_grant("new", delay))
    api = mock.get(ME).mock(side_effect=ok_for("new"))
    results: list[str] = []

    async def one() -> None:
        results.append((await client.get("me")).body["token"])

    async with anyio.create_task_group() as tg:
        for _ in range(100):
            tg.start_soon(one)
    assert token_route.call_count == 1
    assert api.call_count == 100
    assert results == ["new"] * 100
    saved = await store.fetch()
    assert (
        saved is not None and saved.access_token == "new" and saved.refresh_token == "new-refresh"
    )


async def test_token_due_within_leeway_is_refreshed_before_use(store, mock) -> None:
    await store.save(fresh("nearly", ttl=30))
    token_route = mock.post(TOKEN_URL).mock(return_value=grant("new"))
    mock.get(ME).mock(side_effect=ok_for("new"))
    async with procore_async.AsyncClient(
        "id", "s", store, config=Config(refresh_leeway=60)
    ) as client:
        await client.get("me")
    assert token_route.call_count == 1


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def fetch(self) -> Token | None:
        self.reads += 1
        return await super().fetch()


async def test_token_is_cached_and_the_store_not_read_per_request(config, mock) -> None:
    store = CountingStore()
    await store.save(fresh("good"))
    mock.get(ME).mock(side_effect=ok_for("good"))
    async with procore_async.AsyncClient("id", "s", store, config=config) as client:
        for _ in range(5):
            await client.get("me")
    assert store.reads == 1


async def test_401_triggers_one_refresh_and_one_replay(client, store, mock) -> None:
    await store.save(fresh("revoked-elsewhere"))
    token_route = mock.post(TOKEN_URL).mock(return_value=grant("new"))
    api = mock.get(ME).mock(side_effect=ok_for("new"))
    response = await client.get("me")
    assert response.body == {"token": "new"}
    assert token_route.call_count == 1
    assert [c.request.headers["authorization"] for c in api.calls] == [
        "Bearer revoked-elsewhere",
        "Bearer new",
    ]


async def test_second_401_raises_authorization_error(client, store, mock) -> None:
    await store.save(fresh("a"))
    token_route = mock.post(TOKEN_URL).mock(return_value=grant("b"))
    api = mock.get(ME).mock(return_value=httpx.Response(401, json={"errors": "Unauthorized"}))
    with pytest.raises(AuthorizationError) as info:
        await client.get("me")
    assert info.value.response is not None and info.value.response.body == {
        "errors": "Unauthorized"
    }
    assert token_route.call_count == 1
    assert api.call_count == 2


async def test_slow_requests_401_does_not_throw_away_a_newer_token(client, store, mock) -> None:
    """Compare-and-invalidate: the token that failed is no longer current, so no refresh."""
    await store.save(fresh("A"))
    in_flight, release = anyio.Event(), anyio.Event()

    async def api(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer A":
            in_flight.set()
            await release.wait()
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})

    token_route = mock.post(TOKEN_URL).mock(return_value=grant("B"))
    mock.get(ME).mock(side_effect=api)
    async with anyio.create_task_group() as tg:
        result: list[int] = []

        async def slow() -> None:
            result.append((await client.get("me")).status_code)

        tg.start_soon(slow)
        await in_flight.wait()
        await client.refresh()  # another task renews to B while the slow one still holds A
        release.set()
    assert result == [200]
    assert token_route.call_count == 1  # the 401 on A caused no second refresh


async def test_client_credentials_reacquires_when_due(store, mock) -> None:
    token_route = mock.post(TOKEN_URL).mock(
        side_effect=[grant("first", None, expires_in=30), grant("second", None, expires_in=5400)]
    )
    api = mock.get(ME).mock(side_effect=ok_for("first", "second"))
    async with procore_async.AsyncClient(
        "id", "s", store, config=Config(refresh_leeway=60), grant_type="client_credentials"
    ) as client:
        await client.get("me")  # empty store: obtain "first" (already within the leeway)
        await client.get("me")  # "first" is due: obtain "second"
        await client.get("me")  # "second" is good: no call
    assert token_route.call_count == 2
    assert [c.request.headers["authorization"] for c in api.calls] == [
        "Bearer first",
        "Bearer second",
        "Bearer second",
    ]


async def test_empty_store_with_refresh_grant_is_missing_token_error_without_io(
    client, mock
) -> None:
    with pytest.raises(MissingTokenError):
        await client.get("me")
    assert not mock.calls


async def test_token_without_access_token_is_missing_token_error(client, store, mock) -> None:
    await store.save(Token(None, "refresh", time.time() + 3600))
    with pytest.raises(MissingTokenError):
        await client.get("me")
    assert not mock.calls


async def test_failed_refresh_is_shared_by_waiters_and_keeps_the_stored_token(
    client, store, mock
) -> None:
    await store.save(fresh("expired", "spent", ttl=-10))

    async def refuse(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.1)
        return httpx.Response(400, json={"error": "invalid_grant"})

    token_route = mock.post(TOKEN_URL).mock(side_effect=refuse)
    errors: list[BaseException] = []

    async def one() -> None:
        try:
            await client.get("me")
        except OAuthError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
    assert len(errors) == 20
    assert token_route.call_count == 1
    kept = await store.fetch()
    assert kept is not None
    assert (kept.access_token, kept.refresh_token) == ("expired", "spent")
    assert kept.expired


async def test_cancelling_the_caller_mid_refresh_still_saves_the_new_token(
    client, store, mock
) -> None:
    await store.save(fresh("expired", "single-use", ttl=-10))
    started = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep(0.2)
        return grant("new", "next-refresh")

    mock.post(TOKEN_URL).mock(side_effect=slow)
    mock.get(ME).mock(side_effect=ok_for("new"))
    with anyio.move_on_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.get, "me")
            await started.wait()
            tg.cancel_scope.cancel()
    saved = await store.fetch()
    assert saved is not None and saved.refresh_token == "next-refresh"
    # The next request uses the saved token without refreshing again.
    assert (await client.get("me")).body == {"token": "new"}


class SharedStore(MemoryStore):
    """A store whose lock() lets a 'different process' refresh first."""

    def __init__(self) -> None:
        super().__init__(key="shared")
        self.locks = 0
        self.other_process_token: Token | None = None

    @asynccontextmanager
    async def lock(self) -> AsyncIterator[None]:
        self.locks += 1
        if self.other_process_token is not None:
            await self.save(self.other_process_token)
        yield


async def test_refresh_happens_under_the_store_lock_and_rereads_the_store(config, mock) -> None:
    store = SharedStore()
    await store.save(fresh("expired", ttl=-10))
    store.other_process_token = fresh("refreshed-by-another-process")
    token_route = mock.post(TOKEN_URL).mock(return_value=grant("mine"))
    mock.get(ME).mock(side_effect=ok_for("refreshed-by-another-process"))
    async with procore_async.AsyncClient("id", "s", store, config=config) as client:
        await client.get("me")
    assert store.locks == 1
    assert token_route.call_count == 0


async def test_store_lock_is_taken_for_a_real_refresh(config, mock) -> None:
    store = SharedStore()
    await store.save(fresh("expired", ttl=-10))
    token_route = mock.post(TOKEN_URL).mock(return_value=grant("mine"))
    mock.get(ME).mock(side_effect=ok_for("mine"))
    async with procore_async.AsyncClient("id", "s", store, config=config) as client:
        await client.get("me")
    assert (store.locks, token_route.call_count) == (1, 1)


async def test_no_token_or_secret_in_any_log_record(store, mock, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    await store.save(fresh("ACCESS-SECRET-1", "REFRESH-SECRET-1", ttl=-10))
    mock.post(TOKEN_URL).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "0"}),
            grant("ACCESS-SECRET-2", "REFRESH-SECRET-2"),
            grant("ACCESS-SECRET-3", "REFRESH-SECRET-3"),
            grant("ACCESS-SECRET-4", "REFRESH-SECRET-4"),
        ]
    )
    mock.get(url__startswith=ME).mock(side_effect=[httpx.Response(401), httpx.Response(200)])
    async with procore_async.AsyncClient(
        "id", "CLIENT-SECRET-1", store, config=Config(retry_backoff=0.01)
    ) as client:
        await client.get("me", query={"access_token": "QUERY-SECRET"})
        await client.refresh()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "procore_async" in {record.name for record in caplog.records}
    for secret in ("SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "QUERY-SECRET"):
        assert secret not in text
    assert "retrying POST" in text  # the retry of the token endpoint was logged


def test_token_manager_runs_on_trio() -> None:
    import trio

    async def main() -> None:
        store = MemoryStore()
        await store.save(fresh("expired", ttl=-10))
        calls = 0

        async def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            if request.url.path == "/oauth/token":
                calls += 1
                await trio.sleep(0.05)
                return grant("new")
            return httpx.Response(200, json={})

        async with (
            procore_async.AsyncClient(
                "id", "s", store, transport=httpx.MockTransport(handler)
            ) as client,
            trio.open_nursery() as nursery,
        ):
            for _ in range(10):
                nursery.start_soon(client.get, "me")
        assert calls == 1

    trio.run(main)


async def test_401_whose_renewal_is_refused_raises_authorization_error(client, store, mock) -> None:
    await store.save(Token("no-refresh", None, time.time() + 3600))
    api = mock.get(ME).mock(return_value=httpx.Response(401, json={"errors": "Invalid Token"}))
    with pytest.raises(AuthorizationError) as info:
        await client.get("me")
    assert info.value.response is not None
    assert info.value.response.status_code == 401
    assert isinstance(info.value.__cause__, OAuthError)
    assert api.call_count == 1
