"""Bulk imports and exports as durable Temporal workflows (extra ``temporal``).

A fleet of worker processes (``procore-async fleet worker``, or
:func:`create_worker` in your own process) runs two workflows:

* :class:`ImportWorkflow`: ``sync`` a large input in shards, one activity per
  shard, each heartbeating its last confirmed window so a retried shard resumes
  there; bounded fan-out; a merged :class:`ImportReport`.
* :class:`ExportWorkflow`: one collection, for one or many companies or projects,
  into NDJSON files, one activity per page range; resumable the same way.

Workers share one token (``RedisStore``) and one rate budget
(``RedisRateLimiter``); Temporal's task-queue rate cap is the coarse ceiling.
Errors map onto Temporal's retry model (see :func:`application_error`).
Read docs/fleet.md for sizing and failure modes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_names, require_extra

require_extra("temporalio", "temporal", "procore_async.contrib.temporal")

if TYPE_CHECKING:
    from ._activities import ACTIVITY_NAMES, FleetActivities, FleetClient
    from ._devserver import DevServer, dev_server, temporal_binary
    from ._errors import NON_RETRYABLE_TYPES, UnkeyedImportError, application_error, is_retryable
    from ._sources import FileSource, RowSource, is_keyed
    from ._start import Progress, progress, start_export, start_import
    from ._types import (
        DEFAULT_TASK_QUEUE,
        ExportPart,
        ExportPartReport,
        ExportPlan,
        ExportReport,
        ExportScope,
        ExportSpec,
        ImportPlan,
        ImportReport,
        ImportSpec,
        Problem,
        Shard,
        ShardReport,
    )
    from ._worker import create_worker
    from ._workflows import ExportWorkflow, ImportWorkflow, retry_policy

__all__ = [
    "ACTIVITY_NAMES",
    "DEFAULT_TASK_QUEUE",
    "NON_RETRYABLE_TYPES",
    "DevServer",
    "ExportPart",
    "ExportPartReport",
    "ExportPlan",
    "ExportReport",
    "ExportScope",
    "ExportSpec",
    "ExportWorkflow",
    "FileSource",
    "FleetActivities",
    "FleetClient",
    "ImportPlan",
    "ImportReport",
    "ImportSpec",
    "ImportWorkflow",
    "Problem",
    "Progress",
    "RowSource",
    "Shard",
    "ShardReport",
    "UnkeyedImportError",
    "application_error",
    "create_worker",
    "dev_server",
    "is_keyed",
    "is_retryable",
    "progress",
    "retry_policy",
    "start_export",
    "start_import",
    "temporal_binary",
]

_HOME: dict[str, str] = {
    "ACTIVITY_NAMES": "._activities",
    "DEFAULT_TASK_QUEUE": "._types",
    "NON_RETRYABLE_TYPES": "._errors",
    "DevServer": "._devserver",
    "ExportPart": "._types",
    "ExportPartReport": "._types",
    "ExportPlan": "._types",
    "ExportReport": "._types",
    "ExportScope": "._types",
    "ExportSpec": "._types",
    "ExportWorkflow": "._workflows",
    "FileSource": "._sources",
    "FleetActivities": "._activities",
    "FleetClient": "._activities",
    "ImportPlan": "._types",
    "ImportReport": "._types",
    "ImportSpec": "._types",
    "ImportWorkflow": "._workflows",
    "Problem": "._types",
    "Progress": "._start",
    "RowSource": "._sources",
    "Shard": "._types",
    "ShardReport": "._types",
    "UnkeyedImportError": "._errors",
    "application_error": "._errors",
    "create_worker": "._worker",
    "dev_server": "._devserver",
    "is_keyed": "._sources",
    "is_retryable": "._errors",
    "progress": "._start",
    "retry_policy": "._workflows",
    "start_export": "._start",
    "start_import": "._start",
    "temporal_binary": "._devserver",
}

__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__)
