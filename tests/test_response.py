"""Response: body parsing that never raises, headers, and the metadata accessors.

Ports the body cases of the gem's ``response_test.rb`` (§10.2); its Link-header
cases live with the pagination tests.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from procore_async import RateLimit, Response

API = "https://api.procore.com"
HOME = f"{API}/rest/v1.0/home"


def make(status: int = 200, *, request_body: Any = None, **kwargs: Any) -> Response:
    request = httpx.Request("GET", f"{HOME}?page=2&access_token=secret")
    return Response(httpx.Response(status, request=request, **kwargs), request_body=request_body)


# -- body -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"json": {"key": "value"}}, {"key": "value"}),
        ({"json": [{"key": "value"}]}, [{"key": "value"}]),
        ({"json": {"a": {"b": [{"c": 1}]}}}, {"a": {"b": [{"c": 1}]}}),
        ({"content": b"42"}, 42),
        ({"content": b"null"}, None),
        ({"content": b'"text"'}, "text"),
        ({"content": b""}, {}),
        ({"content": b"  \r\n "}, {}),
        ({"content": b'{"json":"without content-type"}'}, {"json": "without content-type"}),
        ({"text": "<html><body>Internal Server Error</body></html>"}, None),
        ({"text": "not json {"}, "not json {"),
        ({"content": "café".encode()}, "café"),
    ],
)
def test_body(kwargs: dict[str, Any], body: Any) -> None:
    response = make(**kwargs)
    expected = response.text if "text" in kwargs and body is None else body
    assert response.body == expected
    assert response.json() == expected


def test_an_empty_body_is_an_empty_dict_not_the_string() -> None:
    # The gem returns the String "{}" here; a dict is what every caller expects.
    body = make(204).body
    assert body == {}
    assert isinstance(body, dict)


def test_a_non_json_body_is_the_text_and_reading_it_never_raises() -> None:
    page = "<html><body><h1>500</h1></body></html>"
    response = make(500, text=page, headers={"Content-Type": "application/json"})
    assert response.body == page
    assert response.text == page


def test_undecodable_bytes_do_not_raise() -> None:
    response = make(200, content=b"\xff\xfe\xfa not utf-8")
    assert isinstance(response.body, str)


def test_the_body_is_parsed_once() -> None:
    response = make(json={"a": [1]})
    assert response.body is response.body


# -- request side -------------------------------------------------------------------


@pytest.mark.parametrize("request_body", [None, {"name": "x"}, [1, 2, 3]])
def test_request_body_is_passed_through_unchanged(request_body: Any) -> None:
    assert make(request_body=request_body).request_body is request_body


def test_request_and_url() -> None:
    response = make()
    assert isinstance(response.request, httpx.Request)
    assert response.request.method == "GET"
    assert response.url == f"{HOME}?page=2&access_token=secret"


def test_repr_shows_method_and_path_but_no_query() -> None:
    text = repr(make(404))
    assert text == "<Response [404] GET /rest/v1.0/home>"
    assert "secret" not in text


# -- status and headers -----------------------------------------------------------


@pytest.mark.parametrize(("status", "success"), [(200, True), (299, True), (302, False)])
def test_status_code_and_its_gem_alias(status: int, success: bool) -> None:
    response = make(status)
    assert response.status_code == response.code == status
    assert response.is_success is success


def test_headers_are_case_insensitive() -> None:
    response = make(headers={"X-Request-Id": "abc", "Content-Type": "application/json"})
    assert response.headers["x-request-id"] == "abc"
    assert response.headers["X-REQUEST-ID"] == "abc"
    assert response.headers.get("content-type") == "application/json"


@pytest.mark.parametrize(
    ("headers", "total", "per_page"),
    [
        ({"Total": "173", "Per-Page": "100"}, 173, 100),
        ({"total": " 5 ", "per-page": "1"}, 5, 1),
        ({"Total": "0"}, 0, None),
        ({}, None, None),
        ({"Total": "", "Per-Page": "  "}, None, None),
        ({"Total": "many", "Per-Page": "1.5"}, None, None),
        ({"Total": "-3", "Per-Page": "1e3"}, None, None),
        ({"Total": "1_000", "Per-Page": "0x10"}, None, None),
        ({"Total": "\uff11\uff12".encode()}, None, None),  # full-width digits, as UTF-8
    ],
)
def test_total_and_per_page(
    headers: dict[str, Any], total: int | None, per_page: int | None
) -> None:
    response = make(headers=headers)
    assert response.total == total
    assert response.per_page == per_page


@pytest.mark.parametrize(
    ("headers", "request_id"),
    [({"X-Request-Id": "a1b2"}, "a1b2"), ({"x-request-id": "low"}, "low"), ({}, None)],
)
def test_request_id(headers: dict[str, str], request_id: str | None) -> None:
    assert make(headers=headers).request_id == request_id


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {
                "X-Rate-Limit-Limit": "3600",
                "X-Rate-Limit-Remaining": "3599",
                "X-Rate-Limit-Reset": "1700000000",
            },
            RateLimit(limit=3600, remaining=3599, reset=1700000000),
        ),
        ({}, None),
        ({"X-Rate-Limit-Limit": "3600"}, None),
        ({"X-Rate-Limit-Remaining": "lots", "X-Rate-Limit-Limit": "3600"}, None),
    ],
)
def test_rate_limit(headers: dict[str, str], expected: RateLimit | None) -> None:
    assert make(headers=headers).rate_limit == expected


# -- through the client ------------------------------------------------------------


async def test_the_client_returns_a_full_response(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    respx_mock.post(HOME).respond(
        201,
        json=[{"id": 1}],
        headers={"X-Request-Id": "rid", "Total": "1", "Per-Page": "100"},
    )
    body = {"name": "x"}
    response = await make_client().post("home", body=body)
    assert response.code == 201
    assert response.body == [{"id": 1}]
    assert response.request_id == "rid"
    assert (response.total, response.per_page) == (1, 100)
    assert response.request_body is body
    assert response.request.headers["Authorization"] == "Bearer token"
    assert response.request.method == "POST"
