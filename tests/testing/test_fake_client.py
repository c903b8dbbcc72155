"""End to end: procore_async.AsyncClient against FakeProcore through ``fake.client()``."""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import procore_async
from procore_async import InvalidRequestError
from procore_async.stores import MemoryStore
from procore_async.testing import FakeProcore

#: Fast retries with room to spare: faults are injected at 10 %, 30 % below.
FAST = procore_async.Config(retry_backoff=0.001, max_retries=6)


@pytest.fixture
def fake() -> FakeProcore:
    """A fake on the real clock: the client judges token expiry by the real clock too."""
    return FakeProcore(seed=7)


async def test_client_lists_companies_with_client_credentials(fake: FakeProcore) -> None:
    async with fake.client() as client:
        response = await client.get("companies", company_id=fake.company_id)
    assert [c["id"] for c in response.body] == [fake.company_id, fake.second_company_id]
    assert response.request_id
    assert response.rate_limit is not None
    assert fake.stats.token_grants == {"client_credentials": 1}


async def test_client_paginates_projects_by_following_links(fake: FakeProcore) -> None:
    async with fake.client() as client:
        projects = [
            p async for p in client.paginate(
                "projects", query={"company_id": fake.company_id}, company_id=fake.company_id,
                per_page=30,
            )
        ]  # fmt: skip
    assert [p["id"] for p in projects] == [
        p["id"] for p in fake.records(fake.company_id, "projects")
    ]
    # 9 pages of 30, one token grant, and no page fetched twice or past the end.
    assert fake.stats.by_path["/rest/v1.0/projects"] == 9


async def test_client_without_company_id_gets_the_mpz_error(fake: FakeProcore) -> None:
    async with fake.client() as client:
        with pytest.raises(InvalidRequestError, match="Procore-Company-Id"):
            await client.get("projects", query={"company_id": fake.company_id})


async def test_user_token_is_refreshed_once_when_expired(fake: FakeProcore) -> None:
    store = MemoryStore()
    await store.save(fake.issue_token(expires_in=-1))
    async with fake.client(store=store, grant_type="refresh_token") as client:
        me = await client.get("me")
        again = await client.get("me")
    assert me.body == again.body == fake.user
    assert fake.stats.refreshes == 1
    saved = await store.fetch()
    assert saved is not None and not saved.expired


async def test_revoked_refresh_token_surfaces_as_an_error(fake: FakeProcore) -> None:
    token = fake.issue_token(expires_in=-1)
    fake.revoke_token(str(token.refresh_token))
    store = MemoryStore()
    await store.save(token)
    async with fake.client(store=store, grant_type="refresh_token") as client:
        with pytest.raises(procore_async.Error):
            await client.get("me")


async def test_authorization_code_flow(fake: FakeProcore) -> None:
    async with fake.client(grant_type="refresh_token") as client:
        url = client.authorization_url(fake.redirect_uri, state="s1")
        async with httpx.AsyncClient(transport=fake.transport()) as browser:
            redirect = await browser.get(url)
        query = parse_qs(urlsplit(redirect.headers["location"]).query)
        assert query["state"] == ["s1"]
        await client.exchange_code(query["code"][0], fake.redirect_uri)
        me = await client.get("me")
    assert me.body["id"] == fake.user["id"]


async def test_revoke_through_the_client_kills_the_token(fake: FakeProcore) -> None:
    store = MemoryStore()
    token = fake.issue_token()
    await store.save(token)
    async with fake.client(store=store, grant_type="refresh_token") as client:
        await client.revoke()
    async with httpx.AsyncClient(transport=fake.transport()) as http:
        response = await http.get(
            "https://api.procore.test/rest/v1.0/me",
            headers={"Authorization": f"Bearer {token.access_token}"},
        )
    assert response.status_code == 401


async def test_expired_token_rejected_by_server_is_renewed_and_replayed(
    fake: FakeProcore,
) -> None:
    store = MemoryStore()
    token = fake.issue_token()
    await store.save(token)
    fake.expire_token(str(token.access_token))  # the server says expired; the store does not
    async with fake.client(store=store, grant_type="refresh_token") as client:
        assert (await client.get("me")).body == fake.user
    assert fake.stats.by_status[401] == 1
    assert fake.stats.refreshes == 1


async def test_sync_5000_records_with_10_percent_faults_lands_each_exactly_once(
    fake: FakeProcore,
) -> None:
    fake.faults(error_rate=0.1, seed=2024)
    updates = [{"origin_id": f"ext-{i}", "name": f"Vendor {i}"} for i in range(5000)]
    async with fake.client(config=FAST) as client:
        result = await client.sync(
            "vendors/sync",
            body={"company_id": fake.company_id, "updates": updates},
            company_id=fake.company_id,
            batch_size=100,
        )
    assert len(result.entities) == 5000
    assert result.errors == []
    stored = Counter(r["origin_id"] for r in fake.records(fake.company_id, "vendors"))
    assert stored == Counter(u["origin_id"] for u in updates)
    assert fake.stats.faults_injected > 0


async def test_lenient_fake_sync_survives_lost_replies_by_token_replay(
    lenient: FakeProcore,
) -> None:
    # Only the lenient fake replays a tokened sync batch; Procore does not (see test_sync_safety).
    fake = lenient
    fake.faults(error_rate=0.3, seed=11, kinds=["drop_after", "drop_before", "500"])
    updates = [{"name": f"Vendor {i}"} for i in range(2000)]  # no origin_id: only tokens dedupe
    async with fake.client(config=FAST) as client:
        result = await client.sync(
            f"companies/{fake.company_id}/vendors/sync",
            body={"updates": updates},
            company_id=fake.company_id,
            batch_size=100,
        )
    assert len(result.entities) == 2000
    names = Counter(r["name"] for r in fake.records(fake.company_id, "vendors"))
    assert names == Counter(u["name"] for u in updates)
    assert fake.stats.faults["drop_after"] > 0
    assert fake.stats.replays == fake.stats.faults["drop_after"]
