"""The two workflows: fan shards (or export parts) out to activities, merge their reports.

Workflow code is replayed from history, so it must be deterministic: it imports no
part of the library that does I/O (only the plain dataclasses, passed through the
sandbox), schedules activities by name, and bounds its fan-out with an
``asyncio.Semaphore`` (deterministic on Temporal's event loop).  What goes into the
history is the plan (shard bounds) and one capped report per shard: never rows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ._types import (
        ExportPart,
        ExportPartReport,
        ExportPlan,
        ExportReport,
        ExportSpec,
        ImportPlan,
        ImportReport,
        ImportSpec,
        Problem,
        Shard,
        ShardReport,
        shard_report_from_dict,
    )

__all__ = ["ExportWorkflow", "ImportWorkflow", "retry_policy"]

#: Kept in step with ``_errors.NON_RETRYABLE_TYPES`` (the sandbox imports no library code).
_NON_RETRYABLE = [
    "ForbiddenError",
    "InvalidRequestError",
    "MissingTokenError",
    "NotFoundError",
    "UnkeyedImportError",
]
_PLAN_TIMEOUT = timedelta(hours=1)


def retry_policy(max_attempts: int) -> RetryPolicy:
    """Backoff from 1 s to 60 s; a 429's ``next_retry_delay`` overrides it per retry."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=max_attempts,
        non_retryable_error_types=_NON_RETRYABLE,
    )


def _cause(error: ActivityError) -> tuple[str, tuple[Any, ...]]:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        reason = f"{cause.type}: {cause.message}" if cause.type else cause.message
        return reason, tuple(cause.details)
    return str(cause or error), ()


def _first(problems: list[Problem], cap: int) -> list[Problem]:
    return sorted(problems, key=lambda p: p.row)[:cap]


@workflow.defn(name="ProcoreImport")
class ImportWorkflow:
    """Sync a large input in shards across the fleet; returns an :class:`ImportReport`."""

    def __init__(self) -> None:
        self._total: int | None = None
        self._done = 0
        self._shards = 0
        self._finished = 0

    @workflow.query
    def progress(self) -> dict[str, Any]:
        """Rows of finished shards so far (a CLI adds the running shards' heartbeats)."""
        return {
            "total": self._total,
            "done": self._done,
            "shards": self._shards,
            "finished": self._finished,
        }

    @workflow.run
    async def run(self, spec: ImportSpec) -> ImportReport:
        policy = retry_policy(spec.max_attempts)
        plan = await workflow.execute_activity(
            "procore_plan_import",
            spec,
            result_type=ImportPlan,
            start_to_close_timeout=_PLAN_TIMEOUT,
            retry_policy=policy,
        )
        self._total, self._shards = plan.total, len(plan.shards)
        gate = asyncio.Semaphore(max(1, spec.max_parallel))
        reports = await asyncio.gather(*(self._shard(spec, s, gate, policy) for s in plan.shards))
        merged = ImportReport(total=plan.total, shards=len(plan.shards))
        for report in reports:
            merged.created += report.created
            merged.updated += report.updated
            merged.rejected += report.rejected
            merged.failed += report.failed
            merged.rejections.extend(report.rejections)
            merged.failures.extend(report.failures)
            merged.resumed_shards += report.resumed_at > report.start
            merged.retried_shards += report.attempts > 1
        merged.rejections = _first(merged.rejections, spec.max_problems)
        merged.failures = _first(merged.failures, spec.max_problems)
        return merged

    async def _shard(
        self, spec: ImportSpec, shard: Shard, gate: asyncio.Semaphore, policy: RetryPolicy
    ) -> ShardReport:
        async with gate:
            try:
                report: ShardReport = await workflow.execute_activity(
                    "procore_import_shard",
                    args=[spec, shard],
                    result_type=ShardReport,
                    start_to_close_timeout=timedelta(seconds=spec.shard_timeout),
                    heartbeat_timeout=timedelta(seconds=spec.heartbeat_timeout),
                    retry_policy=policy,
                )
            except ActivityError as error:
                report = self._failed_shard(spec, shard, error)
        self._done += report.rows
        self._finished += 1
        return report

    @staticmethod
    def _failed_shard(spec: ImportSpec, shard: Shard, error: ActivityError) -> ShardReport:
        """The shard gave up: what it confirmed (if it said), the rest counted as failed."""
        reason, details = _cause(error)
        report = ShardReport(shard.index, shard.start, shard.stop, resumed_at=shard.start)
        if details and isinstance(details[0], dict):
            report = shard_report_from_dict(details[0])
        first = shard.start + report.rows
        for number in range(first + 1, min(shard.stop, first + spec.max_problems) + 1):
            if len(report.failures) < spec.max_problems:
                report.failures.append(Problem(number, None, reason))
        report.failed += shard.stop - first
        report.rows = shard.stop - shard.start
        return report


@workflow.defn(name="ProcoreExport")
class ExportWorkflow:
    """Walk one collection per scope into NDJSON files; returns an :class:`ExportReport`."""

    def __init__(self) -> None:
        self._expected: int | None = None
        self._items = 0
        self._parts = 0
        self._finished = 0

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {
            "total": self._expected,
            "done": self._items,
            "shards": self._parts,
            "finished": self._finished,
        }

    @workflow.run
    async def run(self, spec: ExportSpec) -> ExportReport:
        policy = retry_policy(spec.max_attempts)
        plan = await workflow.execute_activity(
            "procore_plan_export",
            spec,
            result_type=ExportPlan,
            start_to_close_timeout=_PLAN_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=spec.heartbeat_timeout),
            retry_policy=policy,
        )
        self._expected, self._parts = plan.total, len(plan.parts)
        gate = asyncio.Semaphore(max(1, spec.max_parallel))
        reports = await asyncio.gather(*(self._part(spec, p, gate, policy) for p in plan.parts))
        merged = ExportReport(expected=plan.total, parts=len(plan.parts))
        for part, report in zip(plan.parts, reports, strict=True):
            merged.items += report.items
            merged.files.append(report.file)
            merged.resumed_parts += report.resumed_at_page > part.first_page
            label = part.scope.label
            merged.by_scope[label] = merged.by_scope.get(label, 0) + report.items
        return merged

    async def _part(
        self, spec: ExportSpec, part: ExportPart, gate: asyncio.Semaphore, policy: RetryPolicy
    ) -> ExportPartReport:
        async with gate:
            report: ExportPartReport = await workflow.execute_activity(
                "procore_export_part",
                args=[spec, part],
                result_type=ExportPartReport,
                start_to_close_timeout=timedelta(seconds=spec.part_timeout),
                heartbeat_timeout=timedelta(seconds=spec.heartbeat_timeout),
                retry_policy=policy,
            )
        self._items += report.items
        self._finished += 1
        return report
