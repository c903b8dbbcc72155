"""The one request pipeline: every kind of request through it, seen by one event hook.

Token calls, API calls, pages, sync batches and storage legs each go through
``Pipeline.send``/``stream``; the hook shows each one was paced, authenticated,
classified and retried exactly as its ``RequestSpec`` says.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import httpx
import pytest

import procore_async
from procore_async import (
    AsyncClient,
    Config,
    InvalidRequestError,
    IssuedURL,
    Requester,
    RequestEvent,
    RequestSpec,
    ResponseEvent,
    RetryEvent,
    Token,
)
from procore_async.stores import MemoryStore

API = "https://api.procore.com"
STORAGE = "https://storage.example.com/bucket/part-1?X-Amz-Signature=sig-secret"
FAST = Config(retry_backoff=0.001, max_retries=2)


class Server:
    """A scripted Procore: token endpoint, a paginated list, a sync endpoint, storage."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.failures: dict[str, list[int]] = {}  # path -> statuses to answer first

    def fail(self, path: str, *statuses: int) -> None:
        self.failures[path] = list(statuses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        queued = self.failures.get(path)
        if queued:
            return httpx.Response(queued.pop(0), json={"errors": "scripted"})
        if path == "/oauth/token":
            return httpx.Response(
                200,
                json={"access_token": "fresh-access", "refresh_token": "fresh-refresh",
                      "expires_in": 7200, "created_at": int(time.time())},
            )  # fmt: skip
        if request.url.host == "storage.example.com":
            return httpx.Response(200, headers={"ETag": '"e1"'})
        if path.endswith("/vendors/sync"):
            return httpx.Response(200, json={"entities": [{"id": 1}], "errors": []})
        if path.endswith("/projects"):
            page = int(request.url.params.get("page", "1"))
            links = f'<{API}/rest/v1.0/projects?page=2>; rel="next"' if page == 1 else ""
            return httpx.Response(
                200, json=[{"id": page}], headers={"Link": links} if links else {}
            )
        return httpx.Response(200, json={"id": 1}, headers={"X-Rate-Limit-Remaining": "99",
                              "X-Rate-Limit-Limit": "100", "X-Rate-Limit-Reset": "1"})  # fmt: skip


class Recorder:
    """One hook for all three kinds of event."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, label: str, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and e.spec.label == label]


async def _client(server: Server, *, token: Token | None = None, **kwargs: Any) -> AsyncClient:
    store = MemoryStore()
    await store.save(token or Token("access-1", "refresh-1", time.time() + 3600))
    recorder = Recorder()
    client = AsyncClient(
        "id", "secret", store, config=FAST, transport=httpx.MockTransport(server),
        event_hooks={"request": [recorder], "response": [recorder], "retry": [recorder]},
        **kwargs,
    )  # fmt: skip
    client.recorder = recorder  # type: ignore[attr-defined]
    return client


async def test_every_kind_of_request_passes_the_pipeline_as_its_description_says():
    server = Server()
    expired = Token("old-access", "refresh-1", time.time() - 10)
    client = await _client(server, token=expired)
    rec: Recorder = client.recorder  # type: ignore[attr-defined]
    server.fail("/rest/v1.0/me", 503)  # an idempotent GET: retried
    server.fail("/rest/v1.0/vendors", 500)  # a POST without a declared token: not retried
    async with client:
        assert (await client.get("me")).status_code == 200  # refresh first, then the call
        with pytest.raises(procore_async.ServerError):
            await client.post("vendors", body={"name": "x"}, idempotency_token="t-1")
        assert [item async for item in client.paginate("projects")] == [{"id": 1}, {"id": 2}]
        result = await client.sync(
            "vendors/sync", body={"updates": [{"origin_id": "a"}]}, company_id=3
        )
        assert result.ok
        leg = RequestSpec.storage("PUT", IssuedURL(STORAGE, {"x-amz-acl": "private"}),
                                  content=b"bytes")  # fmt: skip
        assert (await client.send(leg)).status_code == 200

    (oauth,) = rec.of("oauth", RequestEvent)
    assert (oauth.paced, oauth.authenticated, oauth.spec.idempotent) == (False, False, False)
    api = rec.of("api", RequestEvent)
    assert all(e.paced and e.authenticated for e in api)
    assert [e.attempt for e in api if e.spec.url.endswith("/me")] == [1, 2]
    assert [e.attempt for e in api if e.spec.url.endswith("/vendors")] == [1]
    (retry,) = rec.of("api", RetryEvent)
    assert retry.spec.url.endswith("/me") and retry.error.status_code == 503
    classified = [(e.status_code, type(e.error).__name__) for e in rec.of("api", ResponseEvent)]
    assert classified == [(503, "ServerError"), (200, "NoneType"), (500, "ServerError")]
    pages = rec.of("page", RequestEvent)
    assert len(pages) == 2 and all(e.paced and e.authenticated for e in pages)
    (batch,) = rec.of("batch", RequestEvent)
    assert batch.spec.idempotent  # keyed: every item has origin_id
    assert {"idempotency-token", "procore-company-id"} <= batch.header_names
    (storage,) = rec.of("storage", RequestEvent)
    assert (storage.paced, storage.authenticated) == (False, False)
    assert "authorization" not in storage.header_names
    sent = [r for r in server.requests if r.url.host == "storage.example.com"]
    assert len(sent) == 1 and "authorization" not in sent[0].headers
    assert sent[0].headers["x-amz-acl"] == "private" and sent[0].content == b"bytes"
    # The bearer token went to the API host only, and the refreshed one at that.
    for request in server.requests:
        if request.url.host == "api.procore.com":
            assert request.headers["Authorization"] == "Bearer fresh-access"
        else:
            assert "authorization" not in request.headers
    assert "sig-secret" not in repr(leg) and "sig-secret" not in repr(leg.issued)
    assert all("Authorization" not in event.spec.headers for event in rec.events)


@pytest.mark.parametrize(
    "spec",
    [
        RequestSpec("GET", "https://evil.example.com/rest/v1.0/me", {}),
        RequestSpec("GET", "https://login.procore.com/oauth/token", {}),  # login, with bearer
        RequestSpec("PUT", STORAGE, {}, authenticated=False, paced=False),  # not issued
        RequestSpec("PUT", STORAGE, {}, issued=IssuedURL(STORAGE), authenticated=True),
        RequestSpec("PUT", STORAGE + "&x=1", {}, issued=IssuedURL(STORAGE), authenticated=False),
    ],
    ids=["other-host", "login-with-bearer", "unissued", "issued-with-bearer", "issued-mismatch"],
)
async def test_a_spec_leaving_the_api_origin_unasked_is_refused_before_any_io(spec: RequestSpec):
    server = Server()
    client = await _client(server)
    async with client:
        with pytest.raises(InvalidRequestError):
            await client.send(spec)
        with pytest.raises(InvalidRequestError):
            async with client.stream(spec):
                pass  # pragma: no cover
    assert server.requests == []


async def test_stream_leaves_the_body_unread_and_closes_it_on_exit():
    chunks = [b"a" * 1000, b"b" * 1000]

    async def body() -> Any:
        for chunk in chunks:
            yield chunk

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(206, content=body(), headers={"Content-Range": "0-1999"})

    store = MemoryStore()
    await store.save(Token("access-1", "r", time.time() + 3600))
    async with AsyncClient("id", "s", store, transport=httpx.MockTransport(handler)) as client:
        spec = client.build("GET", "files/1", label="download")
        async with client.stream(spec) as raw:
            assert raw.status_code == 206 and not raw.is_closed
            body = b"".join([part async for part in raw.aiter_bytes()])
        assert raw.is_closed and body == b"".join(chunks)


async def test_stream_raises_the_typed_error_and_retries_an_idempotent_leg():
    server = Server()
    server.fail("/bucket/part-1", 503, 404)
    client = await _client(server)
    async with client:
        with pytest.raises(procore_async.NotFoundError):
            async with client.stream(RequestSpec.storage("GET", IssuedURL(STORAGE))):
                pass  # pragma: no cover
    assert len(server.requests) == 2


async def test_the_client_is_a_requester_and_build_checks_before_any_io():
    server = Server()
    client = await _client(server)
    async with client:
        assert isinstance(client, Requester)
        spec = client.build("patch", "projects/7/distribution_groups/9", idempotency_token="k")
        assert spec.method == "PATCH" and spec.idempotent  # declared by the catalog
        assert not client.build("PATCH", "projects/7", idempotency_token="k").idempotent
        assert not client.build("POST", "vendors/sync", idempotency_token="k").idempotent
        assert client.build("DELETE", "projects/7").idempotent
        assert "Authorization" not in client.build("GET", "me").headers
        with pytest.raises(InvalidRequestError):
            client.build("GET", "me", version="v9")
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.url = "https://elsewhere"  # type: ignore[misc]
    assert server.requests == []


async def test_a_declared_idempotent_post_is_retried_and_an_undeclared_one_is_not():
    server = Server()
    declared = "/rest/v1.0/projects/7/distribution_groups"
    server.fail(declared, 500, 502)
    server.fail("/rest/v1.0/projects/7/rfis", 500)
    client = await _client(server)
    async with client:
        response = await client.post("projects/7/distribution_groups", body={},
                                     idempotency_token="tok")  # fmt: skip
        assert response.status_code == 200
        with pytest.raises(procore_async.ServerError):
            await client.post("projects/7/rfis", body={}, idempotency_token="tok")
    paths = [r.url.path for r in server.requests]
    assert paths.count(declared) == 3
    assert paths.count("/rest/v1.0/projects/7/rfis") == 1


async def test_with_options_is_a_view_sharing_pool_tokens_pacer_and_hooks():
    server = Server()
    server.fail("/rest/v1.0/me", 500, 500, 500)
    client = await _client(server)
    async with client:
        view = client.with_options(max_retries=0, timeout=2.5)
        assert view._http is client._http and view._tokens is client._tokens
        assert view.rate_limiter is client.rate_limiter and view.hooks is client.hooks
        assert view.config.max_retries == 0 and client.config.max_retries == 2
        with pytest.raises(procore_async.ServerError):
            await view.get("me")
        assert len(server.requests) == 1
        assert view.build("GET", "me").timeout == httpx.Timeout(2.5)
        await view.aclose()  # closes nothing
        assert not client.is_closed
        with pytest.raises(ValueError, match="max_retries"):
            client.with_options(max_retries=-1)
        assert (await client.get("me")).status_code == 200  # the last scripted 500 spent
    assert len(server.requests) == 4  # 1 (view) + 2 failures and a success (client)


async def test_a_hook_that_raises_aborts_the_request_unretried():
    server = Server()
    client = await _client(server)

    async def refuse(event: RequestEvent) -> None:
        raise RuntimeError("no")

    client.hooks.request.append(refuse)
    async with client:
        with pytest.raises(RuntimeError):
            await client.get("me")
    assert server.requests == []


def test_event_hooks_are_checked():
    with pytest.raises(ValueError, match="event_hooks"):
        AsyncClient("id", "s", event_hooks={"before": []})
    with pytest.raises(TypeError):
        AsyncClient("id", "s", event_hooks={"request": ["not callable"]})


def test_the_fast_init_of_request_spec_names_every_field_in_order():
    import inspect

    fields = [(f.name, f.default) for f in dataclasses.fields(RequestSpec)]
    params = list(inspect.signature(RequestSpec.__init__).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == [
        (name, inspect.Parameter.empty if default is dataclasses.MISSING else default)
        for name, default in fields
    ]
    spec = RequestSpec("GET", f"{API}/x", {"a": "b"}, label="page")
    assert dataclasses.replace(spec, idempotent=True).label == "page"
