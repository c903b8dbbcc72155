"""CPU of one generated call against the same raw call, both over ``httpx.MockTransport``.

``client.api.rfis.show(project_id=7, id=9, company_id=3)`` against
``client.get("projects/7/rfis/9", company_id=3)``, and a one-page
``client.api.rfis.list(...)`` with filters against the same ``client.paginate``.
The generated side adds the ``client.api`` look-up, path building and the query
dict; the target is at most +5% over the raw call.

Two measures:

* CPU time (``process_time``), median of interleaved rounds (noisy on a shared
  machine)::

      python benchmarks/bench_resources.py [--requests 2000] [--rounds 7]

* instruction counts under callgrind, the stable figure: each side runs with N
  and 2N calls, and the difference divided by N is the cost of one call, startup
  and warm-up cancelled out::

      python benchmarks/bench_resources.py --callgrind [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from _results import record

import procore_async
from procore_async.stores import MemoryStore

SHOW = b'{"id": 9, "subject": "Roof leak", "status": "open"}'
LIST = b'[{"id": 9, "subject": "Roof leak", "status": "open"}]'
HEADERS = {"content-type": "application/json", "x-request-id": "abc"}
FILTERS = {"status": "open", "id": [1, 2]}


def handler(request: httpx.Request) -> httpx.Response:
    body = LIST if request.url.path.endswith("/rfis") else SHOW
    return httpx.Response(200, content=body, headers=HEADERS)


Call = Callable[[procore_async.AsyncClient], Awaitable[object]]


async def raw_show(client: procore_async.AsyncClient) -> object:
    return (await client.get("projects/7/rfis/9", company_id=3)).body


async def generated_show(client: procore_async.AsyncClient) -> object:
    return (await client.api.rfis.show(project_id=7, id=9, company_id=3)).data


async def raw_list(client: procore_async.AsyncClient) -> object:
    pages = client.paginate("projects/7/rfis", company_id=3, query={"filters": FILTERS})
    return [item async for item in pages]


async def generated_list(client: procore_async.AsyncClient) -> object:
    pages = client.api.rfis.list(
        project_id=7, company_id=3, filters={"status": "open", "id": [1, 2]}
    )
    return [item async for item in pages]


SIDES: dict[str, Call] = {
    "raw show": raw_show,
    "generated show": generated_show,
    "raw list": raw_list,
    "generated list": generated_list,
}


async def run(call: Call, n: int) -> float:
    store = MemoryStore()
    await store.save(procore_async.Token("token", "refresh", time.time() + 3600))
    async with procore_async.AsyncClient(
        "id", "secret", store, transport=httpx.MockTransport(handler)
    ) as client:
        for _ in range(20):  # warm: imports, the namespace module, caches
            await call(client)
        start = time.process_time()
        for _ in range(n):
            await call(client)
        return (time.process_time() - start) / n


def cpu(args: argparse.Namespace) -> int:
    samples: dict[str, list[float]] = {name: [] for name in SIDES}
    for _ in range(args.rounds):
        for name, call in SIDES.items():
            samples[name].append(asyncio.run(run(call, args.requests)))
    print(f"{'side':<18}{'CPU µs/call (median)':>24}")
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:<18}{value * 1e6:>24.1f}")
    record(
        "resources",
        "client.api (generated) vs the raw call, CPU per call (lower is better)",
        f"CPU µs per call (median of {args.rounds} rounds)",
        {name: round(value * 1e6, 1) for name, value in medians.items()},
        baseline=["raw show", "raw list"],
    )
    return report(
        {kind: medians[f"generated {kind}"] / medians[f"raw {kind}"] for kind in ("show", "list")},
        args,
    )


def instructions(side: str, n: int, valgrind: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = [
            valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, __file__, "--side", side, "--requests", str(n),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        found = re.search(rb"^(?:summary|totals): (\d+)", out.read_bytes(), re.M)
        assert found is not None, "no totals in the callgrind output"
        return int(found.group(1))


def callgrind(args: argparse.Namespace) -> int:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 2
    n = args.requests
    per_call = {}
    print(f"{'side':<18}{'instructions/call':>20}")
    for name in SIDES:
        per_call[name] = (instructions(name, 2 * n, valgrind) - instructions(name, n, valgrind)) / n
        print(f"{name:<18}{per_call[name]:>20,.0f}")
    return report(
        {
            kind: per_call[f"generated {kind}"] / per_call[f"raw {kind}"]
            for kind in ("show", "list")
        },
        args,
    )


def report(ratios: dict[str, float], args: argparse.Namespace) -> int:
    for kind, ratio in ratios.items():
        print(f"ratio generated / raw {kind}: {ratio:.3f} (target <= {args.max_ratio})")
    return 0 if all(ratio <= args.max_ratio for ratio in ratios.values()) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--max-ratio", type=float, default=1.05)
    parser.add_argument("--callgrind", action="store_true", help="count instructions instead")
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side is not None:  # one side, under callgrind
        asyncio.run(run(SIDES[args.side], args.requests))
        return 0
    if args.callgrind:
        args.requests = args.requests or 300
        return callgrind(args)
    args.requests = args.requests or 2000
    return cpu(args)


if __name__ == "__main__":
    sys.exit(main())
