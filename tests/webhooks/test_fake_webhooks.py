"""FakeProcore's side: stored hooks, events for every change, Procore's delivery rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from procore_async import AsyncClient
from procore_async.testing import FakeProcore
from procore_async.webhooks import Scope

DEST = "https://dest.example.test"


class Recorder:
    """An ASGI destination that records every delivery and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.gate: anyio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((headers, json.loads(body)))
        if self.gate is not None:
            await self.gate.wait()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    @property
    def payloads(self) -> list[Any]:
        return [p for _, p in self.requests]


@pytest.fixture
def fake() -> FakeProcore:
    fake = FakeProcore(projects=3, seed=9)
    fake.webhooks.configure(time_scale=0.0001, seed=1)
    return fake


@pytest.fixture
async def client(fake: FakeProcore) -> AsyncIterator[AsyncClient]:
    async with fake.client() as client:
        yield client
    await fake.webhooks.aclose()


async def _hook(
    client: AsyncClient, fake: FakeProcore, triggers: list[tuple[str, str]], **kw: Any
) -> int:
    scope = kw.pop("scope", Scope.company(fake.company_id))
    result = await client.webhooks.ensure(
        scope,
        namespace=kw.pop("namespace", "fake-test"),
        destination_url=kw.pop("url", f"{DEST}/in"),
        triggers=triggers,
        headers={"Authorization": "Bearer dest-secret"},
        **kw,
    )
    return result.hook.id


async def test_every_change_through_the_api_is_an_event(
    client: AsyncClient, fake: FakeProcore
) -> None:
    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    kinds = [("Direct Costs", k) for k in ("create", "update", "delete")]
    await _hook(client, fake, kinds, payload_version="v2.0")
    project = fake.records(fake.company_id, "projects")[0]["id"]
    path = f"projects/{project}/direct_costs"
    cost = {"invoice_number": "I-1", "vendor_id": 1, "direct_cost_type": "invoice", "name": "A"}
    made = (await client.post(path, body={"direct_cost": cost}, company_id=fake.company_id)).body
    await client.patch(
        f"{path}/{made['id']}",
        body={"direct_cost": {"description": "b"}},
        company_id=fake.company_id,
    )
    await client.sync(
        f"{path}/sync",
        body={"updates": [{"id": made["id"], "description": "c"}, {"name": "B"}, {"name": ""}]},
        company_id=fake.company_id,
        raise_on_error=False,
    )
    await client.delete(f"{path}/{made['id']}", company_id=fake.company_id)
    await fake.webhooks.drain()
    got = [(p["event_type"], p["resource_id"]) for p in sink.payloads]
    assert got[0] == ("create", made["id"]) and got[-1] == ("delete", made["id"])
    assert [k for k, _ in got] == ["create", "update", "update", "create", "delete"]
    first = sink.payloads[0]
    assert first["api_version"] == "v2.0" and first["resource_name"] == "Direct Costs"
    assert first["project_id"] == project and first["company_id"] == fake.company_id
    assert set(first) >= {"id", "ulid", "timestamp", "metadata", "user_id"}
    assert len({p["id"] for p in sink.payloads}) == 5


@pytest.mark.parametrize("version", ["v2.0", "v3.0", "v4.0"])
async def test_payloads_follow_the_hooks_format(
    client: AsyncClient, fake: FakeProcore, version: str
) -> None:
    from procore_async.webhooks import parse_event

    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    await _hook(client, fake, [("Vendors", "create")], payload_version=version)
    (vendor,) = fake.add_records(fake.company_id, "vendors")
    await fake.webhooks.drain()
    (payload,) = sink.payloads
    event = parse_event(payload)
    assert event.payload_version == version
    assert (event.resource_name, event.event_type, event.resource_id) == (
        "Vendors",
        "create",
        vendor["id"],
    )
    assert event.project_id is None and event.company_id == fake.company_id
    if version == "v4.0":
        assert isinstance(payload["resource_id"], str) and "reason" in payload
        assert len(payload["id"]) == 26
    else:
        assert isinstance(payload["resource_id"], int)
        assert ("related_resources" in payload) == (version == "v3.0")


async def test_project_hooks_hear_only_their_project(
    client: AsyncClient, fake: FakeProcore
) -> None:
    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    one, two = (p["id"] for p in fake.records(fake.company_id, "projects")[:2])
    await _hook(
        client, fake, [("RFIs", "create")], scope=Scope.project(one, company_id=fake.company_id)
    )
    fake.add_records(fake.company_id, "rfis", 2, project_id=one)
    fake.add_records(fake.company_id, "rfis", 3, project_id=two)
    fake.add_records(fake.second_company_id, "vendors", 1)
    await fake.webhooks.drain()
    assert [p["project_id"] for p in sink.payloads] == [str(one), str(one)]


async def test_destination_headers_and_never_the_bearer_token(
    client: AsyncClient, fake: FakeProcore
) -> None:
    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    await _hook(client, fake, [("Vendors", "create")])
    fake.add_records(fake.company_id, "vendors")
    await fake.webhooks.drain()
    ((headers, _),) = sink.requests
    assert headers["authorization"] == "Bearer dest-secret"
    assert headers["content-type"] == "application/json"
    assert "procore-company-id" not in headers
    token = (await client._tokens.current()).access_token  # type: ignore[attr-defined]
    assert all(token not in value for value in headers.values())


async def test_delivery_never_blocks_the_api_request(
    client: AsyncClient, fake: FakeProcore
) -> None:
    sink = Recorder()
    sink.gate = anyio.Event()
    fake.webhooks.route(DEST, sink)
    await _hook(client, fake, [("Vendors", "create")])
    body = {"company_id": fake.company_id, "vendor": {"name": "V"}}
    reply = await client.post("vendors", body=body, company_id=fake.company_id)
    assert reply.status_code == 201
    with anyio.fail_after(5):
        while not sink.requests:
            await anyio.sleep(0.005)
    assert fake.webhooks.deliverer.pending == 1  # the POST to the destination is still open
    sink.gate.set()
    await fake.webhooks.drain()


async def test_failed_first_deliveries_are_retried(client: AsyncClient, fake: FakeProcore) -> None:
    fake.webhooks.configure(time_scale=0.0001, fail_rate=1.0, seed=2)
    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    hook = await _hook(client, fake, [("Vendors", "create")])
    fake.add_records(fake.company_id, "vendors", 2)
    await fake.webhooks.drain()
    assert len(sink.requests) == 2
    for entry in fake.webhooks.deliveries(hook):
        assert entry["status"] == "delivered"
        first, second = entry["delivery_attempts"]
        assert first["outcome"] == "retried" and "injected" in first["response_error"]
        assert second["outcome"] == "ok" and second["response_status"] == 200


async def test_duplicates_on_demand(client: AsyncClient, fake: FakeProcore) -> None:
    fake.webhooks.configure(time_scale=0.0001, duplicate_rate=1.0)
    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    await _hook(client, fake, [("Vendors", "create")])
    fake.add_records(fake.company_id, "vendors", 3)
    await fake.webhooks.drain()
    ids = [p["id"] for p in sink.payloads]
    assert len(ids) == 6 and len(set(ids)) == 3


async def test_backoff_doubles_and_a_failing_queue_is_discarded_after_12_hours(
    client: AsyncClient, fake: FakeProcore
) -> None:
    fake.webhooks.configure(time_scale=0.000001)
    sink = Recorder(status=500)
    fake.webhooks.route(DEST, sink)
    hook = await _hook(client, fake, [("Vendors", "create")])
    fake.add_records(fake.company_id, "vendors", 3)
    await fake.webhooks.drain()
    head, *rest = fake.webhooks.deliveries(hook)
    assert head["status"] == "discarded" and all(e["status"] == "discarded" for e in rest)
    # Waits of 1 s, 2 s ... 2048 s (4095 s in all), then 1 h each until 12 h have
    # passed failing: the first attempt, 12 after doubling waits, 11 after hour-long ones.
    assert len(head["delivery_attempts"]) == 1 + 12 + 11
    assert all(e["delivery_attempts"] == [] for e in rest)  # the hook paused behind it
    assert len(sink.requests) == 24


async def test_a_deleted_hook_stops_delivering(client: AsyncClient, fake: FakeProcore) -> None:
    sink = Recorder()
    fake.webhooks.route(DEST, sink)
    hook = await _hook(client, fake, [("Vendors", "create")])
    await client.webhooks.delete_hook(Scope.company(fake.company_id), hook)
    fake.add_records(fake.company_id, "vendors")
    await fake.webhooks.drain()
    assert sink.requests == [] and fake.webhooks.events == 0


async def test_v1_routes_share_the_store(fake: FakeProcore) -> None:
    token = fake.issue_token().access_token
    headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(fake.company_id)}
    base = "https://api.procore.test/rest/v1.0/webhooks"
    async with httpx.AsyncClient(transport=fake.transport(), headers=headers) as http:
        created = await http.post(
            f"{base}/hooks",
            json={
                "company_id": fake.company_id,
                "hook": {
                    "api_version": "v2",
                    "namespace": "legacy",
                    "destination_url": f"{DEST}/x",
                },
            },
        )
        assert created.status_code == 201
        hook = created.json()
        assert hook["api_version"] == "v2.0" and hook["owned_by_company_id"] == fake.company_id
        trigger = await http.post(
            f"{base}/hooks/{hook['id']}/triggers",
            json={
                "company_id": fake.company_id,
                "api_version": "v2",
                "trigger": {"resource_name": "Vendors", "event_type": "create"},
            },
        )
        assert trigger.status_code == 201
        listed = await http.get(f"{base}/hooks", params={"company_id": fake.company_id})
        assert [h["id"] for h in listed.json()] == [hook["id"]]
        sink = Recorder()
        fake.webhooks.route(DEST, sink)
        fake.add_records(fake.company_id, "vendors")
        await fake.webhooks.drain()
        rows = await http.get(
            f"{base}/hooks/{hook['id']}/deliveries",
            params={"company_id": fake.company_id, "filters[status]": "successful"},
        )
        (row,) = rows.json()
        assert row["outcome"] == "ok" and row["event"]["resource_name"] == "Vendors"
        assert row["event_id"] == str(row["event"]["id"])
        none = await http.get(f"{base}/hooks", params={})
        assert none.status_code == 400
        versions = await http.get(
            f"{base}/resources/api_versions",
            params={"project_id": fake.records(fake.company_id, "projects")[0]["id"]},
        )
        assert versions.json() == ["v2.0", "v3.0", "v4.0"]
        gone = await http.delete(
            f"{base}/hooks/{hook['id']}", params={"company_id": fake.company_id}
        )
        assert gone.status_code == 200 and fake.webhooks.hooks == {}
    await fake.webhooks.aclose()


async def test_webhook_routes_need_a_token_and_a_company(fake: FakeProcore) -> None:
    base = f"https://api.procore.test/rest/v2.0/companies/{fake.company_id}/webhooks/hooks"
    token = fake.issue_token().access_token
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        assert (await http.get(base)).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        missing = await http.get(base, headers=auth)
        assert missing.status_code == 400 and "Procore-Company-Id" in missing.text
        wrong = await http.get(base, headers={**auth, "Procore-Company-Id": "1"})
        assert wrong.status_code == 403
        bad = await http.post(
            base,
            headers={**auth, "Procore-Company-Id": str(fake.company_id)},
            json={"namespace": "Has Spaces", "destination_url": DEST, "payload_version": "v4.0"},
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_REQUEST"


async def test_the_queue_is_bounded(client: AsyncClient, fake: FakeProcore) -> None:
    fake.webhooks.configure(time_scale=0.0001, max_queue=2)
    sink = Recorder()
    sink.gate = anyio.Event()
    fake.webhooks.route(DEST, sink)
    hook = await _hook(client, fake, [("Vendors", "create")])
    fake.add_records(fake.company_id, "vendors", 4)  # the delivery task has not run yet
    statuses = [e["status"] for e in fake.webhooks.deliveries(hook)]
    assert statuses == ["enqueued", "enqueued", "discarded", "discarded"]
    sink.gate.set()
    await fake.webhooks.drain()
    assert len(sink.requests) == 2
