"""Pagination: the gem's way (follow ``rel="next"``, one page at a time) against ``paginate``.

200 pages of 100 projects, each page held 20 ms at the server.  Following links
can do no better than ``pages * latency`` = 4 s; ``paginate`` at the default
concurrency (8) fetches the 199 pages after the first one eight at a time.  Three
ways, measured side by side and interleaved (gem, ``async for``, ``async with``;
again...), medians reported:

* ``latency`` (the gate): an ``httpx.MockTransport`` handler that sleeps and
  replies with a page prepared before the clock starts, with Procore's ``Link``,
  ``Total``, ``Per-Page`` and rate-limit headers.  Real Procore does its work on
  its own machines, inside those 20 ms, so this is the honest model of the wire;
  the client still pays all of its own CPU (pipeline, JSON parsing, links).
* ``fake``: :class:`FakeProcore` in process with ``faults(latency=...)``.  Its
  own CPU (querying, JSON encoding: about 1 ms a page) runs on the client's event
  loop and cannot overlap with anything, so it is shown for information.

Then memory: walking 100,000 items (1000 pages) of FakeProcore with ``paginate``,
the peak growth of Python allocations (tracemalloc), client and server together.

Targets: speedup >= 5x (latency server, ``async for``); peak memory growth < 50 MB.
Exit status 1 if one is missed.

    python benchmarks/bench_pagination.py [--pages 200] [--per-page 100]
        [--latency 0.02] [--concurrency 8] [--rounds 3] [--memory-items 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import anyio
import httpx
from _results import record

from procore_async import AsyncClient, Config, Token
from procore_async.stores import MemoryStore
from procore_async.testing import FakeProcore

Way = Callable[[AsyncClient, int | None, int], Awaitable[int]]


async def gem_way(client: AsyncClient, company: int | None, per_page: int) -> int:
    """What the gem leaves its users to write: GET, then GET ``next`` until there is none."""
    query = (
        {"per_page": per_page} if company is None else {"company_id": company, "per_page": per_page}
    )
    response = await client.get("projects", query=query, company_id=company)
    seen = len(response.body)
    while "next" in response.pagination:
        response = await client.get(response.pagination["next"], company_id=company)
        seen += len(response.body)
    return seen


async def paginate_way(client: AsyncClient, company: int | None, per_page: int) -> int:
    seen = 0
    query = {} if company is None else {"company_id": company}
    async for _ in client.paginate("projects", query=query, company_id=company, per_page=per_page):
        seen += 1
    return seen


async def managed_way(client: AsyncClient, company: int | None, per_page: int) -> int:
    seen = 0
    query = {} if company is None else {"company_id": company}
    items = client.paginate("projects", query=query, company_id=company, per_page=per_page)
    async with items:
        async for _ in items:
            seen += 1
    return seen


WAYS: dict[str, Way] = {
    "gem: follow next, one page at a time": gem_way,
    "paginate (async for)": paginate_way,
    "paginate (async with: background fetch)": managed_way,
}


def latency_client(args: argparse.Namespace, config: Config) -> AsyncClient:
    """A client on a server that only waits; every page body is encoded in advance."""
    total, per_page = args.pages * args.per_page, args.per_page
    rows = [{"id": n, "name": f"Project {n}", "active": True} for n in range(total)]
    bodies = [json.dumps(rows[at : at + per_page]).encode() for at in range(0, total, per_page)]

    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(args.latency)
        page = int(request.url.params.get("page", 1))

        base = str(request.url).partition("?")[0]  # the client sends no other parameter

        def link(number: int, rel: str) -> str:
            return f'<{base}?page={number}&per_page={per_page}>; rel="{rel}"'

        links = [link(1, "first"), link(page - 1, "prev")] if page > 1 else []
        if page < args.pages:
            links += [link(args.pages, "last"), link(page + 1, "next")]
        headers = {
            "Content-Type": "application/json",
            "Total": str(total),
            "Per-Page": str(per_page),
            "X-Rate-Limit-Limit": "3600",
            "X-Rate-Limit-Remaining": "3599",
            "X-Rate-Limit-Reset": str(int(time.time()) + 3600),
        }
        if links:
            headers["Link"] = ", ".join(links)
        return httpx.Response(200, content=bodies[page - 1], headers=headers)

    store = MemoryStore()
    store._tokens[store.key] = Token("token", "refresh", time.time() + 3600)
    return AsyncClient("id", "secret", store, config=config, transport=httpx.MockTransport(handler))


async def race(
    client: AsyncClient, company: int | None, args: argparse.Namespace
) -> dict[str, float]:
    """Median seconds of each way, run interleaved so a noisy neighbour hurts all alike."""
    runs: dict[str, list[float]] = {name: [] for name in WAYS}
    for _ in range(args.rounds):
        for name, way in WAYS.items():
            started = time.perf_counter()
            seen = await way(client, company, args.per_page)
            runs[name].append(time.perf_counter() - started)
            assert seen == args.pages * args.per_page, (name, seen)
    return {name: statistics.median(times) for name, times in runs.items()}


async def memory(args: argparse.Namespace, config: Config) -> tuple[float, int]:
    """Peak allocation growth (MB) over a walk of ``memory_items`` items, none kept."""
    fake = FakeProcore(rate_limit=None, projects=args.memory_items)
    async with fake.client(config=config) as client:
        await client.refresh()
        fake.faults(latency=args.latency, oauth=False)
        requests = fake.stats.requests
        gc.collect()
        tracemalloc.start()
        baseline, _ = tracemalloc.get_traced_memory()
        seen = await paginate_way(client, fake.company_id, 100)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert seen == args.memory_items, seen
        return (peak - baseline) / 1e6, fake.stats.requests - requests


def table(title: str, medians: dict[str, float], ideal: float) -> None:
    gem = medians[next(iter(WAYS))]
    print(f"[{title}]")
    print(f"  {'way':<42} {'seconds':>8} {'speedup':>8}")
    for name, seconds in medians.items():
        print(f"  {name:<42} {seconds:8.3f} {gem / seconds:7.2f}x")
    print(f"  {'ideal: first page, then waves':<42} {ideal:8.3f}")
    print()


async def main(args: argparse.Namespace) -> int:
    config = Config(max_concurrency=args.concurrency)
    ideal = args.latency * (1 + -(-(args.pages - 1) // args.concurrency))
    print(
        f"{args.pages} pages of {args.per_page} items, {args.latency * 1000:.0f} ms per page "
        f"at the server, concurrency {args.concurrency}, median of {args.rounds} interleaved "
        "rounds\n"
    )
    async with latency_client(args, config) as client:
        gated = await race(client, None, args)
    table("latency: MockTransport, no server CPU on this loop (the gate)", gated, ideal)

    fake = FakeProcore(rate_limit=None, projects=args.pages * args.per_page)
    async with fake.client(config=config) as client:
        await client.refresh()  # the token grant is not part of the figures
        fake.faults(latency=args.latency, oauth=False)
        shown = await race(client, fake.company_id, args)
    table("fake: FakeProcore in process, its CPU on this loop (information)", shown, ideal)

    record(
        "pagination",
        f"Pagination: {args.pages} pages, {args.latency * 1000:.0f} ms each (lower is better)",
        "seconds (median of rounds)",
        {**{name: round(s, 3) for name, s in gated.items()}, "ideal": round(ideal, 3)},
    )
    peak, requests = await memory(args, config)
    speedup = gated[next(iter(WAYS))] / gated["paginate (async for)"]
    speed_ok, memory_ok = speedup >= 5.0, peak < 50.0
    print(
        f"  speedup, async for, latency server : {speedup:6.2f}x   target >= 5x    {_ok(speed_ok)}"
    )
    print(
        f"  peak memory growth, paginate       : {peak:6.2f} MB  target < 50 MB  {_ok(memory_ok)}"
        f"  ({args.memory_items:,} items, {requests} requests, FakeProcore)"
    )
    return 0 if speed_ok and memory_ok else 1


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory-items", type=int, default=100_000)
    args = parser.parse_args(argv)
    if min(args.pages, args.per_page, args.concurrency, args.rounds, args.memory_items) < 1:
        parser.error("counts must be >= 1")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
