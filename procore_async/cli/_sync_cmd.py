"""``procore-async sync``: upsert the rows of a JSONL or CSV file through a ``…/sync`` endpoint.

Procore answers a sync with 200 even when rows are refused, listing each refused row
(its attributes plus an ``errors`` hash) in ``errors``.  Those rows are the ones an
operator has to fix, so they are written to a report (``--rejected``), each with its
row number in the input file, the server's reasons and the row itself, ready to be
corrected and fed back in.

The rows of a batch that failed after its retries are in the report too, each marked
with what is known of its fate.  Procore ignores ``Idempotency-Token`` on sync, so a
batch with a row lacking ``id``/``origin_id`` is not resent after a failure that may
have been applied (an ``OutcomeUnknownError``): its rows are ``"outcome": "unknown"``,
and its unkeyed rows ``"safe_to_resend": false``, since sending them again as is may
create them twice.  Rows certainly not applied (refused before sending, a 429, a 503
asking for a wait, a 4xx), and keyed rows, whose resend updates the same records, are
``safe_to_resend``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import anyio
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from .._batch import BatchFailure, SyncResult, is_keyed
from .._errors import Error, OutcomeUnknownError, may_have_applied
from .._ratelimit import RatePacer
from ._console import logging_to, stderr_console
from ._inputs import UsageError, read_updates
from ._pacing import PacingMeter
from ._settings import add_api_version_option, load_settings

__all__ = ["failure_outcome", "register", "rejected_rows"]

_EPILOG = """\
examples:
  procore-async sync vendors/sync --company-id 8089 --file vendors.csv --rejected bad.jsonl
  procore-async sync projects/sync --company-id 8089 --param company_id=8089 --file p.jsonl
  procore-async sync budget_line_items/sync --method POST --param project_id=12 --file b.csv

Input: .jsonl/.ndjson (one object per line; '-' reads stdin), .json (a list), or .csv
(a header row; empty cells are left out).  Rows are matched by "id", else "origin_id",
else created.  The rejected-row report has one JSON object per line: a row Procore
refused (fix it, then send it again),
  {"row": 7, "errors": {"name": ["can't be blank"]}, "record": {...the row...}}
or a row of a batch that failed after its retries:
  {"row": 9, "error": "...", "outcome": "unknown", "safe_to_resend": false, "record": {...}}
"outcome" is "not applied" (certainly not: safe to send again) or "unknown" (it may
have been applied).  An unknown row without "id" or "origin_id" is not safe to resend
as is ("safe_to_resend": false): it may be created twice.  Check whether it exists
first, or give every row an "origin_id" (your own key), which makes any rerun an update.

Exit status: 0 when every row was accepted; 1 when any row was rejected or a batch
failed after its retries; 2 on a usage error.
"""


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    parser = commands.add_parser(
        "sync",
        parents=[common],
        help="upsert the rows of a JSONL or CSV file in concurrent batches",
        description="Send every row of --file to a Procore sync endpoint in concurrent "
        "batches, with a progress bar on stderr and a report of the rows Procore rejected "
        "or that failed.  Procore ignores Idempotency-Token on sync: a batch whose every "
        "row has id or origin_id is an upsert and is retried; a batch with an unkeyed row "
        "is not resent after a failure that may have been applied, and its rows are "
        "reported with an unknown outcome.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("path", help="the sync endpoint, e.g. vendors/sync")
    parser.add_argument(
        "--file", required=True, metavar="FILE", help="rows to send: .jsonl, .json or .csv"
    )
    add_api_version_option(parser, "API version (v1.0)")
    parser.add_argument("--batch-size", type=int, metavar="N", help="rows per call, 1..1000 (500)")
    parser.add_argument("--concurrency", type=int, metavar="N", help="batches in flight (8)")
    parser.add_argument(
        "--method", choices=("PATCH", "POST"), default="PATCH", type=str.upper, help="(PATCH)"
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a top-level body key sent with every batch, e.g. company_id=8089 (repeatable)",
    )
    parser.add_argument(
        "--rejected", metavar="FILE", help="write rejected and failed rows here (JSONL)"
    )
    parser.set_defaults(handler=run)


def _params(values: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for value in values or ():
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise UsageError(f"--param expects KEY=VALUE, not {value!r}")
        if key == "updates":
            raise UsageError("--param updates=... would replace the rows of --file")
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text
    return params


def run(args: argparse.Namespace) -> int:
    for name in ("batch_size", "concurrency"):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= (1000 if name == "batch_size" else 10**4):
            raise UsageError(f"--{name.replace('_', '-')} is out of range: {value}")
    settings = load_settings(args, os.environ)
    params = _params(args.param)
    rows = read_updates(args.file)
    if not rows:
        raise UsageError(f"{args.file} holds no rows")
    batch_size = args.batch_size or settings.config.default_batch_size
    console = stderr_console()
    # The pacer is measured, so a pause for the rate window shows instead of a frozen bar.
    meter = PacingMeter(RatePacer(settings.config.rate_limit_reserve))
    progress = Progress(
        TextColumn("[bold]sync[/] {task.description}"),
        BarColumn(bar_width=30),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        _PauseColumn(meter),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = progress.add_task(args.path, total=len(rows))

    async def send() -> SyncResult:
        async with settings.client(rate_limiter=meter) as client:
            return await client.sync(
                args.path,
                body={**params, "updates": rows},
                company_id=settings.company_id,
                batch_size=batch_size,
                concurrency=args.concurrency,
                method=args.method,
                raise_on_error=False,
                on_progress=lambda done, _total: progress.update(task, completed=done),
            )

    with ExitStack() as stack:
        # Opened before the first request: an unwritable report path fails fast.
        out = stack.enter_context(_open_report(args.rejected)) if args.rejected else None
        with logging_to(console, args.verbose), progress:
            result = anyio.run(send)
        report = rejected_rows(rows, result, batch_size)
        if out is not None:
            out.writelines(json.dumps(entry, ensure_ascii=False) + "\n" for entry in report)
    _print_summary(console, args, rows, result, report)
    if meter.held:
        console.print(
            f"  {meter.held:,} request{'s' if meter.held != 1 else ''} held for the rate limit "
            f"({meter.paused:.1f} s paused)",
            highlight=False,
        )
    return 1 if report else 0


class _PauseColumn(ProgressColumn):
    """Live status next to the bar: empty, or how long the rate-limit pause has left."""

    def __init__(self, meter: PacingMeter) -> None:
        super().__init__()
        self._meter = meter

    def render(self, task: Task) -> Text:
        return Text(self._meter.pause_text(), style="yellow")


def _open_report(path: str) -> TextIO:
    try:
        return Path(path).open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--rejected: cannot write {path!r} ({exc.strerror or exc})") from None


def _key(row: Any) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def rejected_rows(
    rows: Sequence[dict[str, Any]], result: SyncResult, batch_size: int
) -> list[dict[str, Any]]:
    """One entry per row that did not make it, in input order, with its 1-based row number.

    Procore echoes a refused row's attributes next to its ``errors``, so the row is
    found again by those attributes (the first unclaimed identical row wins); a row
    from a batch that failed outright is found by its batch index.
    """
    positions: dict[str, list[int]] = defaultdict(list)
    for number, row in enumerate(rows, 1):
        positions[_key(row)].append(number)
    report: list[dict[str, Any]] = []
    for item in result.errors:
        echoed = (
            {k: v for k, v in item.items() if k != "errors"} if isinstance(item, dict) else item
        )
        numbers = positions.get(_key(echoed))
        entry: dict[str, Any] = {"row": numbers.pop(0) if numbers else None}
        entry["errors"] = item.get("errors") if isinstance(item, dict) else None
        entry["record"] = rows[entry["row"] - 1] if entry["row"] else echoed
        report.append(entry)
    for failure in result.failures:
        reason = f"{type(failure.error).__name__}: {failure.error}"
        outcome = failure_outcome(failure)
        for offset, row in enumerate(failure.updates):
            number = failure.index * batch_size + offset + 1
            report.append(
                {
                    "row": number,
                    "error": reason,
                    "outcome": outcome,
                    # A keyed row sent again is the same upsert; an unkeyed one, a new record.
                    "safe_to_resend": outcome == "not applied" or is_keyed(row),
                    "record": row,
                }
            )
    report.sort(key=lambda entry: entry["row"] or 0)
    return report


def failure_outcome(failure: BatchFailure) -> str:
    """What is known of a failed batch: ``"not applied"`` or ``"unknown"``.

    ``OutcomeUnknownError`` is the client saying an unkeyed batch may have been
    applied.  An error that proves nothing was applied (``may_have_applied`` is
    False) is "not applied".  Anything else (a keyed batch that lost its reply, an
    exception that is not the client's) is unknown too: nothing proves otherwise.
    """
    error = failure.error
    if isinstance(error, OutcomeUnknownError):
        return "unknown"
    if isinstance(error, Error) and not may_have_applied(error):
        return "not applied"
    return "unknown"


def _print_summary(
    console: Any,
    args: argparse.Namespace,
    rows: Sequence[dict[str, Any]],
    result: SyncResult,
    report: list[dict[str, Any]],
) -> None:
    failed = sum(len(f.updates) for f in result.failures)
    rejected = len(result.errors)
    line = (
        f"{'✓' if not report else '✗'} {args.path}: {len(rows):,} rows, "
        f"{len(result.entities):,} accepted, {rejected:,} rejected"
    )
    if result.failures:
        unsafe = sum(1 for entry in report if entry.get("safe_to_resend") is False)
        batches = len(result.failures)
        line += (
            f", {failed:,} in {batches} failed batch{'es' if batches != 1 else ''} "
            f"({failed - unsafe:,} safe to resend; "
            f"{unsafe:,} unkeyed of unknown outcome: check before resending)"
        )
    if args.rejected and report:
        line += f"; details in {args.rejected}"
    console.print(line, highlight=False, soft_wrap=True)
    for entry in report[:3]:
        reason = entry.get("error") or "; ".join(
            f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
            for field, msgs in (entry.get("errors") or {}).items()
        )
        if "outcome" in entry:
            reason = f"[{'safe to resend' if entry['safe_to_resend'] else 'check first'}] {reason}"
        console.print(
            f"  row {entry['row']}: {reason}", highlight=False, soft_wrap=True, markup=False
        )
    if len(report) > 3:
        console.print(f"  ... and {len(report) - 3:,} more", highlight=False)
