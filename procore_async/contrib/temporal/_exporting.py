"""Export: plan the pages of each scope, then write each part's pages to an NDJSON file.

A part writes ``<file>.partial`` and renames it to ``<file>`` when its last page is
in, so a finished file is always whole.  After every page the file is flushed to
disk and the heartbeat records the next page and the file's size; a retried part
truncates the partial file back to that size (dropping a page the dead attempt
half wrote) and continues with that page, so every item is in the files once.

Offset pagination is only as stable as the collection: items created or deleted
while an export runs can shift between pages.  Export a collection at rest, or
narrow it with a ``filters[updated_at]`` query.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from temporalio import activity

from ..._errors import InvalidRequestError
from ._heartbeat import Heartbeat, resumed_details, with_heartbeat
from ._types import ExportPart, ExportPartReport, ExportPlan, ExportScope, ExportSpec

if TYPE_CHECKING:
    from ._activities import FleetClient

__all__ = ["export_part_run", "plan_export_run", "scope_request"]

_PLAN_CONCURRENCY = 8


def scope_request(spec: ExportSpec, scope: ExportScope) -> tuple[str, dict[str, Any]]:
    """The path and query that list ``spec.path`` for one scope."""
    query = dict(spec.query)
    path = spec.path
    if "{project_id}" in path and scope.project_id is None:
        raise InvalidRequestError(f"export path {path!r} needs a project_id in every scope")
    if "{company_id}" not in path and "{project_id}" not in path:
        # Procore's top-level collections (vendors, projects, ...) take the ids as parameters.
        if scope.project_id is not None:
            query.setdefault("project_id", scope.project_id)
        else:
            query.setdefault("company_id", scope.company_id)
    path = path.replace("{company_id}", str(scope.company_id))
    if scope.project_id is not None:
        path = path.replace("{project_id}", str(scope.project_id))
    return path, query


def _check(spec: ExportSpec) -> None:
    for name in ("per_page", "pages_per_part", "max_parallel"):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"ExportSpec.{name} must be a positive integer, not {value!r}")
    if not spec.scopes:
        raise ValueError("ExportSpec.scopes is empty: name at least one company or project")


def _items(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and isinstance(body.get("data"), list):
        return list(body["data"])  # v2 envelopes
    raise InvalidRequestError("the export path does not answer with a list of items")


async def plan_export_run(client: FleetClient, spec: ExportSpec) -> ExportPlan:
    _check(spec)
    totals: dict[int, int | None] = {}
    limiter = anyio.CapacityLimiter(_PLAN_CONCURRENCY)

    async def measure(position: int, scope: ExportScope) -> None:
        path, query = scope_request(spec, scope)
        async with limiter:
            response = await client.get(
                path,
                version=spec.version,
                query={**query, "page": 1, "per_page": spec.per_page},
                company_id=scope.company_id,
            )
        totals[position] = response.total
        activity.heartbeat({"planned": len(totals)})

    async with anyio.create_task_group() as tg:
        for position, scope in enumerate(spec.scopes):
            tg.start_soon(measure, position, scope)
    parts: list[ExportPart] = []
    known = 0
    for position, scope in enumerate(spec.scopes):
        total = totals[position]
        if total is None:  # no Total header: one part walks the links to the end
            ranges: list[tuple[int, int | None]] = [(1, None)]
        else:
            known += total
            pages = max(1, -(-total // spec.per_page))
            ranges = [
                (first, min(first + spec.pages_per_part - 1, pages))
                for first in range(1, pages + 1, spec.pages_per_part)
            ]
        for first, last in ranges:
            name = f"{scope.label}-p{first:06d}.ndjson"
            parts.append(ExportPart(len(parts), scope, first, last, str(Path(spec.out_dir) / name)))
    unknown = any(total is None for total in totals.values())
    return ExportPlan(None if unknown else known, parts)


def _open_partial(path: Path, size: int) -> Any:
    """The partial file opened for appending at ``size`` bytes (created private, 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)  # also when a dead attempt (or anyone) left the file behind
    handle = os.fdopen(fd, "r+b")
    handle.truncate(size)
    handle.seek(size)
    return handle


def _append(handle: Any, items: list[Any]) -> int:
    data = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    handle.write(data.encode("utf-8"))
    handle.flush()
    os.fsync(handle.fileno())
    return int(handle.tell())


def _finished(partial: Path, final: Path) -> bool:
    return final.exists() and not partial.exists()


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


async def export_part_run(
    client: FleetClient, spec: ExportSpec, part: ExportPart
) -> ExportPartReport:
    info = activity.info()
    final = Path(part.file)
    partial = final.with_name(final.name + ".partial")
    saved = resumed_details()
    report = ExportPartReport(part.index, part.file, attempts=info.attempt)
    if saved is not None and await anyio.to_thread.run_sync(_finished, partial, final):
        # The dead attempt renamed the file but did not report: it is complete.
        report.items = await anyio.to_thread.run_sync(_count_lines, final)
        report.pages = int(saved["pages"])
        report.resumed_at_page = int(saved["page"])
        return report
    page = int(saved["page"]) if saved else part.first_page
    size = int(saved["bytes"]) if saved else 0
    report.items = int(saved["items"]) if saved else 0
    report.pages = int(saved["pages"]) if saved else 0
    report.resumed_at_page = page
    path, query = scope_request(spec, part.scope)
    heartbeat = Heartbeat(
        {"page": page, "bytes": size, "items": report.items, "pages": report.pages}
    )

    async def run() -> ExportPartReport:
        nonlocal page, size
        handle = await anyio.to_thread.run_sync(_open_partial, partial, size)
        try:
            while part.last_page is None or page <= part.last_page:
                response = await client.get(
                    path,
                    version=spec.version,
                    query={**query, "page": page, "per_page": spec.per_page},
                    company_id=part.scope.company_id,
                )
                items = _items(response.body)
                if items:
                    size = await anyio.to_thread.run_sync(_append, handle, items)
                    report.items += len(items)
                    report.pages += 1
                page += 1
                heartbeat.beat(
                    {"page": page, "bytes": size, "items": report.items, "pages": report.pages}
                )
                if len(items) < spec.per_page or (
                    part.last_page is None and not response.pagination.get("next")
                ):
                    break
        finally:
            await anyio.to_thread.run_sync(handle.close)
        await anyio.to_thread.run_sync(os.replace, partial, final)
        return report

    return await with_heartbeat(heartbeat, run)
