"""Starting the workflows and watching them: what a CLI or a scheduler calls.

Progress is the workflow's ``progress`` query (rows of finished shards) plus the
latest heartbeat of every running shard, read from ``describe()``: the
heartbeats already carry each shard's confirmed position, so watching costs the
workers nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._types import DEFAULT_TASK_QUEUE, ExportReport, ExportSpec, ImportReport, ImportSpec
from ._workflows import ExportWorkflow, ImportWorkflow

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

__all__ = ["Progress", "progress", "start_export", "start_import"]


async def start_import(
    temporal: Client,
    spec: ImportSpec,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflow_id: str | None = None,
) -> WorkflowHandle[ImportWorkflow, ImportReport]:
    """Start an import; ``await handle.result()`` gives its :class:`ImportReport`.

    The workflow id (``procore-import-<uuid>`` unless given) is also the base of
    every batch's ``Idempotency-Token``; starting the same id twice is refused by
    Temporal while the first run is open.
    """
    return await temporal.start_workflow(
        ImportWorkflow.run,
        spec,
        id=workflow_id or f"procore-import-{uuid.uuid4()}",
        task_queue=task_queue,
    )


async def start_export(
    temporal: Client,
    spec: ExportSpec,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflow_id: str | None = None,
) -> WorkflowHandle[ExportWorkflow, ExportReport]:
    """Start an export; ``await handle.result()`` gives its :class:`ExportReport`."""
    return await temporal.start_workflow(
        ExportWorkflow.run,
        spec,
        id=workflow_id or f"procore-export-{uuid.uuid4()}",
        task_queue=task_queue,
    )


@dataclass(frozen=True)
class Progress:
    """Rows (import) or items (export) done so far, of ``total`` (None until planned)."""

    done: int
    total: int | None
    shards: int
    finished: int
    running: int


async def progress(temporal: Client, handle: WorkflowHandle[Any, Any]) -> Progress:
    """Where a running import or export stands, finished shards and running ones alike."""
    state: dict[str, Any] = await handle.query("progress")
    done = int(state["done"])
    running = 0
    description = await handle.describe()
    for pending in description.raw_description.pending_activities:
        name = pending.activity_type.name
        if name not in ("procore_import_shard", "procore_export_part"):
            continue
        running += 1
        if not pending.heartbeat_details.payloads:
            continue
        values = await temporal.data_converter.decode(pending.heartbeat_details.payloads)
        beat = values[0] if values else None
        if not isinstance(beat, dict):
            continue
        if name == "procore_import_shard":
            done += int(beat["offset"]) - int(beat["report"]["start"])
        else:
            done += int(beat.get("items", 0))
    total = state["total"]
    return Progress(done, total, int(state["shards"]), int(state["finished"]), running)
