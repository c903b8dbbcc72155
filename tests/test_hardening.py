"""Inputs a new user (or a misbehaving server) can produce: each is a typed error or a
documented value, raised before any I/O, never a crash or a bare stdlib exception."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
import respx

import procore_async
from procore_async import InvalidRequestError, OAuthError, Response, Token
from procore_async._payload import MAX_DEPTH, encode_body
from procore_async._urls import Origin, build_url, encode_query
from procore_async.auth._token import MAX_LIFETIME

from .conftest import API, LOGIN, MakeClient

ORIGIN = Origin(API)


@pytest.mark.parametrize(
    "url",
    [
        "https://[::1/rest/v1.0/me",
        "https://[not-ipv6]/x",
        "http://[::1]]/x",
        "https://api.procore.com:99999/rest/v1.0/me",
        "https://api.procore.com:port/rest/v1.0/me",
    ],
)
def test_a_malformed_absolute_url_is_an_invalid_request(url: str) -> None:
    with pytest.raises(InvalidRequestError):
        build_url(ORIGIN, url, "v1.0")


@pytest.mark.parametrize(
    "path",
    [
        "../../oauth/token",
        "/../me",
        "projects/../../../oauth/token",
        "projects/%2e%2e/%2E%2E/oauth",
        "projects/.%2E/../x",
        "https://api.procore.com/rest/v1.0/../../oauth/token",
        "https://api.procore.com/rest/v1.0/./me",
    ],
)
def test_dot_segments_climbing_out_of_the_version_prefix_are_refused(path: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"\.\."):
        build_url(ORIGIN, path, "v1.0")


def test_dot_segments_inside_the_prefix_and_dots_in_names_are_fine() -> None:
    assert build_url(ORIGIN, "projects/../me", "v1.0") == f"{API}/rest/v1.0/projects/../me"
    assert build_url(ORIGIN, "files/report.v2.pdf", "v1.0").endswith("/files/report.v2.pdf")
    assert build_url(ORIGIN, "me", "v1.0", "q=..") == f"{API}/rest/v1.0/me?q=.."


@pytest.mark.parametrize("path", ["pro\njects", "me\r\nX-Evil: 1", "me\x00", 42])
def test_control_characters_and_non_strings_in_a_path_are_refused(path: Any) -> None:
    with pytest.raises(InvalidRequestError):
        build_url(ORIGIN, path, "v1.0")


def test_a_query_string_is_sent_as_already_encoded() -> None:
    assert encode_query("?page=2&per_page=10") == "page=2&per_page=10"
    assert build_url(ORIGIN, "projects", "v1.0", "filters[id][]=1") == (
        f"{API}/rest/v1.0/projects?filters[id][]=1"
    )
    for bad in ("a b=1", "page=2#frag", "x=1\n"):
        with pytest.raises(InvalidRequestError, match="already encoded"):
            encode_query(bad)
    with pytest.raises(InvalidRequestError, match="mapping"):
        encode_query([("a", 1)])


def test_self_referencing_and_too_deep_bodies_are_invalid_requests() -> None:
    looped: dict[str, Any] = {"name": "x"}
    looped["self"] = looped
    listed: list[Any] = []
    listed.append(listed)
    with_file: dict[str, Any] = {"file": io.BytesIO(b"data")}
    with_file["again"] = [with_file]
    deep: list[Any] = []
    cursor = deep
    for _ in range(50_000):
        cursor.append([])
        cursor = cursor[0]
    deep_file: dict[str, Any] = {"file": io.BytesIO(b"x")}
    cursor2 = deep_file
    for _ in range(MAX_DEPTH + 1):
        cursor2["n"] = {}
        cursor2 = cursor2["n"]
    for body in (looped, listed, with_file, deep, deep_file):
        with pytest.raises(InvalidRequestError):
            encode_body(body)


async def test_a_self_referencing_body_fails_before_any_io(make_client: MakeClient) -> None:
    body: dict[str, Any] = {}
    body["me"] = body
    with respx.mock(assert_all_called=False) as router:
        route = router.route()
        async with make_client() as client:
            with pytest.raises(InvalidRequestError, match="circular"):
                await client.post("projects", body=body)
            with pytest.raises(InvalidRequestError, match="climbs out"):
                await client.get("../../oauth/token")
            with pytest.raises(InvalidRequestError, match="malformed"):
                await client.get("https://[::1/rest/v1.0/me")
    assert not route.called


def test_a_deeply_nested_json_answer_reads_as_text() -> None:
    text = "[" * 200_000 + "]" * 200_000
    raw = httpx.Response(200, text=text, request=httpx.Request("GET", f"{API}/rest/v1.0/x"))
    response = Response(raw)
    assert response.body == text  # never raises; the text, as for any non-JSON body
    assert response.json() == text


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [(7200, 7200), ("7200", 7200), (7200.9, 7200), (1e308, MAX_LIFETIME), (None, None)],
)
def test_odd_but_numeric_expires_in_is_read_and_clamped(expires_in: Any, lifetime: Any) -> None:
    token = Token.from_oauth({"access_token": "a", "expires_in": expires_in}, now=1_000_000)
    expected = None if lifetime is None else 1_000_000 + lifetime
    assert token.expires_at == expected


@pytest.mark.parametrize("expires_in", ["soon", "", [7200], {"s": 1}, True, -5, float("nan")])
def test_nonsense_expires_in_is_an_oauth_error(expires_in: Any) -> None:
    with pytest.raises(OAuthError, match="invalid expires_in"):
        Token.from_oauth({"access_token": "a", "expires_in": expires_in})


@pytest.mark.parametrize("payload", ["soon", "[7200]", "1e999", "-1"])
async def test_the_token_endpoint_sending_odd_expires_in(
    make_client: MakeClient, payload: str
) -> None:
    store = procore_async.stores.MemoryStore()
    await store.save(Token("old", "refresh", 0))
    body = '{"access_token": "new", "refresh_token": "r2", "expires_in": %s}' % (
        json.dumps(payload) if payload == "soon" else payload
    )
    with respx.mock() as router:
        router.post(f"{LOGIN}/oauth/token").respond(200, text=body)
        async with make_client(store=store) as client:
            if payload == "1e999":  # JSON infinity: a huge lifetime, clamped
                token = await client.refresh()
                assert token.expires_in() is not None
                assert token.expires_in() <= MAX_LIFETIME  # type: ignore[operator]
            else:
                with pytest.raises(OAuthError, match="invalid expires_in"):
                    await client.refresh()


async def test_a_query_string_pages_like_get_and_a_circular_query_is_refused() -> None:
    from procore_async.testing import FakeProcore

    fake = FakeProcore(projects=30)
    async with fake.client() as client:
        scope = f"company_id={fake.company_id}"
        items = [p async for p in client.paginate("projects", query=scope, per_page=7,
                                                  company_id=fake.company_id)]  # fmt: skip
        assert len(items) == 30
        with pytest.raises(InvalidRequestError, match="already encoded"):
            client.paginate("projects", query="a b", company_id=fake.company_id)
        looped: dict[str, Any] = {}
        looped["self"] = looped
        with pytest.raises(InvalidRequestError, match="circular"):
            await client.get("me", query={"a": looped})


def test_presigned_credentials_are_redacted_in_logs() -> None:
    from procore_async._logging import redact
    from procore_async._urls import redact_url

    url = "https://s3.test/k?X-Amz-Credential=AKIAEXAMPLE%2F2026&X-Amz-Signature=abc"
    assert "AKIAEXAMPLE" not in redact(url)
    assert "AKIAEXAMPLE" not in redact_url(url)
