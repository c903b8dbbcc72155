"""The fleet's activities: plan an import, sync one shard, plan an export, write one part.

Each runs on whichever worker picks it up, with that worker's client (its token
store and rate limiter are what the fleet shares).  Progress is heartbeated after
every confirmed window of batches (import) or written page (export), and a retried
attempt starts from the last heartbeat: Temporal hands the details of the killed
attempt to the next one.  Work done after the last heartbeat is done again, which
is why import rows must be keyed (a resent upsert updates, it does not duplicate)
and why an export truncates its file back to the last heartbeated size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

from temporalio import activity

from ..._config import Config
from ..._errors import InvalidRequestError
from ._errors import translated_errors
from ._exporting import export_part_run, plan_export_run
from ._importing import import_shard_run
from ._sources import FileSource, RowSource
from ._types import (
    ExportPart,
    ExportPartReport,
    ExportPlan,
    ExportSpec,
    ImportPlan,
    ImportSpec,
    Shard,
    ShardReport,
)

__all__ = ["ACTIVITY_NAMES", "MAX_SHARDS", "FleetActivities", "FleetClient", "check_import_spec"]

#: Shards per import: about six history events each, under Temporal's 51,200-event cap.
MAX_SHARDS = 8000

#: The names the workflows schedule activities by (workflow code imports no library).
ACTIVITY_NAMES = {
    "plan_import": "procore_plan_import",
    "import_shard": "procore_import_shard",
    "plan_export": "procore_plan_export",
    "export_part": "procore_export_part",
}


class FleetClient(Protocol):
    """What the activities need of a client: :class:`~procore_async.AsyncClient` fits."""

    config: Config

    async def get(
        self,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
    ) -> Any: ...

    async def sync(
        self,
        path: str,
        *,
        body: Mapping[str, Any],
        version: str | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        method: Literal["PATCH", "POST"] = "PATCH",
        raise_on_error: bool = True,
    ) -> Any: ...


class FleetActivities:
    """The activities one worker runs, bound to that worker's client.

    ``sources`` maps a name to a :class:`RowSource` for imports whose rows are not in
    a file (``ImportSpec(source="crm", ...)``); ``"file"`` is always available.
    Register them with ``Worker(..., activities=FleetActivities(client).all())``, or
    let :func:`create_worker` do it.
    """

    def __init__(
        self, client: FleetClient, *, sources: Mapping[str, RowSource] | None = None
    ) -> None:
        self.client = client
        self.sources: dict[str, RowSource] = {"file": FileSource(), **(sources or {})}

    def source(self, name: str) -> RowSource:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources))
            raise InvalidRequestError(
                f"no row source {name!r} on this worker (it has: {known})"
            ) from None

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, to pass to a Temporal ``Worker``."""
        return [self.plan_import, self.import_shard, self.plan_export, self.export_part]

    @activity.defn(name=ACTIVITY_NAMES["plan_import"])
    async def plan_import(self, spec: ImportSpec) -> ImportPlan:
        """Count the input (refusing unkeyed rows before any is sent) and cut it in shards."""
        with translated_errors():
            check_import_spec(spec)
            total = await self.source(spec.source).count(spec.location, spec.params)
            count = -(-total // spec.shard_size)
            if count > MAX_SHARDS:
                raise ValueError(
                    f"{total:,} rows in shards of {spec.shard_size:,} make {count:,} shards, more "
                    f"than one workflow history holds ({MAX_SHARDS:,}): raise shard_size to at "
                    f"least {-(-total // MAX_SHARDS):,}, or split the input"
                )
            shards = [
                Shard(index, start, min(start + spec.shard_size, total))
                for index, start in enumerate(range(0, total, spec.shard_size))
            ]
            return ImportPlan(total, shards)

    @activity.defn(name=ACTIVITY_NAMES["import_shard"])
    async def import_shard(self, spec: ImportSpec, shard: Shard) -> ShardReport:
        """Sync one shard's rows, heartbeating after every confirmed window."""
        with translated_errors():
            rows = self.source(spec.source)
            return await import_shard_run(self.client, rows, spec, shard)

    @activity.defn(name=ACTIVITY_NAMES["plan_export"])
    async def plan_export(self, spec: ExportSpec) -> ExportPlan:
        """Read each scope's ``Total`` and cut its pages into parts."""
        with translated_errors():
            return await plan_export_run(self.client, spec)

    @activity.defn(name=ACTIVITY_NAMES["export_part"])
    async def export_part(self, spec: ExportSpec, part: ExportPart) -> ExportPartReport:
        """Write one part's pages to its NDJSON file, heartbeating after every page."""
        with translated_errors():
            return await export_part_run(self.client, spec, part)


def check_import_spec(spec: ImportSpec) -> None:
    """Bad numbers are the caller's mistake: refuse them before reading the input."""
    for name, high in (("shard_size", None), ("batch_size", 1000), ("concurrency", 1000)):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"ImportSpec.{name} must be a positive integer, not {value!r}")
        if high is not None and value > high:
            raise ValueError(f"ImportSpec.{name} must be at most {high}, not {value}")
    if spec.method.upper() not in ("PATCH", "POST"):
        raise ValueError(f"ImportSpec.method must be PATCH or POST, not {spec.method!r}")
