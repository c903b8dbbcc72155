"""A long-running asyncio worker: jobs from a queue, a few consumers, one shared client.

    python examples/worker.py      # against an in-process FakeProcore that fails 10% of requests

With PROCORE_CLIENT_ID, PROCORE_CLIENT_SECRET and PROCORE_COMPANY_ID set it works on that
company instead, as the app's service account, with ``Config.from_env()`` settings
(PROCORE_HOST, PROCORE_LOGIN_HOST, PROCORE_MAX_RETRY_WAIT, ...).

Each job marks one project as reviewed (GET it, then PATCH it).  What a worker needs
beyond a script:

* one client for the whole process: one connection pool, one token, one rate budget;
* the PATCH sets a field to a fixed value, so resending it cannot do harm: the job
  says so in the request's description (``idempotent=True``), and the client may
  retry it after a lost reply or a 5xx.  An ``Idempotency-Token`` alone would not
  do: Procore honours that header on 5 operations only, and ignores it here;
* a rate-limit wait longer than ``Config.max_retry_wait`` is not slept through by the
  client: it raises ``RateLimitError`` with ``retry_after``, and the worker decides;
* SIGTERM or Ctrl-C stops the intake; jobs already taken are finished, not cut off.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
from collections import Counter

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

import procore_async
from procore_async.testing import FakeProcore

WORKERS = 8


async def review(client: procore_async.AsyncClient, company_id: int, project_id: int) -> None:
    # Procore's project show and update take company_id besides the header.
    scope = {"company_id": company_id}
    project = (await client.get(f"projects/{project_id}", query=scope, company_id=company_id)).body
    spec = client.build(
        "PATCH",
        f"projects/{project_id}",
        body={**scope, "project": {"description": f"reviewed: {project['name']}"}},
        company_id=company_id,
    )
    # Setting a field to a fixed value: safe to resend, so retried like a GET.
    await client.send(dataclasses.replace(spec, idempotent=True))


async def worker(
    client: procore_async.AsyncClient,
    company_id: int,
    jobs: MemoryObjectReceiveStream[int],
    done: Counter[str],
) -> None:
    async with jobs:
        async for project_id in jobs:
            try:
                await review(client, company_id, project_id)
                done["reviewed"] += 1
            except procore_async.RateLimitError as exc:
                # The budget is spent for longer than the client waits by itself. A real
                # worker would re-enqueue with a delay; here the job is counted as deferred.
                done["deferred"] += 1
                print(f"project {project_id}: rate limited for {exc.retry_after or 0:.0f} s")
            except procore_async.Error as exc:  # failed after its retries: log, go on
                done["failed"] += 1
                print(f"project {project_id}: {type(exc).__name__}: {exc}")


async def feed(
    client: procore_async.AsyncClient, company_id: int, jobs: MemoryObjectSendStream[int]
) -> None:
    async with jobs:  # closing it lets the workers drain the queue and stop
        async for project in client.paginate(
            "projects", query={"company_id": company_id}, company_id=company_id
        ):
            await jobs.send(project["id"])


async def stop_intake_on_signal(intake: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            print(f"{signal.Signals(signum).name}: taking no new jobs, finishing those queued")
            intake.cancel()
            return


def connect() -> tuple[procore_async.AsyncClient, int, FakeProcore | None]:
    """One client for the whole process: Procore when configured, else a flaky fake."""
    if os.environ.get("PROCORE_CLIENT_ID"):
        client = procore_async.AsyncClient(
            os.environ["PROCORE_CLIENT_ID"],
            os.environ["PROCORE_CLIENT_SECRET"],
            config=procore_async.Config.from_env(),
            grant_type="client_credentials",
        )
        return client, int(os.environ["PROCORE_COMPANY_ID"]), None
    fake = FakeProcore(projects=60)
    fake.faults(error_rate=0.1, seed=2)
    return fake.client(), fake.company_id, fake


async def main() -> None:
    logging.basicConfig(format="%(levelname)s %(message)s")  # the client logs each retry
    client, company_id, fake = connect()
    done: Counter[str] = Counter()
    send, receive = anyio.create_memory_object_stream[int](max_buffer_size=WORKERS * 2)
    intake = anyio.CancelScope()
    async with client, anyio.create_task_group() as process:
        process.start_soon(stop_intake_on_signal, intake)
        async with anyio.create_task_group() as workers:
            for _ in range(WORKERS):
                workers.start_soon(worker, client, company_id, receive.clone(), done)
            receive.close()
            with intake:
                await feed(client, company_id, send)
        process.cancel_scope.cancel()  # every job done: stop listening for signals
    faults = f" ({fake.stats.faults_injected} faults injected)" if fake else ""
    print(
        f"{done['reviewed']} projects reviewed, {done['failed']} failed, "
        f"{done['deferred']} deferred; {client.retry_policy.retries} retries absorbed{faults}"
    )


if __name__ == "__main__":
    anyio.run(main)
