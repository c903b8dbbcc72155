"""The data that crosses Temporal's wire: workflow inputs, plans and reports.

Plain dataclasses of JSON-friendly fields only, with no import of the library, so
the workflow sandbox can load this module as is and Temporal's default data
converter can carry every value.  Nothing here holds rows: an import's rows stay
in its source and are read by the activities, so the workflow history holds
shard boundaries and capped reports whatever the size of the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "ExportPart",
    "ExportPartReport",
    "ExportPlan",
    "ExportReport",
    "ExportScope",
    "ExportSpec",
    "ImportPlan",
    "ImportReport",
    "ImportSpec",
    "Problem",
    "Shard",
    "ShardReport",
    "shard_report_from_dict",
]

#: The task queue the workers poll and the workflows run on unless told otherwise.
DEFAULT_TASK_QUEUE = "procore-fleet"


@dataclass
class ImportSpec:
    """What to import and how: the workflow's input.

    ``source`` is ``"file"`` (``location`` is a CSV or JSONL path every worker can
    read) or the name of a row source registered on the workers (``location`` and
    ``params`` are passed to it).  ``body`` holds the top-level keys sent with every
    batch beside ``updates``: Procore's company sync endpoints need
    ``{"company_id": ...}``, project ones ``{"project_id": ...}``.
    ``shard_size`` rows make one activity; inside it ``concurrency`` batches of
    ``batch_size`` rows are in flight, and each completed window of them is
    heartbeated, so a retried shard resumes after the last confirmed window.
    ``max_parallel`` bounds the shards running at once across the fleet.
    ``max_problems`` caps the rejected/failed rows a report keeps reasons for
    (counts are always complete).
    """

    path: str
    location: str
    company_id: int | None = None
    source: str = "file"
    params: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    method: str = "PATCH"
    shard_size: int = 5000
    batch_size: int = 500
    concurrency: int = 4
    max_parallel: int = 8
    max_problems: int = 100
    heartbeat_timeout: float = 30.0
    shard_timeout: float = 6 * 3600.0
    max_attempts: int = 0


@dataclass
class Shard:
    """Rows ``start`` (inclusive) to ``stop`` (exclusive) of the input, 0-based."""

    index: int
    start: int
    stop: int


@dataclass
class ImportPlan:
    total: int
    shards: list[Shard]


@dataclass
class Problem:
    """One row that did not make it: its 1-based row number, its key and why."""

    row: int
    key: str | None
    reason: str


@dataclass
class ShardReport:
    """What one shard achieved; ``rows == created + updated + rejected + failed``.

    ``resumed_at`` is the row the last attempt started from (``start`` unless a
    killed or failed attempt had confirmed rows before it); ``attempts`` is the
    Temporal attempt number that finished the shard.
    """

    index: int
    start: int
    stop: int
    rows: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    failed: int = 0
    rejections: list[Problem] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    resumed_at: int = 0
    attempts: int = 1


@dataclass
class ImportReport:
    """The merged report of every shard: every input row is counted exactly once.

    ``rejections`` and ``failures`` hold at most ``max_problems`` rows each (the
    first ones, by row number); ``rejected`` and ``failed`` count them all.
    """

    total: int
    created: int = 0
    updated: int = 0
    rejected: int = 0
    failed: int = 0
    rejections: list[Problem] = field(default_factory=list)
    failures: list[Problem] = field(default_factory=list)
    shards: int = 0
    resumed_shards: int = 0
    retried_shards: int = 0

    @property
    def accounted(self) -> int:
        """Rows the report accounts for: equals ``total`` for a finished import."""
        return self.created + self.updated + self.rejected + self.failed


@dataclass
class ExportScope:
    """One company, or one project of it, whose copy of the collection is exported."""

    company_id: int
    project_id: int | None = None

    @property
    def label(self) -> str:
        if self.project_id is None:
            return f"company-{self.company_id}"
        return f"company-{self.company_id}-project-{self.project_id}"


@dataclass
class ExportSpec:
    """What to export: ``path`` (``{company_id}``/``{project_id}`` are filled in per
    scope, e.g. ``projects/{project_id}/rfis``; without them the ids go in the query,
    as Procore's top-level collections take them) for each scope, into NDJSON files
    under ``out_dir`` (a directory every worker can write).  ``pages_per_part``
    pages make one activity; each page written is heartbeated, so a retried part
    resumes after its last written page.
    """

    path: str
    out_dir: str
    scopes: list[ExportScope]
    query: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    per_page: int = 100
    pages_per_part: int = 50
    max_parallel: int = 8
    heartbeat_timeout: float = 30.0
    part_timeout: float = 6 * 3600.0
    max_attempts: int = 0


@dataclass
class ExportPart:
    """Pages ``first_page`` to ``last_page`` (None: to the end) of one scope."""

    index: int
    scope: ExportScope
    first_page: int
    last_page: int | None
    file: str


@dataclass
class ExportPlan:
    total: int | None
    parts: list[ExportPart]


@dataclass
class ExportPartReport:
    index: int
    file: str
    items: int = 0
    pages: int = 0
    resumed_at_page: int = 1
    attempts: int = 1


@dataclass
class ExportReport:
    """Every file written and how many items each holds."""

    items: int = 0
    files: list[str] = field(default_factory=list)
    parts: int = 0
    resumed_parts: int = 0
    expected: int | None = None
    by_scope: dict[str, int] = field(default_factory=dict)


def shard_report_from_dict(data: Any) -> ShardReport:
    """A :class:`ShardReport` from its JSON form (heartbeat or error details)."""
    fields = dict(data)
    for name in ("rejections", "failures"):
        fields[name] = [p if isinstance(p, Problem) else Problem(**p) for p in fields.get(name, [])]
    return ShardReport(**fields)
