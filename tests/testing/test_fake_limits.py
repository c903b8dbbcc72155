"""Rate limits: X-Rate-Limit-* on every response, hourly and spike windows, 429s."""

from __future__ import annotations

import httpx
import pytest

from procore_async.testing import FakeProcore

from .conftest import BASE, Clock, user_headers

TEXT = (
    "You have surpassed the max number of requests for an hour. "
    "Please wait until your limit resets."
)


def limits(response: httpx.Response) -> tuple[int, int, int]:
    h = response.headers
    return (
        int(h["x-rate-limit-limit"]),
        int(h["x-rate-limit-remaining"]),
        int(h["x-rate-limit-reset"]),
    )


async def test_hourly_headers_on_every_response_failed_ones_counted(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    headers = user_headers(fake)
    ok = await http.get("/rest/v1.0/me", headers=headers)
    missing = await http.get(f"/rest/v1.0/companies/{fake.company_id}/vendors/1", headers=headers)
    assert missing.status_code == 404
    again = await http.get("/rest/v1.0/me", headers=headers)
    reset = int(clock.now) + 3600
    assert [limits(r) for r in (ok, missing, again)] == [
        (3600, 3599, reset), (3600, 3598, reset), (3600, 3597, reset),
    ]  # fmt: skip
    oauth = await http.post("/oauth/token", data={})
    assert "x-rate-limit-limit" in oauth.headers


async def test_429_when_hourly_limit_is_spent_then_window_resets(clock: Clock) -> None:
    fake = FakeProcore(rate_limit=3, clock=clock)
    headers = user_headers(fake)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        statuses = [
            (await http.get("/rest/v1.0/me", headers=headers)).status_code for _ in range(3)
        ]
        clock.advance(100)
        refused = await http.get("/rest/v1.0/me", headers=headers)
        assert statuses == [200, 200, 200]
        assert refused.status_code == 429
        assert refused.text == TEXT
        assert refused.headers["content-type"].startswith("text/plain")
        assert limits(refused) == (3, 0, int(clock.now) - 100 + 3600)
        assert "retry-after" not in refused.headers  # the reset header says when
        clock.advance(3500)
        assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200
    assert fake.stats.rate_limited == 1
    assert fake.stats.by_status[429] == 1


async def test_spike_window_is_reported_until_the_hourly_one_is_nearly_spent(
    clock: Clock,
) -> None:
    fake = FakeProcore(rate_limit=30, spike_limit=10, clock=clock)
    headers = user_headers(fake)
    seen = []
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        for _ in range(3):
            for _ in range(10):
                seen.append(limits(await http.get("/rest/v1.0/me", headers=headers)))
            clock.advance(10)
    start = int(clock.now) - 30
    # The spike window is reported while more than one spike window's worth is left
    # this hour; from then on the hourly window, the one about to run out.
    assert seen[0] == (10, 9, start + 10)
    assert seen[9] == (10, 0, start + 10)
    assert seen[10] == (10, 9, start + 20)
    assert seen[18] == (10, 1, start + 20)
    assert seen[19] == (30, 10, start + 3600)
    assert seen[-1] == (30, 0, start + 3600)


async def test_spike_limit_refuses_the_eleventh_request_in_ten_seconds(clock: Clock) -> None:
    fake = FakeProcore(spike_limit=10, clock=clock)
    headers = user_headers(fake)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        for _ in range(10):
            assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200
        refused = await http.get("/rest/v1.0/me", headers=headers)
        assert refused.status_code == 429
        assert limits(refused) == (10, 0, int(clock.now) + 10)
        assert "retry-after" not in refused.headers
        clock.advance(10)
        assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200


async def test_buckets_are_per_user_and_per_app_company(clock: Clock) -> None:
    fake = FakeProcore(rate_limit=2, clock=clock)
    app = fake.issue_token(service_account=True)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        for company in (fake.company_id, fake.second_company_id):
            headers = {"Authorization": f"Bearer {app.access_token}",
                       "Procore-Company-Id": str(company)}  # fmt: skip
            for expected in (200, 200, 429):
                response = await http.get("/rest/v1.0/me", headers=headers)
                assert response.status_code == expected


async def test_no_rate_limit_headers_when_both_windows_are_off() -> None:
    fake = FakeProcore(rate_limit=None)
    async with httpx.AsyncClient(transport=fake.transport(), base_url=BASE) as http:
        response = await http.get("/rest/v1.0/me", headers=user_headers(fake))
    assert response.status_code == 200
    assert "x-rate-limit-limit" not in response.headers
    with pytest.raises(ValueError, match="rate_limit"):
        FakeProcore(rate_limit=0)
