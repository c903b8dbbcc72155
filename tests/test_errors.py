"""The status table (behaviour reference §4.1) and what every error carries.

Every client here has ``max_retries=0`` so a retryable status (429, 5xx) is raised
after one attempt; the retry policy has its own tests.
"""

from __future__ import annotations

import pickle
import time
from typing import Any

import httpx
import pytest
import respx

from procore_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthorizationError,
    ConflictError,
    Error,
    ForbiddenError,
    InvalidRequestError,
    MissingTokenError,
    NotFoundError,
    OAuthError,
    RateLimitError,
    Response,
    ServerError,
    SyncError,
    Token,
    TokenStoreError,
    UnprocessableEntityError,
)
from procore_async._errors import error_for_response
from procore_async.stores import MemoryStore

API = "https://api.procore.com"
HOME = f"{API}/rest/v1.0/home"
TOKEN_URL = "https://login.procore.com/oauth/token"

SUCCESS = [200, 201, 202, 203, 204, 206, 207, 208, 226, 299]
FAILURES: list[tuple[int, type[Error]]] = [
    (300, APIStatusError),
    (301, APIStatusError),
    (302, APIStatusError),
    (303, APIStatusError),
    (304, APIStatusError),
    (307, APIStatusError),
    (308, APIStatusError),
    (400, InvalidRequestError),
    (402, InvalidRequestError),
    (403, ForbiddenError),
    (404, NotFoundError),
    (405, InvalidRequestError),
    (409, ConflictError),
    (410, InvalidRequestError),
    (412, InvalidRequestError),
    (415, InvalidRequestError),
    (418, InvalidRequestError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, ServerError),
    (501, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
    (599, ServerError),
]


@pytest.mark.parametrize("status", SUCCESS)
@pytest.mark.parametrize("verb", ["get", "post", "delete"])
async def test_every_2xx_returns_a_response(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, status: int
) -> None:
    respx_mock.route(url=HOME).respond(status)
    response = await getattr(make_client(), verb)("home")
    assert isinstance(response, Response)
    assert response.status_code == status


@pytest.mark.parametrize(("status", "error"), FAILURES)
async def test_status_maps_to_its_error(
    respx_mock: respx.MockRouter, make_client: Any, status: int, error: type[Error]
) -> None:
    route = respx_mock.get(url__startswith=HOME).respond(
        status,
        json={"errors": "the server says no"},
        headers={"X-Request-Id": "req-123", "Location": "https://elsewhere.example.com/"},
    )
    with pytest.raises(Error) as info:
        await make_client().get("home", query={"access_token": "q-secret", "page": 2})
    exc = info.value
    assert type(exc) is error
    assert route.call_count == 1  # a 3xx is not followed, nothing is retried here
    assert exc.response is not None
    assert exc.response.status_code == status == exc.status_code
    assert exc.response.body == {"errors": "the server says no"}
    assert exc.request_id == "req-123"
    message = str(exc)
    assert message.startswith(f"{status}")
    for part in ("GET /rest/v1.0/home", "request id req-123", "the server says no"):
        assert part in message
    assert "q-secret" not in message
    assert "page" not in message
    assert "?" not in message
    assert repr(exc).startswith(f"{type(exc).__name__}(")
    assert f"status_code={status}" in repr(exc)
    assert "q-secret" not in repr(exc)


@pytest.mark.parametrize("verb", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(("status", "error"), [(400, InvalidRequestError), (404, NotFoundError)])
async def test_the_mapping_is_the_same_for_every_verb(
    respx_mock: respx.MockRouter, make_client: Any, verb: str, status: int, error: type[Error]
) -> None:
    respx_mock.route(url=HOME).respond(status)
    with pytest.raises(error, match=f"^{status} .*: {verb.upper()} /rest/v1.0/home"):
        await getattr(make_client(), verb)("home")


async def test_a_status_without_reason_phrase_reads_cleanly(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    respx_mock.get(HOME).respond(599)
    with pytest.raises(ServerError) as info:
        await make_client().get("home")
    assert str(info.value) == "599: GET /rest/v1.0/home"


# -- 401: one refresh, one replay ------------------------------------------------


def _token_endpoint(respx_mock: respx.MockRouter) -> respx.Route:
    return respx_mock.post(TOKEN_URL).respond(
        200, json={"access_token": "new-token", "refresh_token": "r2", "expires_in": 7200}
    )


async def test_401_refreshes_once_replays_once_then_raises(
    respx_mock: respx.MockRouter, make_client: Any, token_store: MemoryStore
) -> None:
    refresh = _token_endpoint(respx_mock)
    api = respx_mock.get(HOME).respond(
        401, json={"errors": "Unauthorized"}, headers={"X-Request-Id": "r-401"}
    )
    with pytest.raises(AuthorizationError) as info:
        await make_client().get("home")
    assert refresh.call_count == 1
    assert [call.request.headers["Authorization"] for call in api.calls] == [
        "Bearer token",
        "Bearer new-token",
    ]
    assert info.value.response is not None
    assert info.value.response.body == {"errors": "Unauthorized"}
    expected = "401 Unauthorized: GET /rest/v1.0/home (request id r-401): Unauthorized"
    assert str(info.value) == expected
    saved = await token_store.fetch()
    assert saved is not None
    assert saved.access_token == "new-token"


async def test_401_then_success_after_refresh_returns_the_response(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    refresh = _token_endpoint(respx_mock)
    api = respx_mock.post(HOME)
    api.side_effect = [httpx.Response(401), httpx.Response(201, json={"id": 9})]
    response = await make_client().post("home", body={"name": "x"})
    assert response.status_code == 201
    assert response.body == {"id": 9}
    assert refresh.call_count == 1
    assert api.calls.last.request.content == b'{"name":"x"}'


async def test_401_with_a_failing_refresh_raises_authorization_error_caused_by_it(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    respx_mock.post(TOKEN_URL).respond(
        401, json={"error": "invalid_grant", "error_description": "refresh token revoked"}
    )
    api = respx_mock.get(HOME).respond(401)
    with pytest.raises(AuthorizationError) as info:
        await make_client().get("home")
    assert info.value.status_code == 401
    cause = info.value.__cause__
    assert isinstance(cause, OAuthError)
    assert cause.error == "invalid_grant"
    assert api.call_count == 1


async def test_a_token_without_expiry_is_refreshed_first(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    store = MemoryStore()
    await store.save(Token("token", "refresh"))  # no expires_at counts as expired
    refresh = _token_endpoint(respx_mock)
    api = respx_mock.get(HOME).respond(200)
    await make_client(store=store).get("home")
    assert refresh.call_count == 1
    assert api.calls.last.request.headers["Authorization"] == "Bearer new-token"


async def test_a_429_carries_the_wait_the_server_asked_for(
    respx_mock: respx.MockRouter, make_client: Any
) -> None:
    reset = int(time.time()) + 30
    respx_mock.get(HOME).respond(
        429,
        headers={
            "X-Rate-Limit-Limit": "3600",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(reset),
        },
    )
    with pytest.raises(RateLimitError) as info:
        await make_client().get("home")
    assert info.value.retry_after is not None
    assert 0 < info.value.retry_after <= 31
    assert "retry_after=" in repr(info.value)
    assert info.value.response is not None
    assert info.value.response.rate_limit is not None
    assert info.value.response.rate_limit.remaining == 0


# -- error bodies and messages ---------------------------------------------------


def _response(status: int, **kwargs: Any) -> Response:
    request = httpx.Request("PATCH", f"{HOME}/7?api_key=k")
    return Response(httpx.Response(status, request=request, **kwargs))


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"json": {"errors": "Unauthorized"}}, "Unauthorized"),
        ({"json": {"errors": ["too long", "blank"]}}, "too long; blank"),
        (
            {"json": {"errors": {"name": ["can't be blank", "is too short"], "id": "taken"}}},
            "name: can't be blank, is too short; id: taken",
        ),
        ({"json": {"error": {"message": "Not allowed", "code": "x"}}}, "Not allowed"),
        ({"json": {"error": "invalid_request"}}, "invalid_request"),
        ({"json": {"message": "Try later"}}, "Try later"),
        ({"text": "plain words"}, "plain words"),
    ],
)
def test_the_server_text_is_in_the_message(kwargs: dict[str, Any], text: str) -> None:
    error = error_for_response(_response(422, **kwargs))
    assert isinstance(error, InvalidRequestError)
    assert str(error) == f"422 Unprocessable Entity: PATCH /rest/v1.0/home/7: {text}"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "<html><body><h1>500 Internal Server Error</h1></body></html>"},
        {"content": b""},
        {"json": []},
        {"json": {"errors": ""}},
        {"json": 42},
    ],
)
def test_a_body_without_usable_text_gives_the_bare_message(kwargs: dict[str, Any]) -> None:
    error = error_for_response(_response(500, **kwargs))
    assert isinstance(error, ServerError)
    assert str(error) == "500 Internal Server Error: PATCH /rest/v1.0/home/7"
    assert error.response is not None
    _ = error.response.body  # reading the body of an error never raises


def test_an_html_error_page_stays_readable_as_text() -> None:
    page = "<html><body>Bad Gateway</body></html>"
    error = error_for_response(_response(502, text=page))
    assert error.response is not None
    assert error.response.body == page
    assert error.response.text == page


def test_long_server_text_is_cut() -> None:
    error = error_for_response(_response(400, json={"errors": "x" * 5000}))
    assert len(str(error)) < 300


# -- the hierarchy ------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls",
    [
        APIConnectionError,
        APITimeoutError,
        AuthorizationError,
        ForbiddenError,
        InvalidRequestError,
        MissingTokenError,
        NotFoundError,
        OAuthError,
        RateLimitError,
        ServerError,
        SyncError,
        TokenStoreError,
    ],
)
def test_every_error_is_a_procore_async_error(cls: type[Error]) -> None:
    assert issubclass(cls, Error)
    assert issubclass(cls, Exception)
    assert cls.__module__ == "procore_async"


def test_a_timeout_is_a_connection_error() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)


def test_an_error_without_response() -> None:
    error = MissingTokenError("no token")
    assert error.response is None
    assert error.status_code is None
    assert error.request_id is None
    assert error.retry_after is None
    assert str(error) == "no token"
    assert repr(error) == "MissingTokenError('no token')"


def test_a_simple_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(NotFoundError("gone")))
    assert type(error) is NotFoundError
    assert str(error) == "gone"
