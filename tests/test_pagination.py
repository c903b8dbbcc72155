"""Pagination: link following, fetching ahead, limits, hostile links, cancellation.

The server side is :class:`Collection`, a respx side effect that pages a
collection of ``{"id": n}`` items the way Procore (Rails ``api-pagination``) does:
``Link`` entries in the order first, prev, last, next, absolute URLs built from
the request URL (so the API version and query come back), ``Total``, ``Per-Page``
and ``X-Rate-Limit-*`` headers.  It records every request and how many were in
flight at once.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import math
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procore_async import AsyncClient, Config, Error, InvalidRequestError, Response, Token
from procore_async._pagination import items_of, page_number, with_page
from procore_async.stores import MemoryStore

API = "https://api.procore.com"
COLLECTION = re.compile(r"/rest/v\d+\.\d+/projects")


class Collection:
    """A paginated ``projects`` endpoint with ``total`` items (see the module docstring)."""

    def __init__(
        self,
        total: int,
        *,
        default_per_page: int = 100,
        latency: float = 0.0,
        v2: bool = False,
        counts: bool = True,
        claimed_total: int | None = None,
        link: Callable[[httpx.Request, int, int], str | None] | None = None,
    ) -> None:
        self.total = total
        self.default_per_page = default_per_page
        self.latency = latency
        self.v2 = v2
        self.counts = counts  # send Total and Per-Page
        self.claimed_total = total if claimed_total is None else claimed_total  # what Total says
        self.link = link or self.procore_link
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.peak = 0

    @property
    def pages_requested(self) -> list[int]:
        return [int(request.url.params.get("page", 1)) for request in self.requests]

    def procore_link(self, request: httpx.Request, page: int, last: int) -> str | None:
        per_page = int(request.url.params.get("per_page", self.default_per_page))

        def entry(number: int, rel: str) -> str:
            url = request.url.copy_set_param("page", number).copy_set_param("per_page", per_page)
            return f'<{url}>; rel="{rel}"'

        entries = [entry(1, "first"), entry(page - 1, "prev")] if page > 1 else []
        if page < last:
            entries += [entry(last, "last"), entry(page + 1, "next")]
        return ", ".join(entries) or None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await anyio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        page = int(request.url.params.get("page", 1))
        per_page = int(request.url.params.get("per_page", self.default_per_page))
        last = max(1, math.ceil(self.claimed_total / per_page))
        items = [{"id": n} for n in range((page - 1) * per_page, min(page * per_page, self.total))]
        headers = {
            "X-Rate-Limit-Limit": "3600",
            "X-Rate-Limit-Remaining": "3000",
            "X-Rate-Limit-Reset": str(int(time.time()) + 3600),
        }
        if self.counts:
            headers |= {"Total": str(self.claimed_total), "Per-Page": str(per_page)}
        link = self.link(request, page, last)
        if link is not None:
            headers["Link"] = link
        return httpx.Response(200, json={"data": items} if self.v2 else items, headers=headers)


async def mock_client(
    collection: Collection, *, host: str = API
) -> tuple[AsyncClient, respx.Router]:
    """A client whose transport is a respx router serving ``collection`` (any event loop)."""
    router = respx.Router(base_url=host, assert_all_called=False)
    router.get(path__regex=COLLECTION.pattern).mock(side_effect=collection)
    store = MemoryStore()
    await store.save(Token("tok", "refresh", time.time() + 3600))
    client = AsyncClient(
        "id",
        "secret",
        store,
        config=Config(host=host, max_retries=0),
        transport=httpx.MockTransport(router.async_handler),
    )
    return client, router


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Collection], Awaitable[AsyncClient]]]:
    """``await serve(collection)``: a client on ``collection``, closed after the test."""
    clients: list[AsyncClient] = []

    async def factory(collection: Collection) -> AsyncClient:
        client, _ = await mock_client(collection)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


async def collect(iterator: Any) -> list[Any]:
    """Every item of ``iterator``; a walk that never ends fails instead of hanging."""
    with anyio.fail_after(30):
        return [item async for item in iterator]


async def drain(iterator: Any, seen: list[int]) -> None:
    """Walk ``iterator`` to its end (or its error), noting the ids seen on the way."""
    async for item in iterator:
        seen.append(item["id"])


def ids(items: list[dict[str, int]]) -> list[int]:
    return [item["id"] for item in items]


# -- helpers -------------------------------------------------------------------------


def test_items_of_accepts_lists_and_v2_bodies_only() -> None:
    assert items_of([1, 2]) == [1, 2]
    assert items_of({"data": [3]}) == [3]
    assert items_of({}) == []
    assert items_of({"id": 1}) is None
    assert items_of("<html>") is None


def test_with_page_replaces_only_the_page_parameter() -> None:
    url = f"{API}/rest/v1.1/projects?filters[ids][]=1&page=2&per_page=5"
    assert with_page(url, 7) == f"{API}/rest/v1.1/projects?filters[ids][]=1&per_page=5&page=7"
    assert with_page(f"{API}/x", 3) == f"{API}/x?page=3"
    assert page_number(with_page(url, 12)) == 12
    assert page_number(f"{API}/x?page=abc") is None
    assert page_number(f"{API}/x?page=0") is None


# -- walking ---------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 4, None])
async def test_items_come_in_order_across_pages(serve: Any, concurrency: int | None) -> None:
    collection = Collection(250)
    client = await serve(collection)
    items = await collect(client.paginate("projects", per_page=20, concurrency=concurrency))
    assert ids(items) == list(range(250))
    assert sorted(collection.pages_requested) == list(range(1, 14))


async def test_async_with_walks_the_same_sequence(serve: Any) -> None:
    collection = Collection(250, latency=0.001)
    client = await serve(collection)
    async with client.paginate("projects", per_page=20, concurrency=3) as items:
        assert ids(await collect(items)) == list(range(250))
    assert sorted(collection.pages_requested) == list(range(1, 14))


@pytest.mark.parametrize("concurrency", [1, None])
async def test_the_api_version_and_query_are_kept_on_every_page(
    serve: Any, concurrency: int | None
) -> None:
    collection = Collection(30)
    client = await serve(collection)
    items = client.paginate(
        "projects", version="v1.1", query={"filters": {"active": True}}, company_id=42,
        per_page=10, concurrency=concurrency,
    )  # fmt: skip
    assert len(await collect(items)) == 30
    for request in collection.requests:
        assert request.url.path == "/rest/v1.1/projects"
        assert request.url.params["filters[active]"] == "true"
        assert request.headers["Procore-Company-Id"] == "42"


async def test_pagination_next_can_be_passed_to_get(serve: Any) -> None:
    collection = Collection(12)
    client = await serve(collection)
    first = await client.get("projects", version="v2.0", query={"per_page": 5})
    second = await client.get(first.pagination["next"])
    assert second.request.url.path == "/rest/v2.0/projects"
    assert ids(second.body) == [5, 6, 7, 8, 9]
    assert ids((await client.get(second.pagination["last"])).body) == [10, 11]


async def test_pages_yields_responses(serve: Any) -> None:
    client = await serve(Collection(25))
    pages = await collect(client.pages("projects", per_page=10))
    assert [type(page) for page in pages] == [Response] * 3
    assert [page.total for page in pages] == [25] * 3
    assert [len(page.body) for page in pages] == [10, 10, 5]


@pytest.mark.parametrize("concurrency", [1, None])
@pytest.mark.parametrize(("max_items", "pages"), [(35, 4), (40, 4), (41, 5), (5, 1)])
async def test_max_items_stops_without_fetching_more_pages(
    serve: Any, concurrency: int | None, max_items: int, pages: int
) -> None:
    collection = Collection(1000)
    client = await serve(collection)
    items = client.paginate("projects", per_page=10, max_items=max_items, concurrency=concurrency)
    assert ids(await collect(items)) == list(range(max_items))
    assert sorted(collection.pages_requested) == list(range(1, pages + 1))


async def test_max_items_zero_sends_nothing(serve: Any) -> None:
    collection = Collection(10)
    assert await collect((await serve(collection)).paginate("projects", max_items=0)) == []
    assert collection.requests == []


@pytest.mark.parametrize("concurrency", [1, None])
async def test_start_page_starts_there(serve: Any, concurrency: int | None) -> None:
    collection = Collection(50)
    client = await serve(collection)
    items = client.paginate("projects", per_page=10, start_page=3, concurrency=concurrency)
    assert ids(await collect(items)) == list(range(20, 50))
    assert collection.pages_requested[0] == 3
    assert sorted(collection.pages_requested) == [3, 4, 5]


async def test_v2_data_bodies(serve: Any) -> None:
    collection = Collection(23, v2=True, default_per_page=10)
    client = await serve(collection)
    assert ids(await collect(client.paginate("projects", version="v2.0"))) == list(range(23))


@pytest.mark.parametrize("header", [None, ""])
async def test_a_single_page_without_links(serve: Any, header: str | None) -> None:
    collection = Collection(7, counts=False, link=lambda *_: header)
    client = await serve(collection)
    assert ids(await collect(client.paginate("projects"))) == list(range(7))
    assert len(collection.requests) == 1


async def test_a_body_that_is_not_a_collection_is_an_error(
    respx_mock: Any, make_client: Any
) -> None:
    respx_mock.get(f"{API}/rest/v1.0/me").respond(200, json={"id": 1})
    with pytest.raises(Error, match="did not return a list"):
        await collect(make_client().paginate("me"))


@pytest.mark.parametrize(
    "argument", [{"per_page": 0}, {"max_items": -1}, {"concurrency": 0}, {"start_page": 0}]
)
async def test_bad_arguments_are_refused_before_any_request(
    serve: Any, argument: dict[str, int]
) -> None:
    collection = Collection(5)
    with pytest.raises(ValueError, match=next(iter(argument))):
        (await serve(collection)).paginate("projects", **argument)
    assert collection.requests == []


async def test_an_empty_page_ends_the_walk(serve: Any) -> None:
    def always_next(request: httpx.Request, page: int, last: int) -> str:
        return f'<{request.url.copy_set_param("page", page + 1)}>; rel="next"'

    collection = Collection(15, counts=False, link=always_next)
    items = await collect((await serve(collection)).paginate("projects", per_page=10))
    assert ids(items) == list(range(15))
    assert collection.pages_requested == [1, 2, 3]


@pytest.mark.parametrize("managed", [False, True])
async def test_an_empty_page_ends_a_concurrent_walk_when_the_total_was_stale(
    serve: Any, managed: bool
) -> None:
    """``Total`` promises 20 pages but items run out on page 3 (deleted meanwhile)."""
    collection = Collection(25, claimed_total=200)
    client = await serve(collection)
    iterator = client.paginate("projects", per_page=10, concurrency=4)
    with anyio.fail_after(10):
        if managed:
            async with iterator:
                items = await collect(iterator)
        else:
            items = await collect(iterator)
    assert ids(items) == list(range(25))
    assert max(collection.pages_requested) <= 3 + 4  # no further than one window past it


async def test_short_pages_continue_while_there_is_a_next_link(serve: Any) -> None:
    sizes = {1: 3, 2: 1, 3: 2}

    async def uneven(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 1))
        start = sum(size for number, size in sizes.items() if number < page)
        headers = {}
        if page < len(sizes):
            headers["Link"] = f'<{request.url.copy_set_param("page", page + 1)}>; rel="next"'
        return httpx.Response(
            200, json=[{"id": start + n} for n in range(sizes[page])], headers=headers
        )

    client, router = await mock_client(Collection(0))
    router.routes.clear()
    router.get(path__regex=COLLECTION.pattern).mock(side_effect=uneven)
    async with client:
        assert ids(await collect(client.paginate("projects", per_page=3))) == list(range(6))


async def test_links_that_contradict_the_prediction_are_followed(serve: Any) -> None:
    """Totals say 5 pages, but the server's next links skip page 3: the links win."""

    def skipping(request: httpx.Request, page: int, last: int) -> str | None:
        following = {1: 2, 2: 4, 4: 5}.get(page)
        if following is None:
            return None
        return f'<{request.url.copy_set_param("page", following)}>; rel="next"'

    collection = Collection(50, link=skipping)
    items = await collect(
        (await serve(collection)).paginate("projects", per_page=10, concurrency=2)
    )
    assert ids(items) == [*range(20), *range(30, 50)]


# -- hostile and broken links ------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, None])
async def test_a_next_link_to_another_host_raises_and_sends_nothing_there(
    concurrency: int | None,
) -> None:
    def leaky(request: httpx.Request, page: int, last: int) -> str | None:
        host = "https://evil.example" if page == 2 else API
        return f'<{host}/rest/v1.0/projects?page={page + 1}&per_page=10>; rel="next"'

    collection = Collection(100, link=leaky)
    client, router = await mock_client(collection)
    evil = router.route(host="evil.example").respond(200, json=[])
    seen: list[int] = []
    async with client:
        walk = client.paginate("projects", per_page=10, concurrency=concurrency)
        with pytest.raises(InvalidRequestError, match=r"evil\.example") as caught:
            await drain(walk, seen)
    assert seen == list(range(20))
    assert not evil.called
    assert caught.value.response is not None
    assert all(request.url.host == "api.procore.com" for request in collection.requests)


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        '<https://api.procore.com:port/rest/v1.0/projects?page=2>; rel="next"',
        '<http://[::1/rest/v1.0/projects?page=2>; rel="next"',
    ],
)
async def test_a_malformed_link_header_is_ignored_with_a_warning(
    serve: Any, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    collection = Collection(5, link=lambda *_: header)
    with caplog.at_level(logging.WARNING, logger="procore_async"):
        items = await collect((await serve(collection)).paginate("projects"))
    assert ids(items) == list(range(5))
    assert any("ignoring" in record.getMessage() for record in caplog.records)


async def test_a_trailing_comma_in_the_link_header_is_tolerated(serve: Any) -> None:
    collection = Collection(20, link=lambda request, page, last: (
        f'<{request.url.copy_set_param("page", 2)}>; rel="next", ' if page == 1 else None
    ))  # fmt: skip
    assert len(await collect((await serve(collection)).paginate("projects", per_page=10))) == 20


# -- concurrency -----------------------------------------------------------------------


@pytest.mark.parametrize("managed", [False, True])
async def test_pages_in_flight_never_exceed_the_concurrency(serve: Any, managed: bool) -> None:
    collection = Collection(600, latency=0.01)
    client = await serve(collection)
    iterator = client.paginate("projects", per_page=10, concurrency=4)
    if managed:
        async with iterator:
            assert len(await collect(iterator)) == 600
    else:
        assert len(await collect(iterator)) == 600
    assert 2 <= collection.peak <= 4


async def test_pages_held_ahead_are_bounded_while_the_caller_is_slow(serve: Any) -> None:
    collection = Collection(300, latency=0.002)
    client = await serve(collection)
    ahead = []
    async with client.pages("projects", per_page=10, concurrency=3) as pages:
        async for taken, _ in enumerate_async(pages, start=1):
            await anyio.sleep(0.01)  # the caller works; the producer fills its window
            ahead.append(len(collection.requests) - taken)
    assert max(ahead) == 3  # it did fetch ahead, and never more than the window
    assert len(collection.requests) == 30


async def enumerate_async(iterator: Any, start: int = 0) -> AsyncIterator[tuple[int, Any]]:
    index = start
    async for value in iterator:
        yield index, value
        index += 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    total=st.integers(0, 120),
    per_page=st.integers(1, 25),
    concurrency=st.integers(2, 9),
    max_items=st.none() | st.integers(0, 130),
    start_page=st.none() | st.integers(1, 4),
    counts=st.booleans(),
    managed=st.booleans(),
)
def test_concurrent_walks_yield_what_link_following_yields(
    total: int,
    per_page: int,
    concurrency: int,
    max_items: int | None,
    start_page: int | None,
    counts: bool,
    managed: bool,
) -> None:
    async def walk(concurrency: int) -> tuple[list[int], list[int]]:
        collection = Collection(total, counts=counts)
        client, _ = await mock_client(collection)
        async with client:
            iterator = client.paginate(
                "projects", per_page=per_page, max_items=max_items, concurrency=concurrency,
                start_page=start_page,
            )  # fmt: skip
            if managed:
                async with iterator:
                    items = await collect(iterator)
            else:
                items = await collect(iterator)
        return ids(items), sorted(collection.pages_requested)

    sequential, sequential_pages = anyio.run(walk, 1)
    concurrent, concurrent_pages = anyio.run(walk, concurrency)
    first = (start_page or 1) - 1
    expected = list(range(first * per_page, total))[:max_items]
    assert sequential == concurrent == expected
    # Fetching ahead never asks for a page that following the links would not have asked for.
    assert concurrent_pages == sequential_pages


# -- stopping early --------------------------------------------------------------------


def other_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


@pytest.mark.parametrize("managed", [False, True])
async def test_break_stops_fetching_and_leaks_no_task(serve: Any, managed: bool) -> None:
    collection = Collection(1000, latency=0.005)
    client = await serve(collection)
    seen = []
    iterator = client.paginate("projects", per_page=10, concurrency=4)
    with anyio.fail_after(10):
        if managed:
            async with iterator:
                async for item in iterator:
                    seen.append(item["id"])
                    if len(seen) == 25:
                        break
        else:
            async for item in iterator:
                seen.append(item["id"])
                if len(seen) == 25:
                    break
    assert seen == list(range(25))
    assert other_tasks() == set()
    requested = len(collection.requests)
    assert requested <= 1 + 2 * 4  # the first page, then at most two windows
    await anyio.sleep(0.05)
    assert len(collection.requests) == requested  # nothing keeps fetching in the background
    assert collection.in_flight == 0
    assert len((await client.get("projects")).body) == 100


@pytest.mark.parametrize("managed", [False, True])
async def test_cancelling_the_task_mid_walk_stops_every_fetch(serve: Any, managed: bool) -> None:
    collection = Collection(10_000, latency=0.02)
    client = await serve(collection)
    seen: list[int] = []

    async def walk() -> None:
        iterator = client.paginate("projects", per_page=10, concurrency=6)
        if managed:
            async with iterator:
                seen.extend([item["id"] async for item in iterator])
        else:
            seen.extend([item["id"] async for item in iterator])

    with anyio.fail_after(10), anyio.move_on_after(0.15) as scope:
        await walk()
    assert scope.cancelled_caught
    assert other_tasks() == set()
    assert collection.in_flight == 0
    requested = len(collection.requests)
    await anyio.sleep(0.05)
    assert len(collection.requests) == requested
    assert len((await client.get("projects")).body) == 100


async def test_a_failed_page_is_raised_in_order_after_the_pages_before_it(
    respx_mock: Any, make_client: Any
) -> None:
    collection = Collection(100)

    async def failing(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "4":
            return httpx.Response(404, json={"errors": "gone"})
        return await collection(request)

    respx_mock.get(path__regex=COLLECTION.pattern).mock(side_effect=failing)
    seen: list[int] = []
    walk = make_client().paginate("projects", per_page=10, concurrency=5)
    with pytest.raises(Error) as caught:
        await drain(walk, seen)
    assert caught.value.status_code == 404
    assert seen == list(range(30))


# -- a real HTTP server: the connection pool after a cancelled walk ---------------------


@asynccontextmanager
async def real_server(latency: float) -> AsyncIterator[str]:
    """A uvicorn server on a free local port, in a thread, serving a paged collection."""
    uvicorn = pytest.importorskip("uvicorn")
    collection = Collection(5000, latency=0)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await asyncio.sleep(latency)
        url = f"http://{scope['server'][0]}:{scope['server'][1]}{scope['path']}"
        query = scope["query_string"].decode()
        response = await collection(httpx.Request("GET", f"{url}?{query}" if query else url))
        headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 5)
        sock.close()


async def test_a_cancelled_walk_leaves_no_active_connection_in_the_pool() -> None:
    async with real_server(latency=0.05) as host, httpx.AsyncClient() as http:
        store = MemoryStore()
        await store.save(Token("tok", "refresh", time.time() + 3600))
        async with AsyncClient(
            "id", "secret", store, config=Config(host=host), http_client=http
        ) as client:
            seen = 0
            with anyio.move_on_after(0.3):
                async for _ in client.paginate("projects", per_page=10, concurrency=6):
                    seen += 1
            assert 10 <= seen < 5000
            assert other_tasks() == set()
            pool = http._transport._pool  # type: ignore[attr-defined]
            # Requests cut short closed their connections; none is left checked out.
            assert not pool._requests
            assert all(c.is_idle() or c.is_closed() for c in pool.connections)
            assert len((await client.get("projects", query={"per_page": 3})).body) == 3
            assert pool.connections
            assert all(c.is_idle() for c in pool.connections)


# -- trio -----------------------------------------------------------------------------


def _trio_is_usable() -> bool:
    trio = pytest.importorskip("trio")
    needed = next(
        (r for r in importlib.metadata.requires("anyio") or [] if r.startswith("trio")), ""
    )
    found = re.search(r">=\s*([\d.]+)", needed)
    minimum = tuple(int(part) for part in found.group(1).split(".")) if found else (0,)
    return tuple(int(part) for part in trio.__version__.split(".")[:3]) >= minimum


@pytest.mark.skipif(
    not _trio_is_usable(), reason="the installed trio is older than this anyio's trio extra needs"
)
def test_the_walks_run_under_trio() -> None:
    import trio

    async def scenario(run: Callable[[AsyncClient], Awaitable[None]]) -> None:
        client, _ = await mock_client(Collection(400, latency=0.002))
        async with client:
            await run(client)

    async def plain(client: AsyncClient) -> None:
        items = await collect(client.paginate("projects", per_page=10, concurrency=4))
        assert ids(items) == list(range(400))

    async def managed(client: AsyncClient) -> None:
        async with client.paginate("projects", per_page=10, max_items=155) as items:
            assert ids(await collect(items)) == list(range(155))

    async def broken_off(client: AsyncClient) -> None:
        async for item in client.paginate("projects", per_page=10):
            if item["id"] == 42:
                break
        with trio.move_on_after(0.02):
            async with client.paginate("projects", per_page=10) as items:
                await collect(items)
        assert len((await client.get("projects")).body) == 100

    for run in (plain, managed, broken_off):
        trio.run(scenario, run)
