"""WebhookReceiver as an ASGI app: verify, parse, dedupe, acknowledge, dispatch."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from procore_async.webhooks import MemoryDedupeStore, WebhookEvent, WebhookReceiver

from .conftest import SECRET, v2_payload, v4_payload

URL = "http://receiver.test/procore"


def _http(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://receiver.test"
    )


@pytest.fixture
def receiver() -> WebhookReceiver:
    """Not started: a test enters it itself (an anyio task group is entered and left
    in one task, and pytest-asyncio runs fixture setup and teardown in different ones)."""
    return WebhookReceiver(authorization=SECRET)


async def _post(rx: Any, payload: Any, *, auth: str | None = SECRET, **kw: Any) -> httpx.Response:
    headers = {} if auth is None else {"Authorization": auth}
    async with _http(rx) as http:
        if isinstance(payload, bytes):
            return await http.post(URL, content=payload, headers=headers, **kw)
        return await http.post(URL, json=payload, headers=headers, **kw)


async def test_accepts_then_runs_the_matching_handlers(receiver: WebhookReceiver) -> None:
    seen: list[tuple[str, WebhookEvent]] = []

    @receiver.on("RFIs", "update")
    async def exact(event: WebhookEvent) -> None:
        seen.append(("exact", event))

    @receiver.on("rfis")  # any event type, any case
    async def any_rfi(event: WebhookEvent) -> None:
        seen.append(("any", event))

    @receiver.on("Direct Cost*", "update")
    async def wildcard(event: WebhookEvent) -> None:
        seen.append(("wildcard", event))

    @receiver.catch_all
    async def rest(event: WebhookEvent) -> None:
        seen.append(("catch-all", event))

    async with receiver:
        reply = await _post(receiver, v2_payload())
        assert reply.status_code == 200
        assert reply.json() == {"status": "accepted"}
        assert (await _post(receiver, v4_payload())).status_code == 200
        assert (await _post(receiver, v2_payload(2, resource_name="Submittals"))).status_code == 200
        await receiver.join()
        assert sorted(name for name, _ in seen) == ["any", "catch-all", "exact", "wildcard"]
        assert receiver.stats.acknowledged == 3
        assert receiver.stats.handled == 3


async def test_acknowledges_before_the_handler_finishes(receiver: WebhookReceiver) -> None:
    release = anyio.Event()
    done: list[str] = []

    @receiver.on()
    async def slow(event: WebhookEvent) -> None:
        await release.wait()
        done.append(event.id)

    async with receiver:
        reply = await _post(receiver, v2_payload())
        assert reply.status_code == 200
        assert done == [] and receiver.pending == 1
        release.set()
        await receiver.join()
        assert done == ["123456789"]


async def test_join_waits_for_an_event_handed_straight_to_an_idle_worker(
    receiver: WebhookReceiver,
) -> None:
    # Regression: an event handed straight to a waiting worker was neither in the
    # queue's buffer nor yet recorded as in flight, so ``pending`` read 0 and ``join``
    # returned before its handler ran.
    handled: list[str] = []

    @receiver.on()
    async def record(event: WebhookEvent) -> None:
        handled.append(event.id)

    async with receiver:
        for i in range(1, 6):
            assert (await _post(receiver, v2_payload(i))).status_code == 200
            await receiver.join()
            assert handled == [str(n) for n in range(1, i + 1)]
            assert receiver.pending == 0
        assert receiver.stats.handled == 5


async def test_pending_counts_every_acknowledged_event_until_handled() -> None:
    rx = WebhookReceiver(authorization=SECRET, concurrency=3, shutdown_timeout=1)
    release = anyio.Event()

    @rx.on()
    async def blocked(event: WebhookEvent) -> None:
        await release.wait()

    with anyio.fail_after(5):  # a miscount used to hang the shutdown
        async with rx:
            await anyio.sleep(0.01)  # the workers are waiting on the queue
            headers = [(b"authorization", SECRET.encode())]
            for i in range(5):  # three handed to idle workers, two buffered
                status, _, _ = await rx.handle_request(headers, json.dumps(v2_payload(i)).encode())
                assert status == 200
                assert rx.pending == i + 1  # before any worker has run
            release.set()
            await rx.join()
            assert rx.pending == 0 and rx.stats.handled == 5


async def test_duplicates_are_acknowledged_and_not_dispatched(receiver: WebhookReceiver) -> None:
    calls: list[str] = []

    @receiver.on()
    async def handler(event: WebhookEvent) -> None:
        calls.append(event.id)

    async with receiver:
        for _ in range(3):
            assert (await _post(receiver, v2_payload())).status_code == 200
        assert (await _post(receiver, v2_payload())).json() == {"status": "duplicate"}
        await receiver.join()
        assert calls == ["123456789"]
        assert receiver.stats.duplicates == 3


@pytest.mark.parametrize("auth", [None, "Bearer wrong", SECRET + "x", SECRET[:-1], "", "bearer"])
async def test_a_wrong_or_missing_header_is_401_and_not_logged(
    receiver: WebhookReceiver, auth: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    @receiver.on()
    async def handler(event: WebhookEvent) -> None:
        calls.append(event.id)

    async with receiver:
        caplog.set_level(logging.DEBUG)
        reply = await _post(receiver, v2_payload(), auth=auth)
        assert reply.status_code == 401
        await receiver.join()
        assert calls == []
        assert receiver.stats.refused == 1
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "wh-test-secret" not in logged and (not auth or auth not in logged)


async def test_several_accepted_values_allow_rotation() -> None:
    rx = WebhookReceiver(authorization=["Bearer old-secret", "Bearer new-secret"])
    async with rx:
        assert (await _post(rx, v2_payload(1), auth="Bearer old-secret")).status_code == 200
        assert (await _post(rx, v2_payload(2), auth="Bearer new-secret")).status_code == 200
        assert (await _post(rx, v2_payload(3), auth="Bearer other")).status_code == 401


async def test_a_custom_header_name() -> None:
    rx = WebhookReceiver(authorization="k-12345", header="X-Procore-Key")
    async with rx:
        assert (await _post(rx, v2_payload(), auth=None)).status_code == 401
        async with _http(rx) as http:
            ok = await http.post(URL, json=v2_payload(), headers={"x-procore-key": "k-12345"})
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (json.dumps(v2_payload(api_version="v9.0")).encode(), 422, "unknown payload version"),
        (json.dumps(v2_payload(resource_name=None)).encode(), 400, "resource_name"),
    ],
)
async def test_bad_bodies_get_a_clear_4xx_and_nothing_runs(
    receiver: WebhookReceiver, body: bytes, status: int, message: str
) -> None:
    calls: list[str] = []

    @receiver.catch_all
    async def handler(event: WebhookEvent) -> None:
        calls.append(event.id)

    async with receiver:
        reply = await _post(receiver, body)
        assert reply.status_code == status
        assert message in reply.json()["error"]
        await receiver.join()
        assert calls == [] and receiver.stats.acknowledged == 0


async def test_oversized_bodies_are_413_declared_or_streamed() -> None:
    rx = WebhookReceiver(authorization=SECRET, max_body_size=1024)
    async with rx:
        big = v2_payload(padding="x" * 2000)
        assert (await _post(rx, big)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 200

        async with _http(rx) as http:
            streamed = await http.post(URL, content=chunks(), headers={"Authorization": SECRET})
        assert streamed.status_code == 413
        assert rx.stats.acknowledged == 0


async def test_only_post_is_served(receiver: WebhookReceiver) -> None:
    async with receiver:
        async with _http(receiver) as http:
            reply = await http.get(URL, headers={"Authorization": SECRET})
        assert reply.status_code == 405
        assert reply.headers["allow"] == "POST"


async def test_not_running_is_503_so_procore_retries() -> None:
    rx = WebhookReceiver(authorization=SECRET)
    reply = await _post(rx, v2_payload())
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "5"
    # Nothing was claimed: the retry is taken once the receiver runs.
    async with rx:
        assert (await _post(rx, v2_payload())).json() == {"status": "accepted"}


async def test_a_full_queue_pushes_back_and_forgets_the_claim() -> None:
    rx = WebhookReceiver(authorization=SECRET, concurrency=1, max_pending=1)
    release = anyio.Event()

    @rx.on()
    async def blocked(event: WebhookEvent) -> None:
        await release.wait()

    async with rx:
        assert (await _post(rx, v2_payload(1))).status_code == 200  # taken by the worker
        await anyio.sleep(0.01)
        assert (await _post(rx, v2_payload(2))).status_code == 200  # queued
        busy = await _post(rx, v2_payload(3))
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        release.set()
        await rx.join()
        assert (await _post(rx, v2_payload(3))).json() == {"status": "accepted"}
        await rx.join()
    assert rx.stats.busy == 1 and rx.stats.handled == 3


async def test_a_failing_handler_is_counted_and_the_others_still_run(
    receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    @receiver.on()
    async def broken(event: WebhookEvent) -> None:
        raise RuntimeError("boom with a secret body")

    @receiver.on()
    async def fine(event: WebhookEvent) -> None:
        ran.append(event.id)

    async with receiver:
        await _post(receiver, v2_payload())
        await receiver.join()
        assert ran == ["123456789"]
        assert receiver.stats.handler_errors == 1
        assert "secret body" not in caplog.text  # the exception type only
        assert "RuntimeError" in caplog.text


async def test_shutdown_finishes_acknowledged_events() -> None:
    rx = WebhookReceiver(authorization=SECRET, concurrency=2)
    done: list[str] = []

    @rx.on()
    async def slow(event: WebhookEvent) -> None:
        await anyio.sleep(0.02)
        done.append(event.id)

    async with rx:
        for i in range(10):
            assert (await _post(rx, v2_payload(i))).status_code == 200
    assert sorted(done) == sorted(str(i) for i in range(10))
    assert (await _post(rx, v2_payload(99))).status_code == 503


async def test_shutdown_timeout_releases_what_it_could_not_handle(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryDedupeStore()
    rx = WebhookReceiver(authorization=SECRET, dedupe=store, concurrency=1, shutdown_timeout=0.05)

    @rx.on()
    async def stuck(event: WebhookEvent) -> None:
        await anyio.sleep(60)

    async with rx:
        for i in range(3):
            await _post(rx, v2_payload(i))
    assert rx.stats.abandoned == 3
    assert "3 acknowledged events unhandled" in caplog.text
    assert len(store) == 0  # released: a retry or a catch-up brings them back
    assert await store.claim("0")


async def test_shutdown_releases_an_event_handed_to_a_worker_that_never_ran() -> None:
    store = MemoryDedupeStore()
    rx = WebhookReceiver(authorization=SECRET, dedupe=store, concurrency=1, shutdown_timeout=0)

    @rx.on()
    async def stuck(event: WebhookEvent) -> None:
        await anyio.sleep(60)

    with anyio.fail_after(5):  # it used to wait for the stuck handler, past the timeout
        async with rx:
            await anyio.sleep(0.01)  # the worker is waiting on the queue
            headers = [(b"authorization", SECRET.encode())]
            status, _, _ = await rx.handle_request(headers, json.dumps(v2_payload(7)).encode())
            assert status == 200 and rx.pending == 1
    assert rx.stats.abandoned == 1 and rx.stats.handled == 0
    assert len(store) == 0 and rx.pending == 0


async def test_replay_dedupes_with_live_deliveries(receiver: WebhookReceiver) -> None:
    from procore_async.webhooks import parse_event

    calls: list[str] = []

    @receiver.on()
    async def handler(event: WebhookEvent) -> None:
        calls.append(event.id)

    async with receiver:
        await _post(receiver, v2_payload(1))
        await receiver.join()
        assert not await receiver.replay(parse_event(v2_payload(1)))
        assert await receiver.replay(parse_event(v2_payload(2)))
        assert (await _post(receiver, v2_payload(2))).json() == {"status": "duplicate"}
        assert calls == ["1", "2"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="authorization"):
        WebhookReceiver(authorization="")
    with pytest.raises(ValueError, match="authorization"):
        WebhookReceiver(authorization=[])
    with pytest.raises(ValueError, match="concurrency"):
        WebhookReceiver(authorization=SECRET, concurrency=0)
    rx = WebhookReceiver(authorization=SECRET)
    with pytest.raises(ValueError, match="pattern"):
        rx.on("", "create")
    with pytest.raises(TypeError):
        rx.catch_all("not callable")  # type: ignore[arg-type]


async def test_mounted_in_starlette_with_its_lifespan() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    rx = WebhookReceiver(authorization=SECRET)
    got: list[str] = []

    @rx.on("RFIs", "update")
    async def handler(event: WebhookEvent) -> None:
        got.append(event.id)

    app = Starlette(routes=[Mount("/procore", app=rx)], lifespan=rx.lifespan)
    async with app.router.lifespan_context(app), _http(app) as http:
        reply = await http.post("/procore/", json=v2_payload(), headers={"Authorization": SECRET})
        assert reply.status_code == 200
        await rx.join()
    assert got == ["123456789"]


async def test_fastapi_include_router() -> None:
    from fastapi import FastAPI

    rx = WebhookReceiver(authorization=SECRET, max_body_size=1024)
    got: list[str] = []

    @rx.on("Direct Cost Line Items")
    async def handler(event: WebhookEvent) -> None:
        got.append(event.id)

    app = FastAPI()
    app.include_router(rx.router("/hooks/procore"))
    async with app.router.lifespan_context(app), _http(app) as http:
        ok = await http.post("/hooks/procore", json=v4_payload(), headers={"Authorization": SECRET})
        assert ok.status_code == 200 and ok.json() == {"status": "accepted"}
        bad = await http.post("/hooks/procore", json=v4_payload(), headers={"Authorization": "x"})
        assert bad.status_code == 401
        big = await http.post(
            "/hooks/procore", json=v4_payload(pad="x" * 2000), headers={"Authorization": SECRET}
        )
        assert big.status_code == 413
        await rx.join()
    assert got == ["01JMYXMZRBVKK0PC6XS8SA4QRE"]
    assert not rx.running


def test_the_receiver_runs_under_trio() -> None:
    trio = pytest.importorskip("trio")

    async def scenario() -> list[str]:
        rx = WebhookReceiver(authorization=SECRET, concurrency=2)
        got: list[str] = []

        @rx.on("RFIs")
        async def handler(event: WebhookEvent) -> None:
            got.append(event.id)

        async with rx:
            for i in range(3):
                assert (await _post(rx, v2_payload(i))).status_code == 200
            assert (await _post(rx, v2_payload(0))).json() == {"status": "duplicate"}
            await rx.join()
        return got

    assert sorted(trio.run(scenario)) == ["0", "1", "2"]
