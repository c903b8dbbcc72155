"""A Temporal worker that runs the fleet's workflows and activities with one client.

Every worker process builds one :class:`~procore_async.AsyncClient` whose token
store and rate limiter are shared by the fleet (``RedisStore``: one refresh for
every worker; ``RedisRateLimiter``: one Procore budget, paced from Procore's
headers) and hands it to :func:`create_worker`.  ``activities_per_second`` sets
Temporal's task-queue rate cap (``max_task_queue_activities_per_second``): the
server enforces it across every worker on the queue, a coarse ceiling on how fast
shards start, while the shared limiter paces the requests inside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from temporalio.worker import Worker

from ._activities import FleetActivities, FleetClient
from ._types import DEFAULT_TASK_QUEUE
from ._workflows import ExportWorkflow, ImportWorkflow

if TYPE_CHECKING:
    from temporalio.client import Client

    from ._sources import RowSource

__all__ = ["create_worker"]


def create_worker(
    temporal: Client,
    client: FleetClient,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    max_concurrent_activities: int = 4,
    activities_per_second: float | None = None,
    sources: Mapping[str, RowSource] | None = None,
    **worker_options: Any,
) -> Worker:
    """A ``Worker`` for the import and export workflows and their activities.

    ``max_concurrent_activities`` is how many shards this process syncs at once
    (each with ``ImportSpec.concurrency`` batches in flight); ``sources`` adds row
    sources beyond files.  Other keyword arguments go to ``temporalio``'s ``Worker``.
    Run it with ``async with worker: ...`` or ``await worker.run()``.
    """
    if max_concurrent_activities < 1:
        raise ValueError("max_concurrent_activities must be at least 1")
    if activities_per_second is not None and activities_per_second <= 0:
        raise ValueError("activities_per_second must be positive (or None for no cap)")
    activities = FleetActivities(client, sources=sources)
    return Worker(
        temporal,
        task_queue=task_queue,
        workflows=[ImportWorkflow, ExportWorkflow],
        activities=activities.all(),
        max_concurrent_activities=max_concurrent_activities,
        max_task_queue_activities_per_second=activities_per_second,
        **worker_options,
    )
