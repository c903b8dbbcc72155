"""The OAuth calls: the gem's credential tests, revoke and the authorization-code flow."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

import procore_async
from procore_async import (
    APIConnectionError,
    APITimeoutError,
    Config,
    MissingTokenError,
    OAuthError,
    Token,
)
from procore_async.stores import MemoryStore

from .conftest import API, LOGIN, TOKEN_URL, fresh, grant


def form(request: httpx.Request) -> dict[str, str]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


async def test_refresh_sends_exactly_the_refresh_grant_form(client, store, mock) -> None:
    await store.save(fresh("old", "refresh"))
    route = mock.post(TOKEN_URL).mock(return_value=grant("New Token", "New Refresh"))
    token = await client.refresh()
    assert form(route.calls.last.request) == {
        "client_id": "id",
        "client_secret": "secret",
        "grant_type": "refresh_token",
        "refresh_token": "refresh",
    }
    assert "authorization" not in route.calls.last.request.headers  # not HTTP Basic
    assert (token.access_token, token.refresh_token, token.expired) == (
        "New Token",
        "New Refresh",
        False,
    )
    assert await store.fetch() == token


async def test_refresh_runs_even_when_the_token_is_still_valid(client, store, mock) -> None:
    await store.save(fresh("valid", "refresh", ttl=7200))
    route = mock.post(TOKEN_URL).mock(return_value=grant("New Token"))
    await client.refresh()
    assert route.call_count == 1


async def test_client_credentials_grant_form(store, config, mock) -> None:
    route = mock.post(TOKEN_URL).mock(return_value=grant("token", refresh=None))
    mock.get(f"{API}/rest/v1.0/me").mock(return_value=httpx.Response(200, json={"id": 1}))
    async with procore_async.AsyncClient(
        "id", "secret", store, config=config, grant_type="client_credentials"
    ) as client:
        await client.get("me")
    assert form(route.calls.last.request) == {
        "client_id": "id",
        "client_secret": "secret",
        "grant_type": "client_credentials",
    }
    saved = await store.fetch()
    assert saved is not None and saved.access_token == "token" and saved.refresh_token is None


@pytest.mark.parametrize(
    ("response", "body"),
    [
        (
            httpx.Response(500, text="<html>oops</html>", headers={"content-type": "text/html"}),
            "<html>oops</html>",
        ),
        (httpx.Response(500, json={"error": "Some bad error"}), {"error": "Some bad error"}),
    ],
)
async def test_token_endpoint_failure_is_oauth_error_with_response(
    store, mock, response, body
) -> None:
    await store.save(fresh("old"))
    mock.post(TOKEN_URL).mock(return_value=response)
    async with procore_async.AsyncClient(
        "id", "secret", store, config=Config(max_retries=0)
    ) as client:
        with pytest.raises(OAuthError) as info:
            await client.refresh()
    assert info.value.response is not None
    assert info.value.response.code == 500
    assert info.value.response.body == body


async def test_bad_grant_is_oauth_error_with_server_fields_and_not_retried(
    client, store, mock
) -> None:
    await store.save(fresh("old"))
    route = mock.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400,
            json={"error": "invalid_grant", "error_description": "The refresh token is invalid"},
        )
    )
    with pytest.raises(OAuthError) as info:
        await client.refresh()
    assert route.call_count == 1
    assert info.value.error == "invalid_grant"
    assert info.value.error_description == "The refresh token is invalid"
    assert "The refresh token is invalid" in str(info.value)
    assert (await store.fetch()).access_token == "old"  # type: ignore[union-attr]


async def test_empty_200_from_token_endpoint_is_oauth_error(client, store, mock) -> None:
    await store.save(fresh("old"))
    mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, text=""))
    with pytest.raises(OAuthError):
        await client.refresh()


async def test_transient_token_endpoint_failures_are_retried(client, store, mock) -> None:
    await store.save(fresh("old"))
    route = mock.post(TOKEN_URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(503, headers={"Retry-After": "0"}),
            grant("New Token"),
        ]
    )
    token = await client.refresh()
    assert route.call_count == 3
    assert token.access_token == "New Token"


async def test_token_endpoint_timeout_outliving_retries_is_api_connection_error(
    client, store, mock
) -> None:
    await store.save(fresh("old"))
    route = mock.post(TOKEN_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APIConnectionError) as info:
        await client.refresh()
    assert isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    # Not retried by the loop (the reply may have spent the refresh token); sent once
    # more only after the store, re-read, still held the token that was sent.
    assert route.call_count == 2


async def test_revoke_posts_token_and_clears_the_store(client, store, mock) -> None:
    await store.save(fresh("the-access", "the-refresh"))
    route = mock.post(f"{LOGIN}/oauth/revoke").mock(return_value=httpx.Response(200, json={}))
    await client.revoke()
    assert form(route.calls.last.request) == {
        "client_id": "id",
        "client_secret": "secret",
        "token": "the-access",
    }
    assert await store.fetch() is None
    with pytest.raises(MissingTokenError):
        await client.get("me")


async def test_revoke_failure_is_oauth_error_and_keeps_the_token(client, store, mock) -> None:
    await store.save(fresh("the-access"))
    mock.post(f"{LOGIN}/oauth/revoke").mock(
        return_value=httpx.Response(401, json={"error": "invalid_client"})
    )
    with pytest.raises(OAuthError):
        await client.revoke()
    assert (await store.fetch()) is not None


async def test_revoke_without_token_is_missing_token_error(client, mock) -> None:
    with pytest.raises(MissingTokenError):
        await client.revoke()
    assert not mock.calls


def test_authorization_url(store) -> None:
    client = procore_async.AsyncClient("my id", "secret", store, http_client=httpx.AsyncClient())
    url = client.authorization_url("http://localhost:8000/callback", state="xyz")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{LOGIN}/oauth/authorize"
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["my id"],
        "redirect_uri": ["http://localhost:8000/callback"],
        "state": ["xyz"],
    }


async def test_exchange_code_saves_the_token(client, store, mock) -> None:
    route = mock.post(TOKEN_URL).mock(return_value=grant("user-token", "user-refresh"))
    token = await client.exchange_code("the-code", "http://localhost/cb")
    assert form(route.calls.last.request) == {
        "client_id": "id",
        "client_secret": "secret",
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://localhost/cb",
    }
    assert await store.fetch() == token
    mock.get(f"{API}/rest/v1.0/me").mock(return_value=httpx.Response(200, json={}))
    await client.get("me")
    assert mock.calls.last.request.headers["authorization"] == "Bearer user-token"


async def test_login_host_is_configurable() -> None:
    store = MemoryStore()
    await store.save(Token("old", "r", time.time() - 10))
    config = Config(
        host="https://procore.example.com", login_host="https://procore-login.example.com"
    )
    with respx.mock() as mock:
        token_route = mock.post("https://procore-login.example.com/oauth/token").mock(
            return_value=grant("new")
        )
        me = mock.get("https://procore.example.com/rest/v1.0/me").mock(
            return_value=httpx.Response(200)
        )
        async with procore_async.AsyncClient("id", "secret", store, config=config) as client:
            await client.get("me")
    assert token_route.call_count == 1 and me.call_count == 1
    # The expired token triggered the refresh first, and the new token was used at once.
    assert me.calls.last.request.headers["authorization"] == "Bearer new"
