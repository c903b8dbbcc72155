"""``sync``: bulk upserts in concurrent batches, merged in input order, nothing lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._response import Response

__all__ = ["BatchFailure", "SyncResult"]


@dataclass(slots=True)
class BatchFailure:
    """One batch that still failed after its retries: which, what it carried, why."""

    index: int
    updates: list[Any]
    error: Exception


@dataclass(slots=True)
class SyncResult:
    """Everything one ``sync`` call achieved.

    ``body`` is the merged ``{"entities": [...], "errors": [...], ...}`` of every
    successful batch in input order; ``responses`` has one :class:`Response` per
    successful batch (in batch order); ``failures`` lists each failed batch with
    its updates and its error (empty when all succeeded).
    """

    body: dict[str, Any] = field(default_factory=dict)
    responses: list[Response] = field(default_factory=list)
    failures: list[BatchFailure] = field(default_factory=list)
    status_code: int = 200

    @property
    def entities(self) -> list[Any]:
        value = self.body.get("entities", [])
        return value if isinstance(value, list) else []

    @property
    def errors(self) -> list[Any]:
        value = self.body.get("errors", [])
        return value if isinstance(value, list) else []

    @property
    def ok(self) -> bool:
        """True when every batch succeeded (items may still be in ``errors``)."""
        return not self.failures

    @property
    def code(self) -> int:
        return self.status_code
