"""Client CPU per request against bare httpx, both over ``httpx.MockTransport``.

Both sides send the same headers to the same in-memory transport, so the ratio
is the cost of procore_async's pipeline (URL rules, token, retry policy, pacing,
Response) on top of httpx.  CPU time (``process_time``), median of interleaved
rounds, because this machine is noisy.  Target: ratio <= 1.3 (goal 1.1).

    python benchmarks/bench_overhead.py [--requests 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import httpx
from _results import record

import procore_async
from procore_async.stores import MemoryStore

BODY = b'{"id": 1, "login": "someone@example.com", "name": "Some One"}'
HEADERS = {"content-type": "application/json", "x-request-id": "abc"}


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers=HEADERS)


async def bare_httpx(n: int) -> float:
    headers = {
        "Accept": "application/json",
        "User-Agent": f"procore-async/{procore_async.__version__}",
        "Procore-Sdk-Version": procore_async.__version__,
        "Procore-Sdk-Language": "python",
        "Authorization": "Bearer token",
    }
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        start = time.process_time()
        for _ in range(n):
            response = await http.get("https://api.procore.com/rest/v1.0/me", headers=headers)
            response.json()
        return (time.process_time() - start) / n


async def procore(n: int) -> float:
    store = MemoryStore()
    await store.save(procore_async.Token("token", "refresh", time.time() + 3600))
    async with procore_async.AsyncClient(
        "id", "secret", store, transport=httpx.MockTransport(handler)
    ) as client:
        start = time.process_time()
        for _ in range(n):
            response = await client.get("me")
            response.body  # noqa: B018
        return (time.process_time() - start) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--max-ratio", type=float, default=1.3)
    args = parser.parse_args()
    asyncio.run(procore(200))  # warm up imports and code paths
    bare, ours = [], []
    for _ in range(args.rounds):
        bare.append(asyncio.run(bare_httpx(args.requests)))
        ours.append(asyncio.run(procore(args.requests)))
    b, o = statistics.median(bare), statistics.median(ours)
    ratio = o / b
    print(f"{'side':<16}{'CPU µs/request (median)':>26}")
    print(f"{'bare httpx':<16}{b * 1e6:>26.1f}")
    print(f"{'procore_async':<16}{o * 1e6:>26.1f}")
    print(f"ratio procore_async / bare httpx: {ratio:.3f} (target <= {args.max_ratio})")
    record(
        "overhead",
        f"Per-request CPU, {args.requests:,} GETs (lower is better)",
        "CPU µs per request (median of rounds)",
        {"bare httpx": round(b * 1e6, 1), "procore_async": round(o * 1e6, 1)},
    )
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
