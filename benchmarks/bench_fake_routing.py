"""FakeProcore's routing cost: the strict (catalog) fake against the lenient one, side by side.

The strict fake matches every request against Procore's 2,638-operation catalog before it
handles it; this measures what that costs, in process, for the calls tests make most: a
paginated list, a show, and a 100-item sync batch.  Rounds alternate strict and lenient so a
noisy neighbour hurts both alike; medians are reported.  Target: the strict fake's time per
request within 1.25x of the lenient one's (routing must not be what a test suite waits on).
Times are CPU seconds of this process (``time.process_time``): everything runs in process, so
CPU is the cost, and it is far less disturbed by other work on a shared machine than wall time.

    python benchmarks/bench_fake_routing.py [--requests 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import httpx
from _results import record

from procore_async.testing import FakeProcore


async def per_request(strict: bool, requests: int, kinds: int = 3) -> float:
    """Seconds per request over list, show (and, with ``kinds=3``, sync) calls in turn."""
    fake = FakeProcore(strict=strict, rate_limit=None, seed=1)
    token = fake.issue_token()
    company = fake.company_id
    headers = {"Authorization": f"Bearer {token.access_token}", "Procore-Company-Id": str(company)}
    project = fake.records(company, "projects")[0]["id"]
    fake.add_records(company, "rfis", 50, project_id=project)
    rfi = fake.records(company, "rfis", project_id=project)[0]["id"]
    sync_path = (
        "/rest/v1.0/vendors/sync" if strict else f"/rest/v1.0/companies/{company}/vendors/sync"
    )
    batch = {
        "company_id": company,
        "updates": [{"origin_id": f"o{i}", "name": f"V{i}"} for i in range(100)],
    }
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url="https://api.procore.test"
    ) as http:
        started = time.process_time()
        for i in range(requests):
            kind = i % kinds
            if kind == 0:
                response = await http.get(
                    f"/rest/v1.0/projects/{project}/rfis?per_page=10", headers=headers
                )
            elif kind == 1:
                response = await http.get(
                    f"/rest/v1.0/projects/{project}/rfis/{rfi}", headers=headers
                )
            else:
                response = await http.patch(sync_path, headers=headers, json=batch)
            assert response.status_code == 200, response.text
        return (time.process_time() - started) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=1.25)
    args = parser.parse_args()
    asyncio.run(per_request(True, 100))  # warm up imports and the catalog
    ratios = []
    figures: dict[str, float] = {}
    print(f"{'calls':<22}{'lenient us':>12}{'strict us':>12}{'ratio':>8}")
    for label, kinds in (("list + show", 2), ("list + show + sync", 3)):
        strict: list[float] = []
        lenient: list[float] = []
        for _ in range(args.rounds):
            strict.append(asyncio.run(per_request(True, args.requests, kinds)))
            lenient.append(asyncio.run(per_request(False, args.requests, kinds)))
        s, le = statistics.median(strict), statistics.median(lenient)
        ratios.append(s / le)
        figures[f"lenient, {label}"] = round(le * 1e6, 1)
        figures[f"strict, {label}"] = round(s * 1e6, 1)
        print(f"{label:<22}{le * 1e6:>12.1f}{s * 1e6:>12.1f}{s / le:>8.3f}")
    worst = max(ratios)
    record(
        "fake_routing",
        f"FakeProcore routing, {args.requests:,} calls (lower is better)",
        "CPU µs per call (median of rounds)",
        figures,
    )
    print(f"worst ratio strict / lenient: {worst:.3f} (target <= {args.max_ratio})")
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
