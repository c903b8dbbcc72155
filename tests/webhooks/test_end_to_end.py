"""The whole loop over real sockets, as issue #15's "How it is checked" describes it.

FakeProcore is served over HTTP by uvicorn, and so is the receiver.  ``ensure``
registers a hook; 500 changes to direct costs made through the API (creates, updates,
deletes, and two syncs) emit 500 events, with the fake sending 10% of them twice and
failing 10% of first deliveries.  Halfway through, the receiver is stopped and its replacement
(a new receiver, new workers, the same Redis dedupe store) catches up from the
deliveries endpoint.  Every event reaches the handler exactly once.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

import procore_async
from procore_async.testing import FakeProcore, serving
from procore_async.webhooks import (
    RedisDedupeStore,
    Scope,
    WebhookEvent,
    WebhookReceiver,
    listening,
)

from .conftest import SECRET, free_port, v2_payload

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def _cost(invoice: str, **more: str) -> dict[str, Any]:
    """A direct cost with Procore's required fields (and a name, which the fake's sync wants)."""
    fields = {"invoice_number": invoice, "vendor_id": 1, "direct_cost_type": "invoice"}
    return {**fields, "name": f"Cost {invoice}", **more}


def _receiver(redis: Any, prefix: str, handled: Counter[str]) -> WebhookReceiver:
    receiver = WebhookReceiver(
        authorization=SECRET, dedupe=RedisDedupeStore(redis, prefix=prefix), concurrency=4
    )

    @receiver.on("Direct Costs")
    async def count(event: WebhookEvent) -> None:
        handled[event.id] += 1
        await anyio.lowlevel.checkpoint()

    return receiver


async def _changes(client: procore_async.AsyncClient, company: int, project: int, n: int) -> None:
    """``n`` creates through the API, concurrently (8 at a time)."""
    limiter = anyio.CapacityLimiter(8)

    async def create(i: int) -> None:
        async with limiter:
            await client.post(
                f"projects/{project}/direct_costs",
                body={"direct_cost": _cost(f"I-{i}")},
                company_id=company,
            )

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(create, i)


async def test_five_hundred_events_each_handled_once_across_a_restart(redis_client: Any) -> None:
    fake = FakeProcore(projects=3, seed=11)
    fake.webhooks.configure(time_scale=0.001, fail_rate=0.1, duplicate_rate=0.1, seed=5)
    company = fake.company_id
    project = fake.records(company, "projects")[0]["id"]
    handled: Counter[str] = Counter()
    prefix = f"e2e-{uuid.uuid4().hex[:8]}-"
    port = free_port()

    async with serving(fake) as api:
        config = dataclasses.replace(procore_async.get_config(), host=api, login_host=api)
        client = procore_async.AsyncClient(
            fake.client_id, fake.client_secret, config=config, grant_type="client_credentials"
        )
        async with client:
            scope = Scope.company(company)
            first = _receiver(redis_client, prefix, handled)
            async with listening(first, port=port) as url:
                setup = await client.webhooks.ensure(
                    scope,
                    namespace="e2e-test",
                    destination_url=f"{url}/procore",
                    triggers=[("Direct Costs", k) for k in ("create", "update", "delete")],
                    headers={"Authorization": SECRET},
                    payload_version="v2.0",
                )
                assert setup.created_hook and len(setup.created_triggers) == 3
                again = await client.webhooks.ensure(
                    scope,
                    namespace="e2e-test",
                    destination_url=f"{url}/procore",
                    triggers=[("Direct Costs", k) for k in ("create", "update", "delete")],
                    headers={"Authorization": SECRET},
                    payload_version="v2.0",
                )
                assert not again.changed
                hook_id = setup.hook.id

                # A hook whose secret is wrong: Procore would send it, the receiver refuses it.
                forged = await client.webhooks.ensure(
                    scope,
                    namespace="e2e-forged",
                    destination_url=f"{url}/procore",
                    triggers=[("Direct Costs", "create")],
                    headers={"Authorization": "Bearer not-the-secret"},
                )

                async with httpx.AsyncClient() as raw:
                    wrong = await raw.post(
                        f"{url}/procore",
                        json=v2_payload(),
                        headers={"Authorization": "Bearer wrong"},
                    )
                    assert wrong.status_code == 401
                    missing = await raw.post(f"{url}/procore", json=v2_payload())
                    assert missing.status_code == 401

                # Phase 1: 200 creates through the API and a sync of 50 new direct costs.
                await _changes(client, company, project, 200)
                with anyio.fail_after(30):
                    while not fake.webhooks.deliveries(forged.hook.id)[0]["delivery_attempts"]:
                        await anyio.sleep(0.01)
                refused = fake.webhooks.deliveries(forged.hook.id)[0]["delivery_attempts"]
                assert {a["response_status"] for a in refused} <= {401, None}
                await client.webhooks.delete_hook(scope, forged.hook.id)  # stops its retries
                synced = await client.sync(
                    f"projects/{project}/direct_costs/sync",
                    body={"updates": [_cost(f"S-{i}", origin_id=f"s-{i}") for i in range(50)]},
                    company_id=company,
                )
                assert len(synced.entities) == 50
                await fake.webhooks.drain(60)
                await first.join()
            assert len(handled) == 250

            # Phase 2, receiver down: 150 updates, 50 deletes and a sync of 50 more.
            costs = fake.records(company, "direct_costs", project_id=project)
            for cost in costs[:150]:
                await client.patch(
                    f"projects/{project}/direct_costs/{cost['id']}",
                    body={"direct_cost": {"description": "changed"}},
                    company_id=company,
                )
            for cost in costs[150:200]:
                await client.delete(
                    f"projects/{project}/direct_costs/{cost['id']}", company_id=company
                )
            late = await client.sync(
                f"projects/{project}/direct_costs/sync",
                body={"updates": [_cost(f"L-{i}", origin_id=f"l-{i}") for i in range(50)]},
                company_id=company,
            )
            assert len(late.entities) == 50, late.errors[:2]
            assert fake.webhooks.events == 500
            pending = [
                d async for d in client.webhooks.deliveries(scope, hook_id, status="retrying")
            ]
            assert pending, "the fake should be retrying while the receiver is down"

            # The replacement catches up, then Procore's own retries arrive as duplicates.
            second = _receiver(redis_client, prefix, handled)
            async with listening(second, port=port):
                result = await client.webhooks.catch_up(scope, hook_id, second)
                # Procore's retries race the catch-up; between them all 250 arrive once.
                assert result.replayed > 0
                await fake.webhooks.drain(60)
                await second.join()
                assert second.stats.duplicates > 0
            await fake.webhooks.aclose()

    delivered = {entry["id"] for entry in fake.webhooks.deliveries(hook_id)}
    assert len(delivered) == 500
    assert set(handled) == delivered
    assert set(handled.values()) == {1}
    attempts = sum(len(e["delivery_attempts"]) for e in fake.webhooks.deliveries(hook_id))
    assert attempts > 500  # injected failures and duplicates really happened
    assert 401 in {a["response_status"] for a in refused}
    assert first.stats.refused >= 3  # the two direct tries and the forged hook's deliveries
    assert result.replayed + second.stats.acknowledged == 250
