"""client.webhooks against FakeProcore, and the exact requests it sends (respx)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from procore_async import AsyncClient, NotFoundError
from procore_async.testing import FakeProcore
from procore_async.webhooks import Scope, WebhookEvent, WebhookReceiver

from .conftest import SECRET

URL = "https://hooks.example.test/procore"


@pytest.fixture
def fake() -> FakeProcore:
    return FakeProcore(projects=3, seed=3)


@pytest.fixture
async def client(fake: FakeProcore) -> AsyncIterator[AsyncClient]:
    async with fake.client() as client:
        yield client
    await fake.webhooks.aclose()


async def _ensure(client: AsyncClient, scope: Scope, triggers: list[tuple[str, str]], **kw: object):
    options: dict[str, object] = {
        "namespace": "acme-sync",
        "destination_url": URL,
        "headers": {"Authorization": SECRET},
        **kw,
    }
    return await client.webhooks.ensure(scope, triggers=triggers, **options)  # type: ignore[arg-type]


async def test_ensure_creates_then_changes_nothing(client: AsyncClient, fake: FakeProcore) -> None:
    scope = Scope.company(fake.company_id)
    first = await _ensure(
        client, scope, [("RFIs", "create"), ("RFIs", "UPDATE"), ("RFIs", "create")]
    )
    assert first.created_hook and first.changed
    assert {t.key for t in first.created_triggers} == {("RFIs", "create"), ("RFIs", "update")}
    assert first.hook.payload_version == "v4.0"
    again = await _ensure(client, scope, [("RFIs", "update"), ("RFIs", "create")])
    assert not again.changed
    assert again.hook.id == first.hook.id
    # The secret is never served back: masked to its last five characters.
    shown = (await client.webhooks.hook(scope, first.hook.id)).destination_headers
    assert shown["Authorization"].endswith("12345") and "wh-test" not in shown["Authorization"]


async def test_ensure_removes_extra_triggers_and_adds_missing(
    client: AsyncClient, fake: FakeProcore
) -> None:
    scope = Scope.company(fake.company_id)
    made = await _ensure(client, scope, [("RFIs", "create"), ("Submittals", "delete")])
    changed = await _ensure(client, scope, [("RFIs", "create"), ("RFIs", "delete")])
    assert [t.key for t in changed.deleted_triggers] == [("Submittals", "delete")]
    assert [t.key for t in changed.created_triggers] == [("RFIs", "delete")]
    left = await client.webhooks.triggers(scope, made.hook.id)
    assert sorted(t.key for t in left) == [("RFIs", "create"), ("RFIs", "delete")]


async def test_ensure_updates_url_version_and_headers(
    client: AsyncClient, fake: FakeProcore
) -> None:
    scope = Scope.company(fake.company_id)
    made = await _ensure(client, scope, [("RFIs", "create")])
    moved = await _ensure(
        client,
        scope,
        [("RFIs", "create")],
        destination_url="https://new.example.test/in",
        payload_version="v2.0",
        headers={"Authorization": "Bearer rotated-99999"},
    )
    assert moved.hook.id == made.hook.id and not moved.created_hook
    assert moved.updated_fields == ("destination_headers", "destination_url", "payload_version")
    assert fake.webhooks.hooks[made.hook.id]["destination_headers"] == {
        "Authorization": "Bearer rotated-99999"
    }
    same = await _ensure(
        client,
        scope,
        [("RFIs", "create")],
        destination_url="https://new.example.test/in",
        payload_version="v2.0",
        headers={"Authorization": "Bearer rotated-99999"},
    )
    assert not same.changed


async def test_ensure_deletes_exact_duplicates_and_leaves_other_hooks(
    client: AsyncClient, fake: FakeProcore
) -> None:
    scope = Scope.company(fake.company_id)
    hooks = client.webhooks
    one = await hooks.create_hook(scope, namespace="acme-sync", destination_url=URL)
    two = await hooks.create_hook(scope, namespace="acme-sync", destination_url=URL)
    other = await hooks.create_hook(scope, namespace="someone-else", destination_url=URL)
    result = await _ensure(client, scope, [("RFIs", "create")])
    assert result.hook.id == one.id
    assert [h.id for h in result.deleted_hooks] == [two.id]
    assert {h.id for h in await hooks.hooks(scope)} == {one.id, other.id}


async def test_project_scope_is_separate(client: AsyncClient, fake: FakeProcore) -> None:
    project = fake.records(fake.company_id, "projects")[0]["id"]
    scoped = Scope.project(project, company_id=fake.company_id)
    made = await _ensure(client, scoped, [("RFIs", "create")])
    assert made.hook.project_id == project
    assert await client.webhooks.hooks(Scope.company(fake.company_id)) == []
    assert [h.id for h in await client.webhooks.hooks(scoped)] == [made.hook.id]
    with pytest.raises(NotFoundError):
        await client.webhooks.hook(Scope.company(fake.company_id), made.hook.id)


async def test_hook_and_trigger_crud(client: AsyncClient, fake: FakeProcore) -> None:
    scope = {"company_id": fake.company_id}
    hooks = client.webhooks
    hook = await hooks.create_hook(
        scope, namespace="crud", destination_url=URL, payload_version="v3.0"
    )
    trigger = await hooks.create_trigger(scope, hook.id, "RFIs", "Create")
    assert (trigger.hook_id, trigger.event_type) == (hook.id, "create")
    bulk = await hooks.create_triggers(scope, hook.id, [(f"R{i}", "update") for i in range(502)])
    assert len(bulk) == 502  # two bulk calls: Procore takes 500 at most
    assert (await hooks.hook(scope, hook.id)).trigger_count == 503
    await hooks.delete_triggers(scope, hook.id, [t.id for t in bulk[:2]])
    await hooks.delete_trigger(scope, hook.id, trigger.id)
    assert len(await hooks.triggers(scope, hook.id)) == 500
    disabled = await hooks.update_hook(scope, hook.id, status="disabled")
    assert disabled.status == "disabled"
    await hooks.delete_hook(scope, hook.id)
    assert await hooks.hooks(scope) == []
    resources = await hooks.resources(scope)
    assert {"RFIs", "Projects"} <= {r["name"] for r in resources}


async def test_bad_arguments_fail_before_any_request(
    client: AsyncClient, fake: FakeProcore
) -> None:
    scope = Scope.company(fake.company_id)
    hooks = client.webhooks
    with pytest.raises(ValueError, match="namespace"):
        await hooks.create_hook(scope, namespace="Bad Name", destination_url=URL)
    with pytest.raises(ValueError, match="payload_version"):
        await hooks.create_hook(scope, namespace="ok", destination_url=URL, payload_version="v5.0")
    with pytest.raises(ValueError, match="destination_url"):
        await hooks.create_hook(scope, namespace="ok", destination_url="ftp://x")
    with pytest.raises(TypeError, match="pair"):
        await hooks.ensure(scope, namespace="ok", destination_url=URL, triggers=["RFIs"])
    with pytest.raises(ValueError, match="status"):
        [d async for d in hooks.deliveries(scope, 1, status="bogus")]
    with pytest.raises(TypeError, match="unknown fields"):
        await hooks.update_hook(scope, 1, colour="red")
    with pytest.raises(ValueError, match="status"):
        await hooks.update_hook(scope, 1, status="paused")
    with pytest.raises(ValueError, match="destination_url"):
        await hooks.update_hook(scope, 1, destination_url="mailto:x")
    with pytest.raises(ValueError, match="company_id"):
        Scope.company(0)
    with pytest.raises(TypeError, match="scope"):
        await hooks.hooks({"project_id": 5})  # type: ignore[arg-type]
    assert fake.stats.by_path.get(f"/rest/v2.0/companies/{fake.company_id}/webhooks/hooks") is None


async def test_deliveries_filter_by_status_and_catch_up(
    client: AsyncClient, fake: FakeProcore
) -> None:
    scope = Scope.company(fake.company_id)
    fake.webhooks.configure(time_scale=0.001)  # 12 h of retries in 43 s: no discard here
    down = WebhookReceiver(authorization=SECRET)  # never started: answers 503
    fake.webhooks.route("https://hooks.example.test", down)
    made = await _ensure(client, scope, [("Vendors", "create")])
    fake.add_records(fake.company_id, "vendors", 3)
    for _ in range(200):
        statuses = [d.status async for d in client.webhooks.deliveries(scope, made.hook.id)]
        if "retrying" in statuses:
            break
        await __import__("anyio").sleep(0.01)
    assert statuses.count("retrying") == 1 and statuses.count("enqueued") == 2
    retrying = [d async for d in client.webhooks.deliveries(scope, made.hook.id, status="retrying")]
    assert len(retrying) == 1 and retrying[0].attempts[0]["response_status"] == 503

    up = WebhookReceiver(authorization=SECRET)
    got: list[WebhookEvent] = []

    @up.on("Vendors", "create")
    async def record(event: WebhookEvent) -> None:
        got.append(event)

    async with up:
        result = await client.webhooks.catch_up(scope, made.hook.id, up)
        assert (result.deliveries, result.replayed, result.duplicates) == (3, 3, 0)
        fake.webhooks.route("https://hooks.example.test", up)
        await fake.webhooks.drain()
        await up.join()
    assert len(got) == 3 and up.stats.duplicates == 3
    delivered = [
        d async for d in client.webhooks.deliveries(scope, made.hook.id, status="delivered")
    ]
    assert len(delivered) == 3


@respx.mock(assert_all_called=True)
async def test_the_catalog_paths_versions_and_bodies(respx_mock: respx.MockRouter) -> None:
    base = "https://api.procore.test/rest/v2.0/companies/8089"
    hook = {"id": "7", "namespace": "acme", "destination_url": URL, "payload_version": "v4.0"}
    listing = respx_mock.get(f"{base}/projects/42/webhooks/hooks").respond(json={"data": []})
    create = respx_mock.post(f"{base}/projects/42/webhooks/hooks").respond(201, json={"data": hook})
    bulk = respx_mock.post(f"{base}/projects/42/webhooks/hooks/7/triggers/bulk").respond(
        201,
        json={
            "data": [
                {"id": "9", "webhook_hook_id": "7", "resource_name": "RFIs", "event_type": "create"}
            ]
        },
    )
    deliveries = respx_mock.get(f"{base}/webhooks/hooks/7/deliveries").respond(json={"data": []})
    fake = FakeProcore()
    token = fake.issue_token()
    from procore_async.stores import MemoryStore

    store = MemoryStore()
    await store.save(token)
    async with AsyncClient("id", "secret", store, config=fake.client().config) as client:
        scope = Scope.project(42, company_id=8089)
        result = await client.webhooks.ensure(
            scope, namespace="acme", destination_url=URL, triggers=[("RFIs", "create")]
        )
        assert result.created_hook and result.hook.id == 7
        assert [
            d async for d in client.webhooks.deliveries(Scope.company(8089), 7, status="failed")
        ] == []
    sent = create.calls.last.request
    assert sent.headers["Procore-Company-Id"] == "8089"
    assert json.loads(sent.content) == {
        "namespace": "acme",
        "destination_url": URL,
        "payload_version": "v4.0",
    }
    assert json.loads(bulk.calls.last.request.content) == [
        {"resource_name": "RFIs", "event_type": "create"}
    ]
    assert listing.calls.last.request.url.params["namespace"] == "acme"
    assert deliveries.calls.last.request.url.params["filter[status]"] == "failed"
    assert isinstance(sent, httpx.Request)
