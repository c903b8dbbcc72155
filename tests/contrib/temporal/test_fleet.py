"""A real fleet: three ``procore-async fleet worker`` processes, Redis, a dev server, one SIGKILL.

The workers share one token (``RedisStore``) and one rate budget
(``RedisRateLimiter``) and reach FakeProcore over HTTP.  Midway through a
50,000-row import the worker holding a running shard is killed; its shard times
out on its heartbeat and resumes on another worker from the last confirmed window.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

from procore_async.cli._fleet_run import exactly_once, running_fleet, write_vendor_rows
from procore_async.contrib.temporal import ImportSpec, progress, start_import
from procore_async.testing import FakeProcore

pytestmark = pytest.mark.slow

ROWS = 50_000


async def test_an_import_survives_a_killed_worker_with_every_record_once(
    temporal: Any, temporal_address: str, redis_url: str, tmp_path: Path
) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    company = fake.company_id
    rows = tmp_path / "vendors.jsonl"
    await anyio.to_thread.run_sync(write_vendor_rows, rows, ROWS)
    async with running_fleet(
        3, tmp_path, fake=fake, temporal_address=temporal_address, redis_url=redis_url
    ) as fleet:
        spec = ImportSpec(
            path="vendors/sync", location=str(rows), company_id=company,
            body={"company_id": company}, shard_size=2500, batch_size=250, concurrency=2,
            max_parallel=6, heartbeat_timeout=3,
        )  # fmt: skip
        handle = await start_import(temporal, spec, task_queue=fleet.task_queue)
        killed_at = None
        deadline = time.monotonic() + 90
        while killed_at is None and time.monotonic() < deadline:
            now = await progress(temporal, handle)
            if now.done >= ROWS // 3:
                victim = await fleet.busy_worker(handle)
                if victim is not None:
                    fleet.kill(victim)
                    killed_at = now.done
            await anyio.sleep(0.05)
        assert killed_at is not None and killed_at < ROWS, "no worker was killed mid-import"
        with anyio.fail_after(100):
            report = await handle.result()
        assert fleet.alive() == 2
    assert exactly_once(fake, company, [f"v-{i}" for i in range(ROWS)]) == []
    assert len(fake.records(company, "vendors")) == ROWS
    assert report.total == report.accounted == ROWS
    assert (report.rejected, report.failed) == (0, 0)
    assert report.created + report.updated == ROWS
    assert report.retried_shards >= 1  # the killed worker's shard ran again elsewhere
    # One token for the whole fleet: the workers shared it through Redis.
    assert fake.stats.token_grants["client_credentials"] == 1
