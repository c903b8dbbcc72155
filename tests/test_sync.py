"""``AsyncClient.sync``: batching, concurrency, order, partial failure, tokens, laziness."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import trio

import procore_async
from procore_async import (
    AsyncClient,
    Config,
    InvalidRequestError,
    ServerError,
    SyncError,
    Token,
)
from procore_async._batch import merge_into
from procore_async.stores import MemoryStore
from procore_async.testing import FakeProcore

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]
FAST = Config(retry_backoff=0.01)


class SyncServer:
    """A sync endpoint that echoes each update back as an entity, and remembers every call."""

    def __init__(
        self,
        latency: Callable[[int], float] = lambda index: 0.0,
        fail: Callable[[int, int], int | None] = lambda index, attempt: None,
    ) -> None:
        self.latency = latency
        self.fail = fail
        self.calls: list[httpx.Request] = []
        self.bodies: dict[int, dict[str, Any]] = {}
        self.attempts: Counter[int] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = 0
        self.completed_records = 0

    @staticmethod
    def index_of(request: httpx.Request) -> int:
        return int(request.headers["idempotency-token"].rsplit("-", 1)[1])

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if not request.url.path.endswith("/sync"):
            return httpx.Response(200, json={"id": 1})
        index = self.index_of(request)
        body = json.loads(request.content)
        self.bodies[index] = body
        self.attempts[index] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.latency(index))
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        status = self.fail(index, self.attempts[index])
        if status is not None:
            return httpx.Response(status, json={"errors": "boom"})
        self.completed_records += len(body["updates"])
        entities = [{"id": update["id"]} for update in body["updates"]]
        return httpx.Response(200, json={"entities": entities, "errors": []})

    def batch_sizes(self) -> list[int]:
        return [len(self.bodies[index]["updates"]) for index in sorted(self.bodies)]


def make_client(
    handler: Handler, config: Config = FAST, *, token: bool = True
) -> tuple[AsyncClient, MemoryStore]:
    store = MemoryStore()
    if token:
        # MemoryStore.save only touches a dict, so it is safe to drive it synchronously here.
        store._tokens[store.key] = Token("tok", "refresh", time.time() + 3600)
    client = AsyncClient(
        "id", "secret", store, transport=httpx.MockTransport(handler), config=config
    )
    return client, store


def updates(count: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"Project {i}"} for i in range(count)]


# -- batching, as the gem cuts it ---------------------------------------------


@pytest.mark.parametrize(
    ("count", "kwargs", "sizes"),
    [
        (5, {"batch_size": 2}, [2, 2, 1]),
        (1200, {}, [500, 500, 200]),
        (1200, {"options": {"batch_size": 500}}, [500, 500, 200]),
        (2500, {"batch_size": 1000}, [1000, 1000, 500]),
        (3, {"batch_size": 1000, "options": {"batch_size": 1}}, [3]),
        (4, {"batch_size": 4}, [4]),
    ],
)
async def test_batches_are_cut_in_order(
    count: int, kwargs: dict[str, Any], sizes: list[int]
) -> None:
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        result = await client.sync("projects/sync", body={"updates": updates(count)}, **kwargs)
    assert server.batch_sizes() == sizes
    sent = [u for i in sorted(server.bodies) for u in server.bodies[i]["updates"]]
    assert sent == updates(count)
    assert [e["id"] for e in result.entities] == list(range(count))
    assert result.batches == len(sizes)
    assert len(result.responses) == len(sizes)
    assert result.status_code == result.code == 200
    assert result.ok


async def test_other_keys_and_headers_go_with_every_batch() -> None:
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        await client.sync(
            "vendors/sync",
            body={"company_id": 13, "updates": updates(5), "extra": {"a": 1}},
            company_id=13,
            batch_size=2,
        )
    assert len(server.calls) == 3
    for request in server.calls:
        assert request.method == "PATCH"
        assert request.url == "https://api.procore.com/rest/v1.0/vendors/sync"
        assert request.headers["procore-company-id"] == "13"
        assert request.headers["authorization"] == "Bearer tok"
        body = json.loads(request.content)
        assert list(body) == ["company_id", "updates", "extra"]
        assert body["company_id"] == 13
        assert body["extra"] == {"a": 1}


async def test_the_gems_test_sync_case_merges_entities_and_errors() -> None:
    not_found = {
        "id": 0,
        "name": "No project has this id value",
        "errors": {"id": ["Entity with this ID not found"]},
    }

    async def handler(request: httpx.Request) -> httpx.Response:
        (update,) = json.loads(request.content)["updates"]
        if update["id"] == 4:
            return httpx.Response(200, json={"entities": [{"id": 4, "name": "P4"}], "errors": []})
        return httpx.Response(200, json={"entities": [], "errors": [not_found]})

    client, _ = make_client(handler)
    async with client:
        result = await client.sync(
            "projects/sync",
            body={
                "company_id": 13,
                "updates": [
                    {"id": 4, "name": "Updated Project 4"},
                    {"id": 0, "name": "Updated Project 0"},
                ],
            },
            options={"batch_size": 1, "company_id": 13},
            version="v1.1",
        )
    assert result.body == {"entities": [{"id": 4, "name": "P4"}], "errors": [not_found]}
    assert result.entities == [{"id": 4, "name": "P4"}]
    assert result.errors == [not_found]
    assert [r.request.url.path for r in result.responses] == ["/rest/v1.1/projects/sync"] * 2
    assert [r.request.headers["procore-company-id"] for r in result.responses] == ["13", "13"]


async def test_other_response_keys_merge_like_the_gem() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["updates"]
        n = len(batch)
        return httpx.Response(
            200,
            json={
                "entities": batch,
                "errors": [],
                "count": n,
                "message": f"m{n}",
                "meta": {"ids": [u["id"] for u in batch], "seen": n},
            },
        )

    client, _ = make_client(handler)
    async with client:
        result = await client.sync("projects/sync", body={"updates": updates(5)}, batch_size=2)
    assert result.body["count"] == 5
    assert result.body["message"] == "m2m2m1"
    assert result.body["meta"] == {"ids": [0, 1, 2, 3, 4], "seen": 5}
    # The merge copies: the per-batch bodies are untouched.
    assert [len(r.body["entities"]) for r in result.responses] == [2, 2, 1]
    assert result.responses[0].body["meta"] == {"ids": [0, 1], "seen": 2}


@pytest.mark.parametrize(
    ("old", "new", "merged"),
    [
        ({"a": [1]}, {"a": [2, 3]}, {"a": [1, 2, 3]}),
        ({"a": 1}, {"a": 2.5}, {"a": 3.5}),
        ({"a": "x"}, {"a": "y"}, {"a": "xy"}),
        (
            {"a": {"b": [1], "c": 1}},
            {"a": {"b": [2], "d": 2}},
            {"a": {"b": [1, 2], "c": 1, "d": 2}},
        ),
        ({"a": [1]}, {"b": [2]}, {"a": [1], "b": [2]}),
        # Where the gem crashes, the later value wins.
        ({"a": None}, {"a": [1]}, {"a": [1]}),
        ({"a": [1]}, {"a": None}, {"a": None}),
        ({"a": [1]}, {"a": "s"}, {"a": "s"}),
        ({"a": 1}, {"a": "1"}, {"a": "1"}),
        ({"a": True}, {"a": True}, {"a": True}),
        ({"a": 1}, {"a": {"b": 1}}, {"a": {"b": 1}}),
    ],
)
def test_merge_table(old: dict[str, Any], new: dict[str, Any], merged: dict[str, Any]) -> None:
    assert merge_into(merge_into({}, old), new) == merged


def test_merge_never_aliases_the_batch_body() -> None:
    first = {"entities": [1], "meta": {"ids": [1]}}
    merged = merge_into({}, first)
    merge_into(merged, {"entities": [2], "meta": {"ids": [2]}})
    assert first == {"entities": [1], "meta": {"ids": [1]}}


async def test_a_batch_body_that_is_not_an_object_is_kept_but_not_merged() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)["updates"]
        if batch[0]["id"] == 0:
            return httpx.Response(200, json=["odd"])
        return httpx.Response(200, json={"entities": batch, "errors": []})

    client, _ = make_client(handler)
    async with client:
        result = await client.sync("projects/sync", body={"updates": updates(4)}, batch_size=2)
    assert [e["id"] for e in result.entities] == [2, 3]
    assert result.responses[0].body == ["odd"]


# -- validation before any I/O ------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_size": 0},
        {"batch_size": 1001},
        {"batch_size": -1},
        {"batch_size": "5"},
        {"batch_size": True},
        {"batch_size": 2.0},
        {"options": {"batch_size": 0}},
        {"options": {"batch_size": "500"}},
        {"concurrency": 0},
        {"concurrency": True},
        {"concurrency": 1.5},
        {"concurrency": 1001},
        {"method": "PUT"},
        {"method": "GET"},
    ],
)
async def test_bad_arguments_raise_value_error_before_io(kwargs: dict[str, Any]) -> None:
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        with pytest.raises(ValueError, match="sync"):
            await client.sync("projects/sync", body={"updates": updates(3)}, **kwargs)
    assert server.calls == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"company_id": 1},
        {"updates": None},
        {"updates": 5},
        {"updates": "abc"},
        {"updates": b"abc"},
        {"updates": {"id": 1}},
        [{"id": 1}],
    ],
)
async def test_bad_body_raises_invalid_request_before_io(body: Any) -> None:
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        with pytest.raises(InvalidRequestError, match="updates"):
            await client.sync("projects/sync", body=body)
    assert server.calls == []


async def test_bad_version_or_foreign_host_raise_before_io() -> None:
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        with pytest.raises(InvalidRequestError):
            await client.sync("projects/sync", body={"updates": updates(1)}, version="2")
        with pytest.raises(InvalidRequestError):
            await client.sync("https://evil.example/sync", body={"updates": updates(1)})
    assert server.calls == []


def test_config_rejects_a_default_batch_size_out_of_range() -> None:
    with pytest.raises(ValueError, match="default_batch_size"):
        Config(default_batch_size=1001)


# -- concurrency and order ----------------------------------------------------


async def test_eight_slow_batches_take_about_the_time_of_one() -> None:
    server = SyncServer(latency=lambda index: 0.5)
    client, _ = make_client(server)
    async with client:
        started = time.perf_counter()
        result = await client.sync(
            "projects/sync", body={"updates": updates(80)}, batch_size=10, concurrency=8
        )
        elapsed = time.perf_counter() - started
    assert server.max_in_flight == 8
    assert elapsed < 2.0  # one after another takes 4 s
    assert len(result.entities) == 80


async def test_concurrency_defaults_to_config_and_is_a_hard_cap() -> None:
    server = SyncServer(latency=lambda index: 0.02)
    client, _ = make_client(server, FAST.replace(max_concurrency=3))
    async with client:
        await client.sync("projects/sync", body={"updates": updates(40)}, batch_size=2)
        assert server.max_in_flight == 3
        server.max_in_flight = 0
        await client.sync(
            "projects/sync", body={"updates": updates(40)}, batch_size=2, concurrency=5
        )
        assert server.max_in_flight == 5


async def test_order_is_kept_when_batches_finish_out_of_order() -> None:
    rng = random.Random(7)
    delays = [rng.uniform(0, 0.05) for _ in range(40)]
    delays[0] = 0.1  # the first batch finishes last
    finished: list[int] = []

    def latency(index: int) -> float:
        return delays[index]

    server = SyncServer(latency=latency)
    original_call = server.__call__

    async def handler(request: httpx.Request) -> httpx.Response:
        response = await original_call(request)
        finished.append(SyncServer.index_of(request))
        return response

    client, _ = make_client(handler)
    async with client:
        result = await client.sync(
            "projects/sync", body={"updates": updates(200)}, batch_size=5, concurrency=8
        )
    assert finished != sorted(finished)
    assert [e["id"] for e in result.entities] == list(range(200))
    first_ids = [r.request_body["updates"][0]["id"] for r in result.responses]
    assert first_ids == list(range(0, 200, 5))


# -- failures, retries and idempotency tokens ---------------------------------


async def test_a_failed_batch_does_not_lose_the_others() -> None:
    server = SyncServer(fail=lambda index, attempt: 500 if index == 1 else None)
    client, _ = make_client(server)
    async with client:
        with pytest.raises(SyncError) as caught:
            await client.sync("projects/sync", body={"updates": updates(8)}, batch_size=2)
    error = caught.value
    result = error.result
    assert [e["id"] for e in result.entities] == [0, 1, 4, 5, 6, 7]
    assert len(result.responses) == 3
    (failure,) = result.failures
    assert failure.index == 1
    assert failure.updates == updates(8)[2:4]
    assert isinstance(failure.error, ServerError)
    assert failure.error.status_code == 500
    assert error.__cause__ is failure.error
    assert "1 of 4 sync batches failed (2 updates)" in str(error)
    assert "ServerError" in str(error)
    assert not result.ok
    assert result.failed_updates == updates(8)[2:4]
    # 500 on a PATCH is retried only because the batch carries a token: 1 + max_retries.
    assert server.attempts[1] == 1 + FAST.max_retries
    assert all(server.attempts[i] == 1 for i in (0, 2, 3))


async def test_raise_on_error_false_returns_the_partial_result() -> None:
    server = SyncServer(fail=lambda index, attempt: 422 if index in (0, 2) else None)
    client, _ = make_client(server)
    async with client:
        result = await client.sync(
            "projects/sync", body={"updates": updates(6)}, batch_size=2, raise_on_error=False
        )
    assert [f.index for f in result.failures] == [0, 2]
    assert [e["id"] for e in result.entities] == [2, 3]
    assert server.attempts[0] == 1  # a 422 is not retried
    assert result.failed_updates == updates(6)[0:2] + updates(6)[4:6]


async def test_a_retried_batch_reuses_its_token_and_batches_get_distinct_tokens() -> None:
    server = SyncServer(fail=lambda index, attempt: 503 if attempt == 1 and index == 2 else None)
    client, _ = make_client(server)
    async with client:
        result = await client.sync("projects/sync", body={"updates": updates(8)}, batch_size=2)
    assert result.ok
    assert server.attempts[2] == 2
    tokens_by_batch: dict[int, set[str]] = {}
    for request in server.calls:
        token = request.headers["idempotency-token"]
        tokens_by_batch.setdefault(SyncServer.index_of(request), set()).add(token)
    assert all(len(tokens) == 1 for tokens in tokens_by_batch.values())
    all_tokens = [tokens.pop() for tokens in tokens_by_batch.values()]
    assert len(set(all_tokens)) == 4


async def test_tokens_derive_from_the_callers_token_or_are_generated_per_call() -> None:
    server = SyncServer()
    client, _ = make_client(server)

    def tokens() -> list[str]:
        found = sorted(r.headers["idempotency-token"] for r in server.calls)
        server.calls.clear()
        return found

    async with client:
        await client.sync(
            "p/sync", body={"updates": updates(3)}, batch_size=1, idempotency_token="abc"
        )
        assert tokens() == ["abc-0", "abc-1", "abc-2"]
        await client.sync(
            "p/sync",
            body={"updates": updates(2)},
            batch_size=1,
            options={"idempotency_token": "xyz"},
        )
        assert tokens() == ["xyz-0", "xyz-1"]
        await client.sync("p/sync", body={"updates": updates(2)}, batch_size=1)
        first = tokens()
        await client.sync("p/sync", body={"updates": updates(2)}, batch_size=1)
        second = tokens()
    assert first[0].rsplit("-", 1)[0] == first[1].rsplit("-", 1)[0]
    assert not set(first) & set(second)


# -- lazy and async input -----------------------------------------------------


async def test_a_generator_is_not_drained_ahead() -> None:
    server = SyncServer(latency=lambda index: 0.01)
    pulled = 0
    ahead: list[int] = []
    batch_size, concurrency = 5, 3

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for row in updates(200):
            pulled += 1
            ahead.append(pulled - server.completed_records)
            yield row

    client, _ = make_client(server)
    async with client:
        result = await client.sync(
            "projects/sync",
            body={"updates": rows()},
            batch_size=batch_size,
            concurrency=concurrency,
        )
    assert pulled == 200
    assert len(result.entities) == 200
    assert max(ahead) <= concurrency * batch_size
    # ... yet it does read ahead enough to keep every slot busy.
    assert max(ahead) > (concurrency - 1) * batch_size
    assert server.max_in_flight == concurrency


async def test_an_async_iterable_works_and_has_no_total() -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        for row in updates(7):
            await anyio.lowlevel.checkpoint()
            yield row

    class Rows:
        def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
            return rows()

    progress: list[tuple[int, int | None]] = []
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        for source in (rows(), Rows()):
            result = await client.sync(
                "projects/sync",
                body={"updates": source},
                batch_size=3,
                concurrency=1,
                on_progress=lambda done, total: progress.append((done, total)),
            )
            assert [e["id"] for e in result.entities] == list(range(7))
    assert progress == [(3, None), (6, None), (7, None)] * 2


async def test_an_error_from_the_input_propagates_as_is() -> None:
    def rows() -> Iterator[dict[str, Any]]:
        yield from updates(4)
        raise RuntimeError("bad CSV row 5")

    server = SyncServer(latency=lambda index: 0.05)
    client, _ = make_client(server)
    async with client:
        with pytest.raises(RuntimeError, match="bad CSV row 5"):
            await client.sync("projects/sync", body={"updates": rows()}, batch_size=2)
        assert (await client.get("me")).body == {"id": 1}


# -- progress, method, empty input --------------------------------------------


async def test_progress_reports_records_done_and_total() -> None:
    server = SyncServer(
        latency=lambda index: random.uniform(0, 0.02),
        fail=lambda index, attempt: 500 if index == 3 else None,
    )
    seen: list[tuple[int, int | None]] = []

    async def on_progress(done: int, total: int | None) -> None:
        await anyio.lowlevel.checkpoint()
        seen.append((done, total))

    client, _ = make_client(server)
    async with client:
        await client.sync(
            "projects/sync",
            body={"updates": updates(23)},
            batch_size=5,
            on_progress=on_progress,
            raise_on_error=False,
        )
    assert len(seen) == 5
    assert all(total == 23 for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (23, 23)


async def test_a_failing_progress_callback_stops_the_sync() -> None:
    server = SyncServer(latency=lambda index: 0.01)

    def on_progress(done: int, total: int | None) -> None:
        raise KeyError("progress bar broke")

    client, _ = make_client(server)
    async with client:
        with pytest.raises(KeyError, match="progress bar broke"):
            await client.sync(
                "projects/sync",
                body={"updates": updates(50)},
                batch_size=1,
                on_progress=on_progress,
            )
    assert len(server.bodies) < 50


@pytest.mark.parametrize("method", ["POST", "post", "PATCH", "patch"])
async def test_method_patch_or_post(method: Any) -> None:
    server = SyncServer()
    client, _ = make_client(server)
    async with client:
        await client.sync(
            "budget_line_items/sync", body={"updates": updates(3)}, batch_size=2, method=method
        )
    assert [r.method for r in server.calls] == [method.upper()] * 2


@pytest.mark.parametrize("source", [[], (), iter([])], ids=["list", "tuple", "iterator"])
async def test_empty_updates_send_nothing_and_read_no_token(source: Any) -> None:
    server = SyncServer()
    progress: list[tuple[int, int | None]] = []
    # An empty store: reading the token would raise MissingTokenError.
    client, store = make_client(server, token=False)
    async with client:
        result = await client.sync(
            "projects/sync",
            body={"updates": source},
            on_progress=lambda done, total: progress.append((done, total)),
        )
    assert server.calls == []
    assert result.body == {"entities": [], "errors": []}
    assert result.entities == result.errors == result.responses == result.failures == []
    assert result.batches == 0
    assert result.ok
    assert progress == []
    assert await store.fetch() is None


async def test_empty_async_updates_send_nothing() -> None:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        return
        yield {}

    server = SyncServer()
    client, _ = make_client(server, token=False)
    async with client:
        result = await client.sync("projects/sync", body={"updates": rows()})
    assert server.calls == []
    assert result.batches == 0


# -- cancellation and other event loops ---------------------------------------


async def test_cancelling_sync_cancels_batches_in_flight_and_leaks_no_tasks() -> None:
    server = SyncServer(latency=lambda index: 30.0)
    client, _ = make_client(server)
    before = asyncio.all_tasks()
    async with client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:

                async def run() -> None:
                    await client.sync(
                        "projects/sync", body={"updates": updates(100)}, batch_size=5, concurrency=4
                    )

                tg.start_soon(run)
                with anyio.fail_after(10):
                    while server.in_flight < 4:
                        await anyio.sleep(0.01)
                scope.cancel()
        assert scope.cancelled_caught
        assert server.cancelled == 4
        assert server.in_flight == 0
        assert len(server.bodies) == 4  # nothing was started after the cancel
        await anyio.lowlevel.checkpoint()
        assert asyncio.all_tasks() == before
        # The client is still usable afterwards.
        server.latency = lambda index: 0.0
        result = await client.sync("projects/sync", body={"updates": updates(3)}, batch_size=1)
        assert [e["id"] for e in result.entities] == [0, 1, 2]


def test_sync_runs_on_trio() -> None:
    server = SyncServer(
        latency=lambda index: 0.05,
        fail=lambda index, attempt: 503 if attempt == 1 else None,
    )

    async def main() -> procore_async.SyncResult:
        client, _ = make_client(server)
        async with client:
            return await client.sync(
                "projects/sync", body={"updates": updates(12)}, batch_size=3, concurrency=4
            )

    result = trio.run(main)
    assert [e["id"] for e in result.entities] == list(range(12))
    assert server.max_in_flight == 4
    assert all(count == 2 for count in server.attempts.values())


# -- against FakeProcore: real upserts, replayed retries ----------------------


async def test_retried_batches_are_never_applied_twice_on_the_fake() -> None:
    # The lenient fake replays any tokened batch; Procore (and the strict fake) replays no
    # sync batch: tests/testing/test_sync_safety.py covers that side.
    fake = FakeProcore(rate_limit=None, projects=1, strict=False)
    company = fake.company_id
    config = FAST.replace(max_retries=10)
    # Items without id or origin_id are creates: a batch applied twice would duplicate them.
    creates = [{"name": f"Vendor {i}"} for i in range(40)]
    async with fake.client(config=config) as client:
        await client.refresh()
        fake.faults(error_rate=0.5, seed=3, kinds=("drop_after", "500", "503"), oauth=False)
        result = await client.sync(
            "vendors/sync",
            body={"company_id": company, "updates": creates},
            company_id=company,
            batch_size=4,
            concurrency=4,
        )
        fake.faults()
    assert result.ok
    assert [e["name"] for e in result.entities] == [c["name"] for c in creates]
    assert sorted(r["name"] for r in fake.records(company, "vendors")) == sorted(
        c["name"] for c in creates
    )
    assert fake.stats.replays > 0  # some batch was applied, lost its reply, and was replayed
