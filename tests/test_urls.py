"""URL building, the same-origin rule, Rails-style query encoding and log redaction.

Client-level cases go through ``AsyncClient`` with respx, so "no request sent" is
checked on the wire; the encoding tables call the pure functions directly.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from procore_async import Config, InvalidRequestError
from procore_async._urls import Origin, build_url, encode_query, redact_url

API = "https://api.procore.com"


# -- versions and paths through the client -----------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (None, f"{API}/rest/v1.0/home"),
        ("v1.0", f"{API}/rest/v1.0/home"),
        ("v1.1", f"{API}/rest/v1.1/home"),
        ("v2.0", f"{API}/rest/v2.0/home"),
        ("v10.25", f"{API}/rest/v10.25/home"),
        ("vapid", f"{API}/vapid/home"),
    ],
)
@pytest.mark.parametrize("verb", ["get", "post", "put", "patch", "delete"])
async def test_version_selects_the_url_prefix(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, version: str | None, expected: str
) -> None:
    route = respx_mock.route(method=verb.upper(), url=expected).respond(200, json={})
    client = make_client()
    response = await getattr(client, verb)("home", version=version)
    assert response.status_code == 200
    assert route.call_count == 1
    assert str(route.calls.last.request.url) == expected


@pytest.mark.parametrize(
    "version", ["v1", "V1.0", "rest/v1.0", "", "v2", "v1.0 ", "vapid/", "v1.x"]
)
@pytest.mark.parametrize("verb", ["get", "post", "delete"])
async def test_a_bad_version_raises_before_any_request(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, version: str
) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError, match="invalid Procore API version") as info:
        await getattr(client, verb)("home", version=version)
    assert info.value.response is None
    assert respx_mock.calls.call_count == 0


async def test_the_default_version_comes_from_the_clients_config(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.get(f"{API}/vapid/me").respond(200, json={})
    client = make_client(config=Config(max_retries=0, default_version="vapid"))
    await client.get("me")
    assert route.called


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("me", f"{API}/rest/v1.0/me"),
        ("/me", f"{API}/rest/v1.0/me"),
        ("//me", f"{API}/rest/v1.0/me"),
        ("me/", f"{API}/rest/v1.0/me/"),
        ("/me/", f"{API}/rest/v1.0/me/"),
        ("", f"{API}/rest/v1.0/"),
        ("/", f"{API}/rest/v1.0/"),
        ("companies/1/projects", f"{API}/rest/v1.0/companies/1/projects"),
    ],
)
def test_slashes_join_like_the_gem(path: str, expected: str) -> None:
    assert build_url(Origin(API), path, "v1.0") == expected


@pytest.mark.parametrize("host", [API, f"{API}/", f"{API}//"])
def test_a_host_with_trailing_slashes_gives_one_slash(host: str) -> None:
    assert build_url(Origin(Config(host=host).host), "/me", "v1.0") == f"{API}/rest/v1.0/me"


async def test_a_host_with_a_trailing_slash_through_the_client(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.get("https://procore.example.com/rest/v1.0/me").respond(200)
    client = make_client(config=Config(max_retries=0, host="https://procore.example.com/"))
    await client.get("/me")
    assert route.called


# -- absolute URLs and the same-origin rule ---------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"{API}/rest/v1.0/projects?page=2&per_page=1",
        f"{API}/vapid/projects",
        "https://API.procore.com/rest/v1.0/me",
        "https://api.procore.com:443/rest/v1.0/me",
        "HTTPS://api.procore.com/rest/v1.0/me",
    ],
)
async def test_an_absolute_url_on_the_api_host_is_used_as_is(
    respx_mock: respx.MockRouter, make_client: Any, url: str
) -> None:
    route = respx_mock.get(url__regex=r".*").respond(200, json={})
    client = make_client()
    await client.get(url)
    sent = route.calls.last.request
    assert httpx.URL(url) == sent.url
    assert sent.headers["Authorization"] == "Bearer token"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/rest/v1.0/me",
        "https://api.procore.com.evil.example.com/rest/v1.0/me",
        "https://api.procore.com@evil.example.com/rest/v1.0/me",
        "https://user:pw@api.procore.com/rest/v1.0/me",
        "http://api.procore.com/rest/v1.0/me",
        "https://api.procore.com:8443/rest/v1.0/me",
        "https://api.procore.com:notaport/rest/v1.0/me",
        "https://login.procore.com/oauth/token",
    ],
)
@pytest.mark.parametrize("verb", ["get", "post", "delete"])
async def test_an_absolute_url_elsewhere_raises_and_sends_nothing(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, url: str
) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError, match="refusing to send credentials") as info:
        await getattr(client, verb)(url)
    assert info.value.response is None
    assert "pw" not in str(info.value)
    assert respx_mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("url", "owned"),
    [
        ("https://api.procore.com/x", True),
        ("https://api.procore.com:443/x", True),
        ("https://API.PROCORE.COM/x", True),
        ("http://api.procore.com/x", False),
        ("https://api.procore.com:80/x", False),
        ("https://sub.api.procore.com/x", False),
        ("https://api.procore.com:99999/x", False),
        ("https://@api.procore.com/x", False),
        ("/rest/v1.0/x", False),
    ],
)
def test_origin_owns(url: str, owned: bool) -> None:
    assert Origin(API).owns(url) is owned


def test_origin_for_a_plain_http_host_with_a_port() -> None:
    origin = Origin("http://localhost:8000")
    assert origin.owns("http://localhost:8000/rest/v1.0/me")
    assert not origin.owns("http://localhost/rest/v1.0/me")
    assert not origin.owns("https://localhost:8000/rest/v1.0/me")


# -- query strings on URLs -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("home", {"per_page": 5}, f"{API}/rest/v1.0/home?per_page=5"),
        (
            f"{API}/rest/v1.0/projects?page=2&per_page=1",
            {"company_id": 3},
            f"{API}/rest/v1.0/projects?page=2&per_page=1&company_id=3",
        ),
        ("projects?page=2", {"per_page": 1}, f"{API}/rest/v1.0/projects?page=2&per_page=1"),
        ("projects?page=2", {}, f"{API}/rest/v1.0/projects?page=2"),
        ("projects?page=2", None, f"{API}/rest/v1.0/projects?page=2"),
        ("home", {}, f"{API}/rest/v1.0/home"),
    ],
)
def test_query_is_appended(path: str, query: Any, expected: str) -> None:
    assert build_url(Origin(API), path, "v1.0", query) == expected


async def test_query_reaches_the_wire_on_get_and_delete(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    route = respx_mock.route(url__startswith=f"{API}/rest/v1.0/home").respond(200)
    client = make_client()
    await client.get("home", query={"filters": {"status": "open"}})
    await client.delete("home", query={"ids": [1, 2]})
    get, delete = (call.request for call in route.calls)
    assert get.method == "GET"
    assert get.url.raw_path == b"/rest/v1.0/home?filters[status]=open"
    assert delete.method == "DELETE"
    assert delete.url.raw_path == b"/rest/v1.0/home?ids[]=1&ids[]=2"


# -- Rails-style query encoding ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"per_page": 5}, "per_page=5"),
        ({"filters": {"status": "open"}}, "filters[status]=open"),
        ({"filters": {"ids": [1, 2]}}, "filters[ids][]=1&filters[ids][]=2"),
        ({"a": {"b": {"c": 1}}}, "a[b][c]=1"),
        ({"ids": [1, 2]}, "ids[]=1&ids[]=2"),
        ({"ids": (1, 2)}, "ids[]=1&ids[]=2"),
        ({"arr": [{"a": 1}, {"a": 2, "b": 3}]}, "arr[][a]=1&arr[][a]=2&arr[][b]=3"),
        ({"nilv": None}, "nilv"),
        ({"empty": {}}, "empty"),
        ({"emptyarr": []}, "emptyarr"),
        ({"t": True, "f": False}, "t=true&f=false"),
        ({"n": 0, "x": 1.5}, "n=0&x=1.5"),
        ({"s": "a b"}, "s=a+b"),
        ({"s": "a&b=c"}, "s=a%26b%3Dc"),
        ({"s": "a/b"}, "s=a%2Fb"),
        ({"s": "it's"}, "s=it%27s"),
        ({"s": "café"}, "s=caf%C3%A9"),
        ({"s": "100%"}, "s=100%25"),
        ({"key with space": 1}, "key+with+space=1"),
        ({"z": 1, "a": 2, "m": 3}, "z=1&a=2&m=3"),
        ({}, ""),
    ],
)
def test_encode_query(query: dict[str, Any], expected: str) -> None:
    assert encode_query(query) == expected


@pytest.mark.parametrize("query", [[("a", 1)], [], 5, b"a=1", {("a",)}])
def test_a_non_mapping_query_is_rejected(query: Any) -> None:
    with pytest.raises(InvalidRequestError, match="query must be a mapping"):
        build_url(Origin(API), "home", "v1.0", query)


async def test_a_non_mapping_query_sends_nothing(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    client = make_client()
    with pytest.raises(InvalidRequestError):
        await client.get("home", query=[("a", 1)])
    assert respx_mock.calls.call_count == 0


# -- redaction of URLs for logs ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{API}/rest/v1.0/me", f"{API}/rest/v1.0/me"),
        (f"{API}/x?page=2&per_page=10", f"{API}/x?page=2&per_page=10"),
        (f"{API}/x?access_token=abc&page=2", f"{API}/x?access_token=[REDACTED]&page=2"),
        (
            f"{API}/x?client_secret=s3&code=c0de",
            f"{API}/x?client_secret=[REDACTED]&code=[REDACTED]",
        ),
        (f"{API}/x?api_key=k&Password=p", f"{API}/x?api_key=[REDACTED]&Password=[REDACTED]"),
        (f"{API}/x?signature=sig", f"{API}/x?signature=[REDACTED]"),
        (f"{API}/x?flag", f"{API}/x?flag"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
