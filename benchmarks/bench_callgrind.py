"""Instructions per GET under ``valgrind --tool=callgrind``: procore_async vs bare httpx.

Both sides send the same headers to the same ``httpx.MockTransport`` handler and
parse the JSON body.  Instruction counts are deterministic, so unlike CPU time
they do not move with a noisy neighbour.  Start-up (interpreter, imports, event
loop) is cancelled out by running each side twice, with ``--small`` and
``--large`` requests, and dividing the difference by ``large - small``.
Target: ratio <= 1.05 (goal 1.03).

    python benchmarks/bench_callgrind.py [--small 200] [--large 1200]

Needs ``valgrind`` on PATH (``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import httpx
from _results import record

BODY = b'{"id": 1, "login": "someone@example.com", "name": "Some One"}'
HEADERS = {"content-type": "application/json", "x-request-id": "abc"}
URL = "https://api.procore.com/rest/v1.0/me"


def handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers=HEADERS)


async def bare_httpx(n: int) -> None:
    import procore_async

    headers = {
        "Accept": "application/json",
        "User-Agent": f"procore-async/{procore_async.__version__}",
        "Procore-Sdk-Version": procore_async.__version__,
        "Procore-Sdk-Language": "python",
        "Authorization": "Bearer token",
    }
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        for _ in range(n):
            response = await http.get(URL, headers=headers)
            response.json()


async def library(n: int) -> None:
    import procore_async
    from procore_async.stores import MemoryStore

    store = MemoryStore()
    await store.save(procore_async.Token("token", "refresh", time.time() + 3600))
    async with procore_async.AsyncClient(
        "id", "secret", store, transport=httpx.MockTransport(handler)
    ) as client:
        for _ in range(n):
            response = await client.get("me")
            response.body  # noqa: B018


SIDES = {"httpx": bare_httpx, "procore_async": library}


def instructions(side: str, n: int) -> int:
    """Total instructions (Ir) callgrind counts for one run of ``side`` with ``n`` GETs."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, __file__, "--run", side, str(n)],
            check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        with open(out) as file:
            text = file.read()
    found = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError("no instruction total in callgrind's output")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=1200)
    parser.add_argument("--max-ratio", type=float, default=1.05)
    parser.add_argument("--run", nargs=2, metavar=("SIDE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        side, n = args.run
        asyncio.run(SIDES[side](int(n)))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not on PATH: apt-get install valgrind")
        return 2
    per_get = {}
    for side in SIDES:
        small, large = instructions(side, args.small), instructions(side, args.large)
        per_get[side] = (large - small) / (args.large - args.small)
    ratio = per_get["procore_async"] / per_get["httpx"]
    print(f"{'side':<16}{'instructions per GET':>22}")
    for side, count in per_get.items():
        print(f"{side:<16}{count:>22,.0f}")
    print(f"ratio procore_async / bare httpx: {ratio:.3f} (target <= {args.max_ratio})")
    record(
        "callgrind",
        "Instructions per GET under callgrind (lower is better)",
        "instructions per GET",
        {"bare httpx": round(per_get["httpx"]), "procore_async": round(per_get["procore_async"])},
    )
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
