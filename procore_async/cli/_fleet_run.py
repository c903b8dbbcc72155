"""A whole fleet on one machine: Temporal dev server, FakeProcore over HTTP, N worker processes.

``procore-async demo --fleet N``, the fleet tests and ``benchmarks/bench_fleet.py``
all run this: real processes talking over real sockets, so killing a worker is a
real ``SIGKILL`` and the token and budget are really shared (through Redis when a
``redis_url`` is given, else through one token file).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import anyio
import anyio.abc

from ..testing import FakeProcore, serving

__all__ = ["Fleet", "exactly_once", "running_fleet", "worker_command", "write_vendor_rows"]


@dataclass
class Fleet:
    """The running parts; ``workers[i]`` is worker ``i``'s process (None once killed)."""

    temporal_address: str
    api_url: str
    fake: FakeProcore
    directory: Path
    task_queue: str
    workers: list[anyio.abc.Process | None] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    def kill(self, index: int) -> None:
        """SIGKILL worker ``index``: no clean-up, no goodbye to Temporal."""
        process = self.workers[index]
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)

    def alive(self) -> int:
        return sum(1 for p in self.workers if p is not None and p.returncode is None)

    async def busy_worker(self, handle: Any) -> int | None:
        """The index of a live worker running one of ``handle``'s activities right now.

        Temporal names a worker ``<pid>@<host>`` unless told otherwise, and records
        which worker holds each pending activity.
        """
        pids = {p.pid: i for i, p in enumerate(self.workers) if p and p.returncode is None}
        description = await handle.describe()
        for pending in description.raw_description.pending_activities:
            pid = pending.last_worker_identity.partition("@")[0]
            if pid.isdigit() and int(pid) in pids and pending.heartbeat_details.payloads:
                return pids[int(pid)]
        return None


def worker_command(
    fleet_address: str,
    api_url: str,
    fake: FakeProcore,
    store: Path,
    task_queue: str,
    *,
    activities: int,
    redis_url: str | None,
    activities_per_second: float | None = None,
) -> list[str]:
    command = [
        sys.executable, "-m", "procore_async", "fleet", "worker",
        "--temporal", fleet_address, "--task-queue", task_queue,
        "--host", api_url, "--login-host", api_url, "--client-credentials",
        "--store", str(store), "--activities", str(activities),
    ]  # fmt: skip
    if redis_url:
        command += ["--redis", redis_url]
    if activities_per_second is not None:
        command += ["--activities-per-second", str(activities_per_second)]
    return command


@asynccontextmanager
async def running_fleet(
    workers: int,
    directory: Path,
    *,
    fake: FakeProcore | None = None,
    temporal_address: str | None = None,
    redis_url: str | None = None,
    activities: int = 2,
    activities_per_second: float | None = None,
    task_queue: str | None = None,
    extra_env: dict[str, str] | None = None,
    app: Any = None,
) -> AsyncIterator[Fleet]:
    """Start everything a fleet needs for the block; stop all of it afterwards.

    ``temporal_address`` reuses a running server (tests share one per session);
    otherwise a dev server is started for the block.  ``app`` is served in place of
    ``fake`` (an ASGI wrapper around it that counts or alters requests).
    """
    from ..contrib.temporal._devserver import dev_server

    fake = fake if fake is not None else FakeProcore(rate_limit=None, projects=3)
    queue = task_queue or f"procore-fleet-{os.getpid()}-{id(fake)}"
    async with AsyncExitStack() as stack:
        if temporal_address is None:
            server = await stack.enter_async_context(dev_server())
            temporal_address = server.address
        api_url = await stack.enter_async_context(serving(app if app is not None else fake))
        fleet = Fleet(temporal_address, api_url, fake, directory, queue)
        env = {
            **os.environ,
            "PROCORE_CLIENT_ID": fake.client_id,
            "PROCORE_CLIENT_SECRET": fake.client_secret,
            **(extra_env or {}),
        }
        env.pop("CI", None)  # the worker is not a test; nothing in it skips or fails on CI
        command = worker_command(
            temporal_address, api_url, fake, directory / "tokens.json", queue,
            activities=activities, redis_url=redis_url,
            activities_per_second=activities_per_second,
        )  # fmt: skip
        try:
            for index in range(workers):
                log = (directory / f"worker-{index}.log").open("wb")
                fleet.logs.append(log)
                process = await anyio.open_process(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env
                )
                fleet.workers.append(process)
            yield fleet
        finally:
            with anyio.CancelScope(shield=True):
                await _stop(fleet)


async def _stop(fleet: Fleet) -> None:
    for process in fleet.workers:
        if process is not None and process.returncode is None:
            process.terminate()
    for process in fleet.workers:
        if process is None:
            continue
        with anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.aclose()
    for log in fleet.logs:
        log.close()


def write_vendor_rows(path: Path, count: int, *, prefix: str = "v", start: int = 0) -> None:
    """``count`` keyed vendor rows as JSONL (blocking: call it in a worker thread)."""
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(
            json.dumps({"origin_id": f"{prefix}-{i}", "name": f"Vendor {i}"}) + "\n"
            for i in range(start, start + count)
        )


def exactly_once(fake: FakeProcore, company_id: int, expected: Sequence[str]) -> list[str]:
    """What is wrong with the fake's vendors against ``expected`` origin ids ([] if nothing)."""
    records = fake.records(company_id, "vendors")
    seen: dict[str, int] = {}
    for record in records:
        origin = str(record.get("origin_id"))
        seen[origin] = seen.get(origin, 0) + 1
    problems = []
    duplicated = [origin for origin, n in seen.items() if n > 1]
    missing = [origin for origin in expected if origin not in seen]
    extra = len(set(seen) - set(expected))
    if duplicated:
        problems.append(f"{len(duplicated)} records arrived more than once")
    if missing:
        problems.append(f"{len(missing)} records never arrived")
    if extra:
        problems.append(f"{extra} records nobody sent")
    return problems
