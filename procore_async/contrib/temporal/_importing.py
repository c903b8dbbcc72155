"""One import shard: sync its rows window by window, confirming each with a heartbeat.

A window is ``concurrency`` batches of ``batch_size`` rows sent by one
``client.sync`` call (so the batches run concurrently, as sync runs them).  Only a
whole window is confirmed: the heartbeat then names the next row and carries the
shard's report so far, so an attempt that dies mid-window is resumed by the next
attempt at that window's first row, and the report counts every row once.

How a failed batch is treated follows Temporal's model (see ``_errors``):
a retryable failure (429, 5xx, connection) fails the attempt, unconfirmed, and
Temporal retries it (after the 429's wait); a batch Procore refused as invalid is
counted as failed with the reason and the shard goes on; an error that every
other batch would meet too (403, 404, no token) fails the shard for good, with the
report so far in the error's details so the workflow still accounts for each row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from temporalio import activity

from ..._errors import Error, ForbiddenError, MissingTokenError, NotFoundError, OAuthError
from ._errors import application_error, is_retryable
from ._heartbeat import Heartbeat, resumed_details, take, with_heartbeat
from ._sources import RowSource, require_keyed, row_key
from ._types import ImportSpec, Problem, Shard, ShardReport, shard_report_from_dict

if TYPE_CHECKING:
    from ._activities import FleetClient

__all__ = ["import_shard_run", "tally_window"]

# Errors no other batch of the shard could escape: stop instead of failing each batch.
_FATAL = (ForbiddenError, MissingTokenError, NotFoundError, OAuthError)


def _reason(errors: Any) -> str:
    if isinstance(errors, Mapping):
        return "; ".join(
            f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in errors.items()
        )
    return str(errors)


def _note(problems: list[Problem], cap: int, problem: Problem) -> None:
    if len(problems) < cap:
        problems.append(problem)


def tally_window(
    report: ShardReport,
    rows: list[Mapping[str, Any]],
    offset: int,
    result: Any,
    *,
    batch_size: int,
    cap: int,
) -> None:
    """Add one window's outcome to ``report``; raise when the window must be redone.

    ``offset`` is the 0-based input row of ``rows[0]``.  Raises the Temporal error
    for the first retryable failure (the window is not confirmed, and the next
    attempt sends it again) or for a fatal one; counts refused batches as failed.
    """
    failures = list(result.failures)
    retryable = [f.error for f in failures if is_retryable(f.error)]
    if retryable:
        # The longest server-requested wait covers the others.
        raise application_error(max(retryable, key=lambda e: getattr(e, "retry_after", 0) or 0))
    fatal = next((f.error for f in failures if isinstance(f.error, _FATAL)), None)
    if fatal is not None:
        raise fatal
    failed_rows = 0
    for failure in failures:
        reason = f"{type(failure.error).__name__}: {failure.error}"
        first = offset + failure.index * batch_size
        for position, row in enumerate(failure.updates):
            _note(report.failures, cap, Problem(first + position + 1, row_key(row), reason))
        failed_rows += len(failure.updates)
    numbers = {row_key(row): offset + i + 1 for i, row in enumerate(rows)}
    errors = result.errors
    for item in errors:
        key = row_key(item) if isinstance(item, Mapping) else None
        reason = _reason(item.get("errors") if isinstance(item, Mapping) else item)
        _note(report.rejections, cap, Problem(numbers.get(key, 0), key, reason))
    accepted = len(rows) - failed_rows - len(errors)
    created = sum(
        1
        for entity in result.entities
        if isinstance(entity, Mapping)
        and entity.get("created_at") is not None
        and entity.get("created_at") == entity.get("updated_at")
    )
    created = min(created, accepted)
    report.rows += len(rows)
    report.created += created
    report.updated += accepted - created
    report.rejected += len(errors)
    report.failed += failed_rows


async def import_shard_run(
    client: FleetClient, source: RowSource, spec: ImportSpec, shard: Shard
) -> ShardReport:
    info = activity.info()
    saved = resumed_details()
    if saved is not None:
        report = shard_report_from_dict(saved["report"])
        offset = int(saved["offset"])
    else:
        report = ShardReport(shard.index, shard.start, shard.stop)
        offset = shard.start
    report.resumed_at = offset
    report.attempts = info.attempt
    heartbeat = Heartbeat({"offset": offset, "report": dataclasses.asdict(report)})
    window = spec.batch_size * spec.concurrency
    body = dict(spec.body)
    method: Literal["PATCH", "POST"] = "POST" if spec.method.upper() == "POST" else "PATCH"

    async def send(rows: AsyncIterator[Mapping[str, Any]]) -> None:
        nonlocal offset
        while offset < shard.stop:
            chunk = await take(rows, min(window, shard.stop - offset))
            if not chunk:
                break
            for position, row in enumerate(chunk):
                require_keyed(row, offset + position + 1)
            result = await client.sync(
                spec.path,
                body={**body, "updates": chunk},
                version=spec.version,
                company_id=spec.company_id,
                idempotency_token=f"{info.workflow_id}-{shard.index}-{offset}",
                batch_size=spec.batch_size,
                concurrency=spec.concurrency,
                method=method,
                raise_on_error=False,
            )
            try:
                tally_window(
                    report, chunk, offset, result, batch_size=spec.batch_size,
                    cap=spec.max_problems,
                )  # fmt: skip
            except Error as exc:
                # Fatal for the shard: hand the workflow what was confirmed so far.
                raise application_error(exc, dataclasses.asdict(report)) from exc
            offset += len(chunk)
            heartbeat.beat({"offset": offset, "report": dataclasses.asdict(report)})

    async def run() -> ShardReport:
        rows = source.rows(spec.location, spec.params, offset, shard.stop)
        try:
            await send(rows)
        finally:
            # Closed here, not when the generator is collected (maybe after its loop is gone).
            close = getattr(rows, "aclose", None)
            if close is not None:
                await close()
        missing = shard.stop - offset
        if missing > 0:
            reason = "the source ended before the shard's last row"
            for number in range(offset + 1, min(shard.stop, offset + spec.max_problems) + 1):
                _note(report.failures, spec.max_problems, Problem(number, None, reason))
            report.rows += missing
            report.failed += missing
        return report

    return await with_heartbeat(heartbeat, run)
