"""Pacing: one job against a small rate limit, with the default pacer and without.

:class:`FakeProcore` with a 10-second spike limit of ``--limit`` requests (the hourly
limit off) serves a job of ``--requests`` page reads (3x the limit by default) from
``--concurrency`` tasks sharing one client.  Each mode runs on a fresh fake:

* ``paced``: the default :class:`RatePacer` (``Config.rate_limit_reserve`` = 2) holds
  requests once the reported budget is down to the reserve, until the window resets;
* ``paced, reserve 0``: the same pacer spending the whole window (what the reserve,
  kept for other processes and clock skew, costs in time);
* ``unpaced``: a limiter that never holds (``rate_limiter=NoPacing()``), so the client
  learns about the limit only from 429s and their ``Retry-After``.

Reported side by side: the 429s the server sent, the retries the client made, the
calls that still failed (a 429 after ``max_retries``), and the elapsed time.  Expect
roughly ``requests / limit`` windows of 10 s either way; the point is how many
refusals it took (Procore counts refused requests against the quota too).

    python benchmarks/bench_ratelimit.py [--limit 10] [--requests 30] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

import anyio
from _results import record

from procore_async import Config, RateLimitError, RatePacer
from procore_async.testing import FakeProcore


class NoPacing:
    """A ``RateLimiter`` that never holds a request: a client without pacing."""

    async def acquire(self) -> None:
        return None

    async def observe(self, limit: int, remaining: int, reset: float) -> None:
        return None


MODES = {
    "paced": Config(),
    "reserve 0": Config(rate_limit_reserve=0),
    "unpaced": Config(),
}


async def run(mode: str, limit: int, requests: int, concurrency: int) -> dict[str, Any]:
    fake = FakeProcore(rate_limit=None, spike_limit=limit, projects=requests)
    limiter = NoPacing() if mode == "unpaced" else None
    pages = iter(range(1, requests + 1))
    statuses: list[int] = []
    failed = 0

    async def worker() -> None:
        nonlocal failed
        for page in pages:
            try:
                response = await client.get(
                    "projects",
                    query={"company_id": fake.company_id, "page": page, "per_page": 1},
                    company_id=fake.company_id,
                )
            except RateLimitError:
                failed += 1
            else:
                statuses.append(response.status_code)

    async with fake.client(config=MODES[mode], rate_limiter=limiter) as client:
        await client.refresh()  # the token grant is not part of the job
        fake.stats.reset()
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        elapsed = time.perf_counter() - started
    pacer = client.rate_limiter
    return {
        "mode": mode,
        "requests sent": fake.stats.requests,
        "429s sent": fake.stats.rate_limited,
        "retries": client.retry_policy.retries,
        "calls failed": failed,
        "succeeded": statuses.count(200),
        "pacer holds": pacer.waits if isinstance(pacer, RatePacer) else 0,
        "elapsed s": round(elapsed, 1),
    }


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    return [await run(mode, args.limit, args.requests, args.concurrency) for mode in MODES]


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"job: {args.requests} GETs from {args.concurrency} tasks; "
        f"spike limit {args.limit} per 10 s window"
    )
    width = max(len(key) for key in rows[0])
    print(f"{'':{width}}  " + "  ".join(f"{row['mode']:>10}" for row in rows))
    for key in rows[0]:
        if key != "mode":
            print(f"{key:{width}}  " + "  ".join(f"{row[key]!s:>10}" for row in rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=10, help="requests per 10 s window")
    parser.add_argument("--requests", type=int, help="job size (default 3 x limit)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    arguments = parser.parse_args()
    # Each retry is logged at WARNING; the table says how many there were.
    logging.getLogger("procore_async").setLevel(logging.ERROR)
    if arguments.requests is None:
        arguments.requests = 3 * arguments.limit
    results = anyio.run(main, arguments)
    report(results, arguments)
    record(
        "ratelimit",
        f"Rate limits: {arguments.requests} GETs, {arguments.limit} per 10 s window",
        "429s the server sent (lower is better)",
        {row["mode"]: row["429s sent"] for row in reversed(results)},
    )
    if arguments.json:
        print(json.dumps(results))
