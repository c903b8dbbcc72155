"""AsyncClient: verbs, headers, bodies, timeouts, tokens and lifecycle, on the wire (respx).

Ports the request-level cases of the gem's ``requestable_test.rb`` and
``client_test.rb`` (behaviour reference §10.1, §10.3), minus ``sync`` (tested with
the batch engine), plus the header and body tables of this library's contract.
"""

from __future__ import annotations

import email.parser
import email.policy
import importlib.metadata
import io
import json
import re
import time
from typing import Any

import anyio
import httpx
import pytest
import respx

import procore_async
from procore_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    Config,
    InvalidRequestError,
    MissingTokenError,
    NotFoundError,
    Response,
    Token,
)
from procore_async.stores import MemoryStore

API = "https://api.procore.com"
HOME = f"{API}/rest/v1.0/home"
TOKEN_URL = "https://login.procore.com/oauth/token"
REVOKE_URL = "https://login.procore.com/oauth/revoke"
VERBS = ["get", "post", "put", "patch", "delete"]
BODY_VERBS = ["post", "put", "patch"]


def _sent(route: respx.Route) -> httpx.Request:
    request: httpx.Request = route.calls.last.request
    return request


# -- the gem's requestable_test.rb, in our words ------------------------------------


@pytest.mark.parametrize(
    ("version", "url"),
    [(None, HOME), ("v1.1", f"{API}/rest/v1.1/home"), ("vapid", f"{API}/vapid/home")],
)
async def test_get_sends_the_query_and_the_standard_headers(
    respx_mock: respx.MockRouter, make_client: Any, version: str | None, url: str
) -> None:
    route = respx_mock.get(url, params={"per_page": "5"}).respond(200)
    response = await make_client().get("home", version=version, query={"per_page": 5})
    sent = _sent(route)
    assert str(sent.url) == f"{url}?per_page=5"
    assert sent.headers["Authorization"] == "Bearer token"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Procore-Sdk-Language"] == "python"
    assert sent.headers["Procore-Sdk-Version"] == procore_async.__version__
    assert response.status_code == 200
    assert response.body == {}


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("post", {"name": "Name"}),
        ("put", {"name": "Replaced Name"}),
        ("patch", {"name": "New Name"}),
    ],
)
@pytest.mark.parametrize(
    ("version", "url"),
    [(None, HOME), ("v1.1", f"{API}/rest/v1.1/home"), ("vapid", f"{API}/vapid/home")],
)
async def test_body_verbs_send_json(
    respx_mock: respx.MockRouter,
    make_client: Any,
    verb: str,
    body: dict[str, str],
    version: str | None,
    url: str,
) -> None:
    route = respx_mock.route(method=verb.upper(), url=url).respond(200)
    response = await getattr(make_client(), verb)("home", version=version, body=body)
    sent = _sent(route)
    assert json.loads(sent.content) == body
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Authorization"] == "Bearer token"
    assert response.request_body == body


async def test_delete_sends_the_standard_headers(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.delete(HOME).respond(204)
    response = await make_client().delete("home")
    sent = _sent(route)
    assert sent.headers["Authorization"] == "Bearer token"
    assert sent.headers["Procore-Sdk-Language"] == "python"
    assert sent.content == b""
    assert response.status_code == 204
    assert response.request_body is None


async def test_post_with_an_idempotency_token(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.post(HOME).respond(201)
    await make_client().post("home", body={"name": "Name"}, options={"idempotency_token": "token"})
    assert _sent(route).headers["Idempotency-Token"] == "token"


@pytest.mark.parametrize("verb", ["get", "post"])
async def test_company_id_option_becomes_a_header(
    respx_mock: respx.MockRouter, make_client: Any, verb: str
) -> None:
    route = respx_mock.route(method=verb.upper(), url=HOME).respond(200)
    kwargs: dict[str, Any] = {"options": {"company_id": 1}}
    if verb == "post":
        kwargs["body"] = {"name": "Name"}
    await getattr(make_client(), verb)("home", **kwargs)
    assert _sent(route).headers["procore-company-id"] == "1"


async def test_a_file_in_the_body_makes_it_multipart(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.post(HOME).respond(201)
    pixel = io.BytesIO(b"\x89PNG\r\n\x1a\n-not-really-a-png")
    pixel.name = "pixel.png"
    await make_client().post("home", body={"file": pixel})
    assert _sent(route).headers["Content-Type"].startswith("multipart/form-data; boundary=")


async def test_max_retries_zero_makes_exactly_one_attempt(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.get(HOME).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APIConnectionError) as info:
        await make_client(config=Config(max_retries=0)).get("home")
    assert route.call_count == 1
    assert isinstance(info.value, APITimeoutError)
    assert info.value.response is None
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.RemoteProtocolError("eof")]
)
async def test_connection_failures_become_api_connection_error(
    respx_mock: respx.MockRouter, make_client: Any, failure: Exception
) -> None:
    respx_mock.get(HOME).mock(side_effect=failure)
    with pytest.raises(APIConnectionError, match="Cannot connect to the Procore API") as info:
        await make_client().get("home")
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.__cause__ is failure


# -- the header table ---------------------------------------------------------------


def _kwargs(verb: str, **extra: Any) -> dict[str, Any]:
    return {"body": {"a": 1}, **extra} if verb in BODY_VERBS else extra


@pytest.mark.parametrize("verb", VERBS)
async def test_standard_headers_on_every_verb(
    respx_mock: respx.MockRouter, make_client: Any, verb: str
) -> None:
    route = respx_mock.route(method=verb.upper(), url=HOME).respond(200)
    client = make_client(config=Config(max_retries=0, user_agent="Procore Test Suite"))
    await getattr(client, verb)("home", **_kwargs(verb))
    headers = _sent(route).headers
    assert headers["Authorization"] == "Bearer token"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "Procore Test Suite"
    assert headers["Procore-Sdk-Version"] == procore_async.__version__
    assert headers["Procore-Sdk-Language"] == "python"
    assert "Accepts" not in headers  # the gem's misspelling is not carried over
    assert "Procore-Company-Id" not in headers
    assert "Idempotency-Token" not in headers
    if verb in BODY_VERBS:
        assert headers["Content-Type"] == "application/json"
    else:
        assert "Content-Type" not in headers


async def test_the_default_user_agent_names_the_package(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.get(HOME).respond(200)
    await make_client().get("home")
    assert _sent(route).headers["User-Agent"] == f"procore-async/{procore_async.__version__}"


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize(
    ("how", "expected_company", "expected_token"),
    [
        ({"company_id": 1, "idempotency_token": "abc"}, "1", "abc"),
        ({"company_id": "42", "idempotency_token": "k-1"}, "42", "k-1"),
        ({"options": {"company_id": 1, "idempotency_token": "abc"}}, "1", "abc"),
        ({"company_id": 2, "options": {"company_id": 1}}, "2", None),
        ({"idempotency_token": "kw", "options": {"idempotency_token": "opt"}}, None, "kw"),
        ({"company_id": None, "options": {"company_id": None}}, None, None),
        ({"options": {"company_id": False, "batch_size": 10, "unknown": 1}}, None, None),
    ],
)
async def test_company_id_and_idempotency_token_on_every_verb(
    respx_mock: respx.MockRouter,
    make_client: Any,
    verb: str,
    how: dict[str, Any],
    expected_company: str | None,
    expected_token: str | None,
) -> None:
    route = respx_mock.route(method=verb.upper(), url=HOME).respond(200)
    await getattr(make_client(), verb)("home", **_kwargs(verb, **how))
    headers = _sent(route).headers
    assert headers.get("Procore-Company-Id") == expected_company
    assert headers.get("Idempotency-Token") == expected_token


async def test_request_accepts_a_lower_case_method(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.get(HOME).respond(200)
    response = await make_client().request("get", "home", company_id=5)
    assert isinstance(response, Response)
    assert _sent(route).headers["Procore-Company-Id"] == "5"


# -- bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({"name": "x", "nested": {"a": [1, None]}}, b'{"name":"x","nested":{"a":[1,null]}}'),
        ([1, 2, 3], b"[1,2,3]"),
        ([{"id": 1}], b'[{"id":1}]'),
        (None, b"{}"),
        ({}, b"{}"),
        ({"name": "café ☕"}, '{"name":"café ☕"}'.encode()),
        ({"ok": True, "n": 1.5}, b'{"ok":true,"n":1.5}'),
    ],
)
@pytest.mark.parametrize("verb", BODY_VERBS)
async def test_json_bodies_are_compact(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, body: Any, raw: bytes
) -> None:
    route = respx_mock.route(method=verb.upper(), url=HOME).respond(200)
    response = await getattr(make_client(), verb)("home", body=body)
    assert _sent(route).content == raw
    assert response.request_body == body


@pytest.mark.parametrize("verb", BODY_VERBS)
async def test_the_default_body_is_an_empty_object(
    respx_mock: respx.MockRouter, make_client: Any, verb: str
) -> None:
    route = respx_mock.route(method=verb.upper(), url=HOME).respond(200)
    await getattr(make_client(), verb)("home")
    assert _sent(route).content == b"{}"


@pytest.mark.parametrize(
    "body",
    [
        {"when": object()},
        {"ids": {1, 2}},
        {"x": float("nan")},
        {"x": float("inf")},
        [b"bytes"],
    ],
)
async def test_a_body_that_is_not_json_raises_and_sends_nothing(
    respx_mock: respx.MockRouter, make_client: Any, body: Any
) -> None:
    with pytest.raises(InvalidRequestError, match="not JSON-serialisable") as info:
        await make_client().post("home", body=body)
    assert info.value.response is None
    assert respx_mock.calls.call_count == 0


def _multipart_parts(request: httpx.Request) -> list[tuple[str, str | None, bytes]]:
    """(field name, filename, payload) of every part of a multipart request."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    parts: list[tuple[str, str | None, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((str(name), part.get_filename(), payload))
    return parts


async def test_multipart_uses_rails_style_part_names(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.post(HOME).respond(201)
    photo = io.BytesIO(b"PIXELS")
    photo.name = "pixel.png"
    body = {
        "file": photo,
        "meta": {"name": "Site photo", "private": False, "note": None},
        "list": [1, "two"],
        "count": 3,
    }
    response = await make_client().post("home", body=body)
    sent = _sent(route)
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = _multipart_parts(sent)
    assert sorted(parts) == sorted(
        [
            ("file", "pixel.png", b"PIXELS"),
            ("meta[name]", None, b"Site photo"),
            ("meta[private]", None, b"false"),
            ("meta[note]", None, b""),
            ("list[]", None, b"1"),
            ("list[]", None, b"two"),
            ("count", None, b"3"),
        ]
    )
    assert response.request_body is body


async def test_a_nested_file_also_makes_the_body_multipart(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.patch(HOME).respond(200)
    document = io.BytesIO(b"%PDF")
    document.name = "plan.pdf"
    await make_client().patch("home", body={"drawing": {"files": [document]}})
    assert _multipart_parts(_sent(route)) == [("drawing[files][]", "plan.pdf", b"%PDF")]


async def test_a_body_on_get_is_not_sent(respx_mock: respx.MockRouter, make_client: Any) -> None:
    route = respx_mock.get(HOME).respond(200)
    await make_client().request("GET", "home", body={"ignored": True})
    assert _sent(route).content == b""


# -- timeouts ------------------------------------------------------------------------


async def test_timeouts_come_from_config_and_can_be_overridden_per_call(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.get(HOME).respond(200)
    client = make_client(config=Config(max_retries=0, timeout=12.0))
    await client.get("home")
    assert set(_sent(route).extensions["timeout"].values()) == {12.0}
    await client.get("home", timeout=3.0)
    assert set(_sent(route).extensions["timeout"].values()) == {3.0}
    await client.get("home", timeout=httpx.Timeout(2.0, connect=1.0))
    assert _sent(route).extensions["timeout"]["connect"] == 1.0


# -- tokens: the gem's client_test.rb and the no-token rule ------------------------


@pytest.mark.parametrize(
    "stored", [None, Token(None), Token(None, "refresh", int(time.time()) + 60)]
)
@pytest.mark.parametrize("verb", VERBS)
async def test_no_token_raises_missing_token_without_any_request(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, stored: Token | None
) -> None:
    store = MemoryStore()
    if stored is not None:
        await store.save(stored)
    with pytest.raises(MissingTokenError) as info:
        await getattr(make_client(store=store), verb)("me")
    assert info.value.response is None
    assert respx_mock.calls.call_count == 0


async def test_store_none_means_an_empty_memory_store(respx_mock: respx.MockRouter) -> None:
    async with AsyncClient("id", "secret", config=Config(max_retries=0)) as client:
        assert isinstance(client.store, MemoryStore)
        with pytest.raises(MissingTokenError):
            await client.get("me")
    assert respx_mock.calls.call_count == 0


async def test_an_expired_token_is_refreshed_before_the_request(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    store = MemoryStore()
    await store.save(Token("old", "refresh-1", int(time.time()) - 7200))
    token_route = respx_mock.post(TOKEN_URL).respond(
        200,
        json={"access_token": "New Token", "refresh_token": "New Refresh", "expires_in": 7200},
    )
    me = respx_mock.get(f"{API}/rest/v1.0/me").respond(200, json={"id": 1})
    response = await make_client(store=store).get("me")
    assert response.body == {"id": 1}
    assert respx_mock.calls[0].request.url == TOKEN_URL
    assert b"refresh_token=refresh-1" in token_route.calls.last.request.content
    assert _sent(me).headers["Authorization"] == "Bearer New Token"
    saved = await store.fetch()
    assert saved is not None
    assert (saved.access_token, saved.refresh_token) == ("New Token", "New Refresh")


async def test_refresh_always_calls_the_token_endpoint(
    respx_mock: respx.MockRouter, make_client: Any, token_store: MemoryStore
) -> None:
    route = respx_mock.post(TOKEN_URL).respond(
        200, json={"access_token": "fresh", "refresh_token": "r2", "expires_in": 7200}
    )
    token = await make_client().refresh()
    assert route.call_count == 1
    assert token.access_token == "fresh"
    assert await token_store.fetch() == token


async def test_revoke_posts_to_the_login_host_and_empties_the_store(
    respx_mock: respx.MockRouter, make_client: Any, token_store: MemoryStore
) -> None:
    route = respx_mock.post(REVOKE_URL).respond(200)
    await make_client().revoke()
    assert route.call_count == 1
    assert b"token=token" in _sent(route).content
    assert await token_store.fetch() is None


async def test_client_settings_come_from_its_config() -> None:
    config = Config(
        host="https://example.com",
        login_host="https://my-auth-provider.com",
        default_version="v1.1",
        user_agent="Procore Test Suite",
    )
    async with AsyncClient("id", "secret", config=config) as client:
        assert client.config is config
        assert client.config.host == "https://example.com"
        assert client.config.login_host == "https://my-auth-provider.com"


# -- lifecycle -------------------------------------------------------------------


async def test_async_with_closes_the_owned_http_client() -> None:
    async with AsyncClient("id", "secret") as client:
        assert not client.is_closed
    assert client.is_closed


async def test_an_injected_http_client_is_used_and_left_open(token_store: MemoryStore) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        async with AsyncClient("id", "secret", token_store, http_client=http) as client:
            response = await client.get("me")
        assert response.body == {"ok": True}
        assert len(seen) == 1
        assert client.is_closed is False
        assert not http.is_closed
        await client.aclose()
        assert not http.is_closed


async def test_a_transport_is_wrapped_in_an_owned_client(token_store: MemoryStore) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[1]))
    client = AsyncClient("id", "secret", token_store, transport=transport)
    assert (await client.get("me")).body == [1]
    await client.aclose()
    assert client.is_closed


async def test_aclose_is_idempotent() -> None:
    client = AsyncClient("id", "secret")
    await client.aclose()
    await client.aclose()
    assert client.is_closed


async def test_transport_and_http_client_together_are_refused() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="either http_client or transport"):
            AsyncClient("id", "secret", http_client=http, transport=transport)


def test_an_unknown_grant_type_is_refused() -> None:
    with pytest.raises(ValueError, match="grant_type"):
        AsyncClient("id", "secret", grant_type="password")  # type: ignore[arg-type]


def test_cleanup_is_explicit_no_finalizer() -> None:
    assert not hasattr(AsyncClient, "__del__")


async def test_repr_shows_no_secret() -> None:
    async with AsyncClient("the-id", "the-very-secret") as client:
        assert "the-very-secret" not in repr(client)
        assert "api.procore.com" in repr(client)


async def test_sequential_requests_without_rate_headers_are_not_held(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    # A server (or proxy) that sends no X-Rate-Limit-* headers must not slow a client down.
    route = respx_mock.get(HOME).respond(200)
    client = make_client()
    with anyio.fail_after(1.5):  # generous: five mocked calls take milliseconds
        for _ in range(5):
            await client.get("home")
    assert route.call_count == 5


# -- trio ----------------------------------------------------------------------------


def _trio_is_usable() -> bool:
    trio = pytest.importorskip("trio")
    wanted = next((r for r in importlib.metadata.requires("anyio") or [] if "trio" in r), "")
    found = re.search(r">=\s*([\d.]+)", wanted)
    minimum = tuple(int(part) for part in found.group(1).split(".")) if found else (0,)
    return tuple(int(part) for part in trio.__version__.split(".")[:3]) >= minimum


@pytest.mark.skipif(not _trio_is_usable(), reason="the installed trio is too old for anyio")
def test_the_request_pipeline_runs_under_trio() -> None:
    import trio  # type: ignore[import-untyped]

    async def scenario() -> None:
        calls: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            calls.append(f"{request.method} {request.url.path}")
            if request.url.path == "/oauth/token":
                return httpx.Response(200, json={"access_token": "b", "expires_in": 7200})
            if request.headers["Authorization"] == "Bearer a":
                return httpx.Response(401)
            if request.url.path.endswith("/missing"):
                return httpx.Response(404)
            return httpx.Response(200, json={"ok": True})

        store = MemoryStore()
        await store.save(Token("a", "refresh", int(time.time()) + 3600))
        transport = httpx.MockTransport(handler)
        config = Config(max_retries=0)
        async with AsyncClient("id", "secret", store, config=config, transport=transport) as c:
            assert (await c.get("me")).body == {"ok": True}
            with pytest.raises(NotFoundError):
                await c.get("missing")
        assert calls == [
            "GET /rest/v1.0/me",
            "POST /oauth/token",
            "GET /rest/v1.0/me",
            "GET /rest/v1.0/missing",
        ]

    trio.run(scenario)
