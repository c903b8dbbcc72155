"""Sync upserts (id, then origin_id, then create) and Idempotency-Token replay."""

from __future__ import annotations

import httpx

from procore_async.testing import FakeProcore

from .conftest import user_headers

NOT_FOUND = {"id": ["Entity with this ID not found"]}


def sync_url(fake: FakeProcore, resource: str = "vendors") -> str:
    """A catalog sync path: ``PATCH /rest/v1.0/vendors/sync`` takes ``company_id``."""
    return f"/rest/v1.0/{resource}/sync?company_id={fake.company_id}"


async def test_sync_upserts_by_id_then_origin_id_then_creates(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    existing = fake.add_records(fake.company_id, "vendors", 2, origin_id=lambda i: f"o{i}")
    updates = [
        {"id": existing[0]["id"], "name": "by id", "origin_id": "renamed"},
        {"origin_id": "o2", "name": "by origin"},
        {"origin_id": "o3", "name": "new with origin"},
        {"name": "new without origin"},
        {"id": 1, "name": "No vendor has this id"},
        {"origin_id": "o9", "name": ""},
        {"origin_id": "o10"},
    ]
    response = await http.patch(sync_url(fake), headers=user_headers(fake),
                                json={"updates": updates})  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert [e["name"] for e in body["entities"]] == [
        "by id", "by origin", "new with origin", "new without origin",
    ]  # fmt: skip
    assert body["entities"][0]["id"] == existing[0]["id"]
    assert body["entities"][1]["id"] == existing[1]["id"]
    assert body["errors"] == [
        {"id": 1, "name": "No vendor has this id", "errors": NOT_FOUND},
        {"origin_id": "o9", "name": "", "errors": {"name": ["can't be blank"]}},
        {"origin_id": "o10", "errors": {"name": ["can't be blank"]}},
    ]
    stored = {r["origin_id"]: r["name"] for r in fake.records(fake.company_id, "vendors")}
    assert stored == {"renamed": "by id", "o2": "by origin", "o3": "new with origin",
                      None: "new without origin"}  # fmt: skip


async def test_origin_id_is_unique_per_company_not_across_companies(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    for company in (fake.company_id, fake.second_company_id):
        await http.patch(
            "/rest/v1.0/vendors/sync",
            headers=user_headers(fake, company),
            json={
                "company_id": company,
                "updates": [{"origin_id": "shared", "name": str(company)}],
            },
        )
    assert len(fake.records(fake.company_id, "vendors")) == 1
    assert len(fake.records(fake.second_company_id, "vendors")) == 1


async def test_projects_sync_takes_company_id_from_the_body(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    response = await http.patch(
        "/rest/v1.0/projects/sync",
        headers=user_headers(fake),
        json={"company_id": fake.second_company_id, "updates": [{"name": "Synced"}]},
    )
    assert response.json()["entities"][0]["company"]["id"] == fake.second_company_id


async def test_more_than_1000_updates_is_422_and_1000_is_fine(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = user_headers(fake)
    too_many = {"updates": [{"name": f"v{i}"} for i in range(1001)]}
    response = await http.patch(sync_url(fake), headers=headers, json=too_many)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["updates"]
    assert fake.records(fake.company_id, "vendors") == []
    ok = await http.patch(
        sync_url(fake), headers=headers, json={"updates": too_many["updates"][:1000]}
    )
    assert len(ok.json()["entities"]) == 1000


async def test_sync_envelope_and_method_rules(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    headers = user_headers(fake)
    assert (await http.patch(sync_url(fake), headers=headers, json={})).status_code == 400
    assert (
        await http.post(sync_url(fake), headers=headers, json={"updates": []})
    ).status_code == 404
    project = fake.records(fake.company_id, "projects")[0]["id"]
    budget = await http.post(
        "/rest/v1.0/budget_line_items/sync",
        headers=headers,
        json={"project_id": project, "updates": [{"name": "x"}]},
    )
    assert budget.status_code == 200
    assert len(fake.records(fake.company_id, "budget_line_items", project_id=project)) == 1


async def test_replayed_idempotency_token_returns_stored_response_without_reapplying(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    # Distribution groups are one of the five operations that declare Idempotency-Token.
    project = fake.records(fake.company_id, "projects")[0]["id"]
    headers = {**user_headers(fake), "Idempotency-Token": "batch-1"}
    url = f"/rest/v1.0/projects/{project}/distribution_groups"
    body = {"distribution_group": {"name": "Once"}}
    first = await http.post(url, headers=headers, json=body)
    again = await http.post(url, headers=headers, json=body)
    # The catalog documents 200 for this create; a replay answers the stored reply.
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    assert len(fake.records(fake.company_id, "distribution_groups", project_id=project)) == 1
    assert fake.stats.replays == 1
    # The same token on another method or path is a different request.
    other = await http.post(f"/rest/v1.0/projects/{project}/daily_logs/clones", headers=headers,
                            json={"name": "Other"})  # fmt: skip
    assert other.status_code == 200


async def test_lenient_fake_replays_any_tokened_sync_batch(
    lenient_http: httpx.AsyncClient, lenient: FakeProcore
) -> None:
    http, fake = lenient_http, lenient
    headers = {**user_headers(fake), "Idempotency-Token": "sync-0"}
    body = {"updates": [{"name": f"v{i}"} for i in range(10)]}
    url = f"/rest/v1.0/companies/{fake.company_id}/vendors/sync"
    first = await http.patch(url, headers=headers, json=body)
    again = await http.patch(url, headers=headers, json=body)
    assert again.json() == first.json()
    assert len(fake.records(fake.company_id, "vendors")) == 10


async def test_failed_requests_are_not_stored_for_replay(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    project = fake.records(fake.company_id, "projects")[0]["id"]
    headers = {**user_headers(fake), "Idempotency-Token": "t"}
    url = f"/rest/v1.0/projects/{project}/distribution_groups"
    bad = await http.post(url, headers=headers, json={"distribution_group": {"name": ""}})
    assert bad.status_code == 422
    fixed = await http.post(url, headers=headers, json={"distribution_group": {"name": "Fixed"}})
    assert fixed.status_code == 200
    assert fixed.json()["name"] == "Fixed"
