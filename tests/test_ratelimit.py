"""Pacing: parsing ``X-Rate-Limit-*``, the ``RatePacer`` estimate, and the client holding
requests until a window resets rather than running into 429s."""

from __future__ import annotations

import math
import time
from typing import Any

import anyio
import httpx
import pytest

import procore_async
from procore_async import RateLimit, RateLimiter, RatePacer
from procore_async._ratelimit import parse_rate_limit
from procore_async.stores import MemoryStore
from procore_async.testing import FakeProcore

# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {"X-Rate-Limit-Limit": "25", "X-Rate-Limit-Remaining": "7", "X-Rate-Limit-Reset": "99"},
            RateLimit(25, 7, 99),
            id="all-three",
        ),
        pytest.param(
            {"x-rate-limit-remaining": "7", "x-rate-limit-reset": "99"},
            RateLimit(7, 7, 99),
            id="no-limit-uses-remaining",
        ),
        pytest.param({"X-Rate-Limit-Remaining": "3"}, RateLimit(3, 3, 0), id="no-reset"),
        pytest.param(
            {"X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "99.2"},
            RateLimit(3, 3, 100),
            id="fractional-reset-rounds-up",
        ),
        pytest.param({"X-Rate-Limit-Limit": "25"}, None, id="no-remaining"),
        pytest.param({}, None, id="none"),
        pytest.param({"X-Rate-Limit-Remaining": "lots"}, None, id="garbage"),
        pytest.param({"X-Rate-Limit-Remaining": "inf"}, None, id="inf"),
        pytest.param({"X-Rate-Limit-Remaining": "nan"}, None, id="nan"),
        pytest.param(
            {"X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Reset": "soon"}, None, id="bad-reset"
        ),
        pytest.param({"X-RateLimit-Remaining": "3"}, None, id="wrong-spelling"),
    ],
)
def test_parse_rate_limit(headers: dict[str, str], expected: RateLimit | None):
    assert parse_rate_limit(httpx.Headers(headers)) == expected


def test_seconds_to_reset():
    limit = RateLimit(25, 0, 1_000)
    assert limit.seconds_to_reset(now=990.5) == 9.5
    assert limit.seconds_to_reset(now=2_000) == 0.0


def test_the_pacer_is_a_rate_limiter():
    assert isinstance(RatePacer(), RateLimiter)


# -- the pacer on its own ------------------------------------------------------


async def test_nothing_is_held_before_any_report():
    pacer = RatePacer()
    with anyio.fail_after(1):
        for _ in range(1000):
            await pacer.acquire()
    assert pacer.remaining is None
    assert pacer.waits == 0


async def test_spends_down_to_the_reserve_then_holds_until_the_reset():
    pacer = RatePacer(reserve=2)
    reset = time.time() + 0.6
    await pacer.observe(10, 5, reset)
    started = time.monotonic()
    for _ in range(3):
        await pacer.acquire()
    assert time.monotonic() - started < 0.2
    assert pacer.remaining == 2
    await pacer.acquire()  # held
    assert time.time() >= reset
    assert time.monotonic() - started < 3.0
    assert pacer.waits == 1
    assert pacer.waited >= 0.4
    # The new window is assumed to be as large as the last: 10, minus this request.
    assert pacer.remaining == 9


async def test_a_hold_longer_than_max_wait_is_refused_at_once():
    pacer = RatePacer(reserve=0, max_wait=5.0)
    await pacer.observe(600, 0, time.time() + 100)
    started = time.monotonic()
    with pytest.raises(procore_async.RateLimitError) as caught:
        await pacer.acquire()
    assert time.monotonic() - started < 0.5
    assert caught.value.retry_after == pytest.approx(100, abs=1.0)
    assert caught.value.response is None
    assert pacer.refusals == 1
    assert pacer.waits == 0


async def test_a_report_of_a_new_window_releases_the_held():
    pacer = RatePacer(reserve=2)
    await pacer.observe(10, 1, time.time() + 30)
    released: list[float] = []

    async def wait_turn() -> None:
        await pacer.acquire()
        released.append(time.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(wait_turn)
        await anyio.sleep(0.2)
        assert released == []
        sent = time.monotonic()
        await pacer.observe(10, 10, time.time() + 40)
    assert len(released) == 3
    assert max(released) - sent < 1.0
    assert pacer.remaining == 7


async def test_observe_keeps_the_newest_window_and_the_lowest_count():
    pacer = RatePacer()
    now = time.time()
    await pacer.observe(25, 20, now + 10)
    await pacer.observe(25, 22, now + 10)  # same window: an earlier, higher count
    assert pacer.remaining == 20
    await pacer.observe(25, 15, now + 10)
    assert pacer.remaining == 15
    await pacer.observe(25, 24, now + 5)  # an older window
    assert (pacer.remaining, pacer.reset) == (15, now + 10)
    await pacer.observe(25, 24, now - 1)  # a window that has ended
    assert (pacer.remaining, pacer.reset) == (15, now + 10)
    await pacer.observe(600, 40, now + 3000)  # the hourly window takes over
    assert (pacer.remaining, pacer.reset) == (40, now + 3000)


async def test_the_first_report_of_an_assumed_window_only_lowers_the_count():
    pacer = RatePacer(reserve=2)
    await pacer.observe(10, 3, time.time() + 0.2)
    await pacer.acquire()
    await pacer.acquire()  # held until the reset, then the new window is assumed
    assert pacer.remaining == 9
    for _ in range(4):
        await pacer.acquire()
    assert pacer.remaining == 5
    # The server saw fewer of them so far (still in flight): keep our lower count.
    await pacer.observe(10, 8, time.time() + 10)
    assert pacer.remaining == 5
    await pacer.observe(10, 3, time.time() + 10)
    assert pacer.remaining == 3


async def test_a_window_no_larger_than_the_reserve_still_lets_requests_through():
    pacer = RatePacer(reserve=2, assume_for=0.2)
    await pacer.observe(1, 0, time.time() + 0.3)
    with anyio.fail_after(3):
        for _ in range(3):
            await pacer.acquire()


async def test_concurrent_callers_share_one_budget():
    pacer = RatePacer(reserve=2)
    reset = time.time() + 0.8
    await pacer.observe(10, 10, reset)
    admitted: list[float] = []

    async def one() -> None:
        await pacer.acquire()
        admitted.append(time.time())

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
    before = [t for t in admitted if t < reset]
    assert len(before) == 8
    assert len(admitted) == 20
    assert pacer.waits == 12


# -- the client holding requests -----------------------------------------------


class WindowedServer:
    """A transport handler with Procore-style fixed windows of one second (epoch-aligned).

    Every response reports the window; a request over ``limit`` gets a 429.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counts: dict[int, int] = {}
        self.arrivals: list[float] = []
        self.rate_limited = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        now = time.time()
        self.arrivals.append(now)
        window = math.floor(now)
        count = self.counts[window] = self.counts.get(window, 0) + 1
        headers = {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(0, self.limit - count)),
            "X-Rate-Limit-Reset": str(window + 1),
        }
        if count > self.limit:
            self.rate_limited += 1
            return httpx.Response(429, headers=headers, text="You have surpassed the max")
        return httpx.Response(200, headers=headers, json={"n": len(self.arrivals)})


class NoPacing:
    """A limiter that never holds anything: what a client without pacing does."""

    async def acquire(self) -> None:
        return None

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        return None


async def _client(handler: Any, **kwargs: Any) -> procore_async.AsyncClient:
    store = MemoryStore()
    await store.save(procore_async.Token("tok", "refresh", time.time() + 3600))
    return procore_async.AsyncClient(
        "id",
        "secret",
        store,
        transport=httpx.MockTransport(handler),
        config=procore_async.Config(retry_backoff=0.01),
        **kwargs,
    )


async def test_the_next_request_waits_for_the_reset_when_the_budget_is_at_the_reserve():
    reset = math.ceil(time.time()) + 1
    arrivals: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.time())
        remaining = "2" if len(arrivals) == 1 else "20"
        headers = {"X-Rate-Limit-Limit": "25", "X-Rate-Limit-Remaining": remaining}
        return httpx.Response(200, headers={**headers, "X-Rate-Limit-Reset": str(reset)})

    async with await _client(handler) as client:
        first = await client.get("me")
        assert first.rate_limit == RateLimit(25, 2, reset)
        await client.get("me")
        assert isinstance(client.rate_limiter, RatePacer)
        assert client.rate_limiter.waits == 1
    assert arrivals[1] >= reset
    assert arrivals[1] - reset < 2.0


async def test_a_pacer_with_max_wait_refuses_without_spending_a_request():
    arrivals: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        arrivals.append(time.time())
        reset = str(int(time.time()) + 600)
        return httpx.Response(
            200, headers={"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset}
        )

    pacer = RatePacer(reserve=0, max_wait=30.0)
    async with await _client(handler, rate_limiter=pacer) as client:
        await client.get("me")
        with pytest.raises(procore_async.RateLimitError) as caught:
            await client.get("me")
    assert len(arrivals) == 1
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 500


@pytest.mark.parametrize("paced", [True, False], ids=["paced", "unpaced"])
async def test_concurrent_tasks_share_the_pacer_and_meet_no_429(paced: bool):
    server = WindowedServer(limit=8)
    limiter = None if paced else NoPacing()
    results: list[int] = []

    async def worker(client: procore_async.AsyncClient, jobs: int) -> None:
        for _ in range(jobs):
            results.append((await client.get("projects")).status_code)

    async with await _client(server, rate_limiter=limiter) as client:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(6):
                    tg.start_soon(worker, client, 4)
    # Every caller got its answer either way; only pacing kept the server from refusing.
    assert results == [200] * 24
    if paced:
        assert server.rate_limited == 0
        assert client.rate_limiter.waits > 0  # type: ignore[attr-defined]
    else:
        assert server.rate_limited > 0
        assert client.retry_policy.retries >= server.rate_limited


async def test_requests_sent_blind_count_against_the_first_report():
    pacer = RatePacer()
    for _ in range(5):
        await pacer.acquire()
    # The first answer may count only its own request: the other four are still in flight.
    await pacer.observe(10, 9, time.time() + 10)
    assert pacer.remaining == 5


# -- against FakeProcore -------------------------------------------------------


@pytest.mark.slow
async def test_a_job_of_three_times_the_limit_completes_without_a_429():
    """Three 10-second spike windows' worth of reads: the pacer spaces them out."""
    limit = 4
    fake = FakeProcore(rate_limit=None, spike_limit=limit, projects=3 * limit)
    pages = iter(range(1, 3 * limit + 1))
    seen: list[int] = []

    async def worker(client: procore_async.AsyncClient) -> None:
        for page in pages:
            response = await client.get(
                "projects",
                query={"company_id": fake.company_id, "page": page, "per_page": 1},
                company_id=fake.company_id,
            )
            seen.extend(project["id"] for project in response.body)

    config = procore_async.Config(rate_limit_reserve=0)
    async with fake.client(config=config) as client:
        await client.refresh()
        fake.stats.reset()
        started = time.monotonic()
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for _ in range(limit):
                    tg.start_soon(worker, client)
        elapsed = time.monotonic() - started
    assert sorted(seen) == sorted(p["id"] for p in fake.records(fake.company_id, "projects"))
    assert fake.stats.requests == 3 * limit
    assert fake.stats.rate_limited == 0
    assert client.retry_policy.retries == 0
    assert isinstance(client.rate_limiter, RatePacer)
    assert client.rate_limiter.waits >= 2
    # Two window resets were waited out, not hammered through.
    assert elapsed >= 2 * 9.0
