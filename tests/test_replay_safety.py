"""What may be resent after a failure that may have been applied, and what may not.

* sync: keyed batches (every item has ``id``/``origin_id``) are upserts and are
  retried; a batch with an unkeyed item is never resent after a lost reply or a
  5xx, and is reported in ``SyncResult.failures`` with ``OutcomeUnknownError``;
  failures certainly not applied (refused before sending, 429, 503 with
  ``Retry-After``) are retried either way;
* token grants: a refresh whose reply was lost re-reads the store before it
  decides, against FakeProcore's single-use refresh tokens;
* the pool grows with the requests in flight.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Any

import anyio
import httpx
import pytest

import procore_async
from procore_async import AsyncClient, Config, OAuthError, OutcomeUnknownError, Token
from procore_async.stores import MemoryStore
from procore_async.testing import FakeProcore

FAST = Config(retry_backoff=0.001, max_retries=5, max_retry_wait=1.0)


class SyncServer:
    """Applies each batch it receives, then answers as ``script`` says for that batch."""

    def __init__(self, script: dict[int, list[Any]]) -> None:
        self.script = script  # batch index -> what to do on each of its attempts
        self.applied: Counter[str] = Counter()
        self.sent: Counter[int] = Counter()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        index = int(request.headers["Idempotency-Token"].rsplit("-", 1)[1])
        attempt = self.sent[index]
        self.sent[index] += 1
        plan = self.script.get(index, [])
        action = plan[attempt] if attempt < len(plan) else "ok"
        if action == "refused":  # never reached the server
            raise httpx.ConnectError("refused", request=request)
        if action in ("429", "503-wait"):
            status, headers = (429, {"X-Rate-Limit-Reset": str(int(time.time()))}) if action == "429" \
                else (503, {"Retry-After": "0"})  # fmt: skip
            return httpx.Response(status, headers=headers, json={"errors": "later"})
        for update in body["updates"]:  # applied: the work is done from here on
            self.applied[update["name"]] += 1
        if action == "lost":
            raise httpx.ReadError("connection reset after the request was read", request=request)
        if action == "500":
            return httpx.Response(500, json={"errors": "oops"})
        entities = [{"id": i, "name": u["name"]} for i, u in enumerate(body["updates"])]
        return httpx.Response(200, json={"entities": entities, "errors": []})


async def _sync(server: SyncServer, updates: list[dict[str, Any]]) -> procore_async.SyncResult:
    store = MemoryStore()
    await store.save(Token("access", "refresh", time.time() + 3600))
    async with AsyncClient(
        "id", "s", store, config=FAST, transport=httpx.MockTransport(server)
    ) as client:
        return await client.sync(
            "vendors/sync", body={"updates": updates}, company_id=1, batch_size=2,
            raise_on_error=False,
        )  # fmt: skip


@pytest.mark.parametrize("failure", ["lost", "500"])
async def test_an_unkeyed_batch_that_may_have_been_applied_is_reported_not_resent(failure: str):
    updates = [{"name": f"v{i}"} for i in range(6)]  # no id, no origin_id: creates
    server = SyncServer({1: [failure]})
    result = await _sync(server, updates)
    assert server.sent == {0: 1, 1: 1, 2: 1}  # batch 1 sent once, never again
    assert max(server.applied.values()) == 1
    (failure_,) = result.failures
    assert failure_.index == 1 and failure_.updates == updates[2:4]
    assert isinstance(failure_.error, OutcomeUnknownError)
    assert "may have been applied" in str(failure_.error) and "origin_id" in str(failure_.error)
    assert [e["name"] for e in result.entities] == ["v0", "v1", "v4", "v5"]


@pytest.mark.parametrize("failure", ["refused", "429", "503-wait"])
async def test_an_unkeyed_batch_certainly_not_applied_is_retried(failure: str):
    updates = [{"name": f"v{i}"} for i in range(4)]
    server = SyncServer({0: [failure, failure]})
    result = await _sync(server, updates)
    assert result.ok and server.sent[0] == 3
    assert server.applied == Counter(u["name"] for u in updates)


@pytest.mark.parametrize("failure", ["lost", "500"])
async def test_a_keyed_batch_is_retried_after_a_lost_reply_and_applied_as_an_upsert(failure: str):
    updates = [{"origin_id": f"o{i}", "name": f"v{i}"} for i in range(4)]
    server = SyncServer({0: [failure, failure]})
    result = await _sync(server, updates)
    assert result.ok and server.sent[0] == 3
    assert [e["name"] for e in result.entities] == [u["name"] for u in updates]


async def test_a_batch_with_one_unkeyed_item_counts_as_unkeyed():
    updates = [{"id": 1, "name": "a"}, {"name": "b"}, {"origin_id": "", "name": "c"}]
    server = SyncServer({0: ["lost"], 1: ["lost"]})
    result = await _sync(server, updates)
    assert [f.index for f in result.failures] == [0, 1]
    assert server.sent == {0: 1, 1: 1}


async def test_keyed_batches_under_lost_replies_5xx_and_429s_complete_exactly_once():
    fake = FakeProcore(rate_limit=None, projects=1)
    company = fake.company_id
    updates = [{"origin_id": f"imp-{i}", "name": f"Vendor {i}"} for i in range(600)]
    async with fake.client(config=FAST.replace(max_retries=12)) as client:
        await client.refresh()
        fake.faults(error_rate=0.25, seed=4, oauth=False, only_retryable=False,
                    kinds=("drop_after", "drop_before", "500", "502", "503", "429"))  # fmt: skip
        result = await client.sync(
            "vendors/sync", body={"company_id": company, "updates": updates}, company_id=company, batch_size=20,
            concurrency=6,
        )  # fmt: skip
        fake.faults()
    assert result.ok
    assert [e["origin_id"] for e in result.entities] == [u["origin_id"] for u in updates]
    stored = Counter(r["origin_id"] for r in fake.records(company, "vendors") if r.get("origin_id"))
    assert stored == Counter(u["origin_id"] for u in updates)  # each record exactly once
    assert fake.stats.faults["drop_after"] > 0 and fake.stats.faults["429"] > 0


async def test_an_unkeyed_sync_on_the_fake_never_duplicates_and_accounts_for_every_input():
    fake = FakeProcore(rate_limit=None, projects=1)
    company = fake.company_id
    updates = [{"name": f"Unkeyed {i}"} for i in range(400)]
    async with fake.client(config=FAST) as client:
        await client.refresh()
        fake.faults(error_rate=0.3, seed=9, oauth=False, only_retryable=False,
                    kinds=("drop_after", "500", "429"))  # fmt: skip
        result = await client.sync(
            "vendors/sync", body={"company_id": company, "updates": updates}, company_id=company, batch_size=20,
            raise_on_error=False,
        )  # fmt: skip
        fake.faults()
    names = Counter(r["name"] for r in fake.records(company, "vendors"))
    assert max(names.values()) == 1
    confirmed = Counter(e["name"] for e in result.entities)
    reported = Counter(u["name"] for u in result.failed_updates)
    assert confirmed + reported == Counter(u["name"] for u in updates)
    assert result.failures and all(
        isinstance(f.error, OutcomeUnknownError) for f in result.failures
    )


# -- token grants ----------------------------------------------------------------


class LoseOneTokenReply(httpx.AsyncBaseTransport):
    """FakeProcore in process, except the first token grant's reply is lost after the
    fake applied it (its single-use refresh token is spent); optionally another
    process saves the new token meanwhile."""

    def __init__(self, fake: FakeProcore, store: MemoryStore, save_elsewhere: bool) -> None:
        self.inner = fake.transport()
        self.store = store
        self.save_elsewhere = save_elsewhere
        self.grants = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == "/oauth/token":
            self.grants += 1
            if self.grants == 1:
                await response.aread()
                if self.save_elsewhere:  # the winner of a race in another process
                    body = json.loads(response.content)
                    await self.store.save(Token.from_oauth(body))
                raise httpx.ReadError("reply lost", request=request)
        return response


async def _refresh_with_a_lost_reply(save_elsewhere: bool) -> tuple[Any, LoseOneTokenReply]:
    fake = FakeProcore()
    store = MemoryStore()
    await store.save(fake.issue_token(expires_in=-1))  # due: the first call refreshes
    transport = LoseOneTokenReply(fake, store, save_elsewhere)
    async with fake.client(store=store, grant_type="refresh_token", config=FAST,
                           transport=transport) as client:  # fmt: skip
        try:
            return await client.get("me"), transport
        except procore_async.Error as exc:
            return exc, transport


async def test_a_lost_refresh_reply_is_not_replayed_when_the_store_has_a_newer_token():
    outcome, transport = await _refresh_with_a_lost_reply(save_elsewhere=True)
    assert isinstance(outcome, procore_async.Response) and outcome.status_code == 200
    assert transport.grants == 1  # the store was read again; no second grant


async def test_a_lost_refresh_reply_with_the_token_spent_says_to_sign_in_again():
    outcome, transport = await _refresh_with_a_lost_reply(save_elsewhere=False)
    assert isinstance(outcome, OAuthError)
    assert "lost" in str(outcome) and "sign in again" in str(outcome)
    assert isinstance(outcome.__cause__, procore_async.APIConnectionError)
    assert transport.grants == 2  # sent once more: refused, as Procore documents


# -- the pool ----------------------------------------------------------------------


async def test_the_pool_grows_in_small_shards_to_the_requests_in_flight():
    from procore_async._transport import SHARD_SIZE, ShardedTransport

    async with LoopbackHTTP(hold_until=40) as server:
        store = MemoryStore()
        await store.save(Token("access", "refresh", time.time() + 3600))
        config = Config(host=f"http://127.0.0.1:{server.port}")
        async with AsyncClient("id", "s", store, config=config) as client:
            transport = client._http._transport
            assert isinstance(transport, ShardedTransport) and len(transport.shards) == 1
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(client.get, "me")
            assert server.peak == 40  # all 40 in flight at once: nothing queued
            assert len(transport.shards) == 40 // SHARD_SIZE
            assert transport.busy == [0] * len(transport.shards)  # every connection released
            with pytest.raises(procore_async.NotFoundError):
                await client.get("missing")  # an error response releases its slot too
            assert transport.busy == [0] * len(transport.shards)
    fixed = Config(max_connections=8)
    async with AsyncClient("id", "s", store, config=fixed) as client:
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert pool._max_connections == 8  # a size the caller chose is one pool of that size


class LoopbackHTTP:
    """A keep-alive HTTP/1.1 server on a free loopback port that counts requests in flight."""

    def __init__(self, hold_until: int = 1, hang_up_on: bytes | None = None) -> None:
        self.hold_until = hold_until  # hold each request until this many are in flight
        self.hang_up_on = hang_up_on  # close without answering requests whose head holds it
        self.requests = 0
        self.in_flight = 0
        self.peak = 0
        self.port = 0

    async def __aenter__(self) -> LoopbackHTTP:
        import asyncio

        async def handle(reader: Any, writer: Any) -> None:
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    self.requests += 1
                    if self.hang_up_on is not None and self.hang_up_on in head:
                        return  # read the request, then hang up: the reply is lost
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                    with anyio.move_on_after(10):  # a queued request would never arrive
                        while self.peak < self.hold_until:
                            await asyncio.sleep(0.01)
                    self.in_flight -= 1
                    status = b"404 Not Found" if b"/missing" in head else b"200 OK"
                    writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json"
                                 b"\r\nContent-Length: 2\r\n\r\n{}")  # fmt: skip
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()


async def test_the_aiohttp_transport_works_and_a_hang_up_after_sending_is_not_resent():
    if os.environ.get("CI") != "true":  # CI installs every extra: missing there is a failure
        pytest.importorskip("httpx_aiohttp", reason="the aiohttp extra is not installed")
    store = MemoryStore()
    await store.save(Token("access", "refresh", time.time() + 3600))
    async with LoopbackHTTP(hang_up_on=b"POST") as server:
        config = FAST.replace(host=f"http://127.0.0.1:{server.port}", http_transport="aiohttp")
        async with AsyncClient("id", "s", store, config=config) as client:
            assert (await client.get("me")).status_code == 200
            with pytest.raises(procore_async.APIConnectionError) as caught:
                await client.post("vendors", body={"name": "x"})
    # httpx-aiohttp maps the hang-up to ConnectTimeout ("never sent"); it was sent.
    assert caught.value.request_sent is True
    assert server.requests == 2  # the POST went once: it may have been applied
