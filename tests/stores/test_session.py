"""SessionStore: the gem's session tests, and a real Starlette app with signed-cookie sessions."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from procore_async import TokenStoreError
from procore_async.auth import Token
from procore_async.stores import FileStore, LockingTokenStore, SessionStore, TokenStore


async def test_store_overwrite_delete() -> None:
    session: dict[str, Any] = {}
    store = SessionStore(session=session)
    assert await store.fetch() is None
    await store.save(Token("token", "refresh", 55))
    assert await store.fetch() == Token("token", "refresh", 55)
    await store.save(Token("new token", "new refresh", 56))
    assert await store.fetch() == Token("new token", "new refresh", 56)
    await store.delete()
    assert await store.fetch() is None
    assert session == {}


async def test_keeps_the_gems_json_string_under_the_key() -> None:
    session: dict[str, Any] = {}
    await SessionStore(session=session, key="tok").save(Token("a", "r", 1_700_000_000))
    assert json.loads(session["tok"]) == {
        "access_token": "a",
        "refresh_token": "r",
        "expires_at": 1700000000,
    }


@pytest.mark.parametrize(
    "value",
    [
        '{"access_token":"a","refresh_token":"r","expires_at":"2023-11-14T22:13:20.000Z"}',
        {"access_token": "a", "refresh_token": "r", "expires_at": 1700000000},
    ],
)
async def test_reads_what_the_gem_wrote(value: object) -> None:
    store = SessionStore(session={"procore_token": value})
    assert await store.fetch() == Token("a", "r", 1_700_000_000)


@pytest.mark.parametrize("value", ["#<Procore::Auth::Token:0x0000>", 5, '{"access_token": 1}'])
async def test_corrupt_value_is_a_clear_error(value: object) -> None:
    with pytest.raises(TokenStoreError, match="session key 'procore_token'"):
        await SessionStore(session={"procore_token": value}).fetch()


def test_repr_and_the_cookie_warning() -> None:
    assert repr(SessionStore(session={})) == "SessionStore(key='procore_token')"
    assert "signed, not encrypted" in (SessionStore.__doc__ or "")


def file_reference_store(path: Path) -> Callable[[str], TokenStore]:
    return lambda reference: FileStore(path=path, key=reference)


async def test_by_reference_the_session_holds_no_token(tmp_path: Path) -> None:
    session: dict[str, Any] = {}
    store = SessionStore(session=session, reference_store=file_reference_store(tmp_path / "t"))
    await store.save(Token("secret-access", "secret-refresh", 5))
    assert "secret" not in json.dumps(session)
    reference = json.loads(session["procore_token"])["reference"]
    assert await FileStore(path=tmp_path / "t", key=reference).fetch() == Token(
        "secret-access", "secret-refresh", 5
    )
    await store.save(Token("second", "r", 6))  # same reference, token replaced
    assert json.loads(session["procore_token"])["reference"] == reference
    assert await store.fetch() == Token("second", "r", 6)
    await store.delete()
    assert session == {}
    assert await FileStore(path=tmp_path / "t", key=reference).fetch() is None
    assert repr(store) == "SessionStore(key='procore_token', by reference)"


async def test_by_reference_a_token_in_the_session_is_an_error(tmp_path: Path) -> None:
    session = {"procore_token": Token("a").to_json()}
    store = SessionStore(session=session, reference_store=file_reference_store(tmp_path / "t"))
    with pytest.raises(TokenStoreError, match="does not hold a token reference"):
        await store.fetch()


async def test_by_reference_lock_is_the_backing_stores_lock(tmp_path: Path) -> None:
    path = tmp_path / "t"
    store = SessionStore(session={}, reference_store=file_reference_store(path))
    assert isinstance(store, LockingTokenStore)
    await store.save(Token("a"))
    order: list[str] = []

    async def other_writer() -> None:
        await FileStore(path=path, key="other").save(Token("b"))
        order.append("other")

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg, store.lock():
            tg.start_soon(other_writer)
            await anyio.sleep(0.2)
            order.append("locked section")
    assert order == ["locked section", "other"]


def session_app(store_for: Callable[[Request], SessionStore]) -> Starlette:
    async def login(request: Request) -> JSONResponse:
        await store_for(request).save(Token("access-1", "refresh-1", 1_700_000_000))
        return JSONResponse({})

    async def me(request: Request) -> JSONResponse:
        token = await store_for(request).fetch()
        return JSONResponse(None if token is None else token.to_dict())

    async def logout(request: Request) -> JSONResponse:
        await store_for(request).delete()
        return JSONResponse({})

    routes = [Route("/login", login), Route("/me", me), Route("/logout", logout)]
    return Starlette(
        routes=routes, middleware=[Middleware(SessionMiddleware, secret_key="test-secret")]
    )


@pytest.fixture
async def browser_for() -> AsyncIterator[Callable[[Starlette], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(app: Starlette) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def cookie_payload(browser: httpx.AsyncClient) -> str:
    """What anyone holding the cookie can read: it is signed, not encrypted."""
    signed = browser.cookies["session"]
    data = signed.split(".")[0]
    return base64.b64decode(data + "=" * (-len(data) % 4)).decode()


async def test_starlette_session_keeps_the_token_across_requests(
    browser_for: Callable[[Starlette], httpx.AsyncClient],
) -> None:
    browser = browser_for(session_app(lambda request: SessionStore(session=request.session)))
    assert (await browser.get("/me")).json() is None
    await browser.get("/login")
    assert (await browser.get("/me")).json() == {
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "expires_at": 1700000000,
    }
    assert "access-1" in cookie_payload(browser)  # the gem's warning, demonstrated
    await browser.get("/logout")
    assert (await browser.get("/me")).json() is None


async def test_starlette_session_by_reference_keeps_the_token_out_of_the_cookie(
    tmp_path: Path, browser_for: Callable[[Starlette], httpx.AsyncClient]
) -> None:
    references = file_reference_store(tmp_path / "tokens.json")
    app = session_app(
        lambda request: SessionStore(session=request.session, reference_store=references)
    )
    browser, stranger = browser_for(app), browser_for(app)
    await browser.get("/login")
    assert "access-1" not in cookie_payload(browser)
    assert "refresh-1" not in cookie_payload(browser)
    assert (await browser.get("/me")).json()["access_token"] == "access-1"
    assert (await stranger.get("/me")).json() is None  # no cookie, no token
    await browser.get("/logout")
    assert (await browser.get("/me")).json() is None
    assert json.loads((tmp_path / "tokens.json").read_text()) == {}
