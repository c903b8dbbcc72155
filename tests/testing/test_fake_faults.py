"""Seeded fault injection (statuses, 429s, drops before/after the write, latency) and stats."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest

from procore_async.testing import FakeProcore

from .conftest import BASE, Clock, user_headers


async def statuses(fake: FakeProcore, n: int) -> list[str]:
    """The outcome of ``n`` GETs: a status code, or the name of the transport error."""
    headers = user_headers(fake)
    seen = []
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        for _ in range(n):
            try:
                response = await http.get("/rest/v1.0/me", headers=headers)
                seen.append(str(response.status_code))
            except httpx.TransportError as exc:
                seen.append(type(exc).__name__)
    return seen


async def test_faults_are_seeded_and_reproducible() -> None:
    runs = []
    for _ in range(2):
        fake = FakeProcore()
        fake.faults(error_rate=0.3, seed=42)
        runs.append(await statuses(fake, 200))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {"200", "500", "502", "503", "429", "RemoteProtocolError", "ReadError"}
    other = FakeProcore()
    other.faults(error_rate=0.3, seed=43)
    assert await statuses(other, 200) != runs[0]


async def test_error_rate_zero_and_no_arguments_turn_injection_off() -> None:
    fake = FakeProcore()
    fake.faults(error_rate=0.0, seed=1)
    assert set(await statuses(fake, 50)) == {"200"}
    fake.faults(error_rate=1.0, seed=1)
    assert "200" not in await statuses(fake, 20)
    fake.faults()
    assert set(await statuses(fake, 20)) == {"200"}


async def test_injected_503_carries_retry_after_and_429_only_rate_headers(clock: Clock) -> None:
    fake = FakeProcore(clock=clock)
    headers = user_headers(fake)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        fake.faults(error_rate=1.0, kinds=["503"], retry_after=0.25)
        unavailable = await http.get("/rest/v1.0/me", headers=headers)
        assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "0.25")
        assert unavailable.headers["x-request-id"]
        fake.faults(error_rate=1.0, kinds=["429"], retry_after=2)
        limited = await http.get("/rest/v1.0/me", headers=headers)
    assert limited.status_code == 429
    assert "retry-after" not in limited.headers  # Procore: read X-Rate-Limit-Reset on a 429
    assert limited.headers["x-rate-limit-limit"] == "3600"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.headers["x-rate-limit-reset"] == str(int(clock.now) + 2)
    assert limited.text.startswith("You have surpassed")
    assert fake.stats.faults == {"503": 1, "429": 1}
    assert fake.stats.rate_limited == 1


async def test_lenient_fake_429_also_carries_retry_after(clock: Clock) -> None:
    fake = FakeProcore(clock=clock, strict=False)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        fake.faults(error_rate=1.0, kinds=["429"], retry_after=2)
        limited = await http.get("/rest/v1.0/me", headers=user_headers(fake))
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert limited.headers["x-rate-limit-reset"] == str(int(clock.now) + 2)


async def test_drop_before_apply_loses_the_write(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    fake.faults(error_rate=1.0, kinds=["drop_before"])
    headers = {**user_headers(fake), "Idempotency-Token": "t1"}
    url, body = _group_url(fake), {"distribution_group": {"name": "Lost"}}
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(url, headers=headers, json=body)
    assert _groups(fake) == []
    fake.faults()
    retried = await http.post(url, headers=headers, json=body)
    assert retried.status_code == 200
    assert len(_groups(fake)) == 1


def _group_url(fake: FakeProcore) -> str:
    """Distribution groups: one of the five operations that declare Idempotency-Token."""
    return f"/rest/v1.0/projects/{_project(fake)}/distribution_groups"


def _project(fake: FakeProcore) -> int:
    return int(fake.records(fake.company_id, "projects")[0]["id"])


def _groups(fake: FakeProcore) -> list[dict[str, object]]:
    return fake.records(fake.company_id, "distribution_groups", project_id=_project(fake))


async def test_drop_after_apply_keeps_the_write_and_a_retry_replays(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    fake.faults(error_rate=1.0, kinds=["drop_after"])
    headers = {**user_headers(fake), "Idempotency-Token": "t2"}
    url, body = _group_url(fake), {"distribution_group": {"name": "Kept"}}
    with pytest.raises(httpx.ReadError):
        await http.post(url, headers=headers, json=body)
    assert [g["name"] for g in _groups(fake)] == ["Kept"]
    fake.faults()
    retried = await http.post(url, headers=headers, json=body)
    assert retried.status_code == 200  # the stored reply, replayed
    assert len(_groups(fake)) == 1
    assert fake.stats.faults["drop_after"] == 1
    assert fake.stats.replays == 1


async def test_only_retryable_spares_unprotected_writes(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    fake.faults(error_rate=1.0, seed=3)
    headers = user_headers(fake)
    url = f"/rest/v1.0/vendors?company_id={fake.company_id}"
    seen = {(await http.post(url, headers=headers, json={"name": "x"})).status_code
            for _ in range(40)}  # fmt: skip
    assert seen == {429, 503}
    fake.faults(error_rate=1.0, seed=3, kinds=["500", "drop_before"])
    assert (await http.post(url, headers=headers, json={"name": "y"})).status_code == 201


async def test_oauth_can_be_spared(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    fake.faults(error_rate=1.0, oauth=False)
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": fake.client_id,
              "client_secret": fake.client_secret},
    )  # fmt: skip
    assert response.status_code == 200
    fake.faults(error_rate=1.0, kinds=["502"], only_retryable=False)
    assert (await http.post("/oauth/token", data={})).status_code == 502


async def test_latency_sleeps_so_concurrent_requests_overlap(fake: FakeProcore) -> None:
    fake.faults(latency=0.2)
    headers = user_headers(fake)
    started = time.perf_counter()
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:

        async def one() -> None:
            await http.get("/rest/v1.0/me", headers=headers)

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
    elapsed = time.perf_counter() - started
    assert 0.2 <= elapsed < 1.5  # ten sequential sleeps would take 2 s
    assert fake.stats.by_status[200] == 10


def test_fault_plan_validates_its_arguments(fake: FakeProcore) -> None:
    for bad in ({"error_rate": 1.5}, {"latency": -1}, {"kinds": ["418"]}, {"retry_after": -1}):
        with pytest.raises(ValueError):
            fake.faults(**bad)  # type: ignore[arg-type]


async def test_stats_count_paths_statuses_grants_and_reset(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": fake.client_id,
              "client_secret": fake.client_secret},
    )  # fmt: skip
    headers = user_headers(fake)
    await http.get("/rest/v1.0/me", headers=headers)
    await http.get("/rest/v1.0/me", headers=headers)
    await http.get("/rest/v1.0/nothing/1", headers=headers)
    stats = fake.stats
    assert stats.requests == 4
    assert stats.by_path == {"/oauth/token": 1, "/rest/v1.0/me": 2, "/rest/v1.0/nothing/1": 1}
    assert stats.by_status == {200: 3, 404: 1}
    assert stats.token_grants == {"client_credentials": 1}
    assert (stats.refreshes, stats.faults_injected, stats.rate_limited) == (0, 0, 0)
    stats.reset()
    assert (stats.requests, stats.by_path, stats.token_grants) == (0, {}, {})


def test_latency_and_drops_work_on_trio() -> None:
    fake = FakeProcore()
    fake.faults(error_rate=0.5, latency=0.001, seed=5, kinds=["drop_after", "503"])

    async def main() -> list[str]:
        return await statuses(fake, 20)

    seen = anyio.run(main, backend="trio")
    assert set(seen) == {"200", "503", "ReadError"}
