"""``procore-async demo``: the library's main job, shown in one command, without an account.

This module is the presentation: options, a live progress bar, the summary table.
The work and its verification are in :mod:`._demo_run`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

import anyio
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ..testing import FakeProcore
from ._console import logging_to
from ._demo_run import PER_PAGE, DemoOptions, DemoReport, PacingMeter, run_demo
from ._inputs import UsageError

__all__ = ["register"]

_EPILOG = """\
examples:
  procore-async demo                          20,000 records, 5% faults, 45 requests/10 s
  procore-async demo --records 100000 --concurrency 16
  procore-async demo --fault-rate 0.2 --seed 1   a rough day at the (fake) office
  procore-async demo --fault-rate 0 --spike-limit 0   a calm one

Exit status 0 when every record is on the server exactly once, 1 otherwise.
"""


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="bulk-import records into a local fake Procore, with faults and rate limits",
        description=(
            "Start a fake Procore in this process (with injected faults and a rate limit), "
            "sign in, list companies and projects, sync records in concurrent batches with "
            "a live progress bar, read them back page by page and check every record "
            "arrived exactly once. No Procore account or network needed."
        ),
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    defaults = DemoOptions()
    parser.add_argument(
        "--records", type=int, default=defaults.records, metavar="N", help="rows to import (20000)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=defaults.concurrency,
        metavar="N",
        help="batches in flight at once (8)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        metavar="N",
        help="rows per sync call, 1..1000 (500)",
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=defaults.fault_rate,
        metavar="RATE",
        help="share of requests the fake fails: 5xx, 429, dropped connections (0.05)",
    )
    parser.add_argument(
        "--spike-limit",
        type=int,
        default=defaults.spike_limit,
        metavar="N",
        help="requests allowed per 10-second window; 0 turns it off (45)",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed for the faults (9)")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log each request (-vv: debug)"
    )
    parser.set_defaults(handler=run)


def _options(args: argparse.Namespace) -> DemoOptions:
    checks = (
        (args.records >= 1, "--records must be at least 1"),
        (1 <= args.concurrency <= 1000, "--concurrency must be in 1..1000"),
        (1 <= args.batch_size <= 1000, "--batch-size must be in 1..1000"),
        (0.0 <= args.fault_rate < 1.0, "--fault-rate must be in 0..1 (0.05 is 5%)"),
        (args.spike_limit >= 0, "--spike-limit must be 0 (off) or more"),
    )
    for ok, message in checks:
        if not ok:
            raise UsageError(message)
    return DemoOptions(
        records=args.records,
        concurrency=args.concurrency,
        fault_rate=args.fault_rate,
        seed=args.seed,
        batch_size=args.batch_size,
        spike_limit=args.spike_limit or None,
    )


class _Live(ProgressColumn):
    """A column whose text is recomputed at every refresh, so it moves while we wait."""

    def __init__(self, text: Callable[[Task], str], style: str = "dim") -> None:
        super().__init__()
        self._text = text
        self._style = style

    def render(self, task: Task) -> Text:
        return Text(self._text(task), style=self._style)


class _RichView:
    """The demo on a terminal: steps as ticked lines, the work as live progress bars."""

    def __init__(self, console: Console, options: DemoOptions) -> None:
        self.meter: PacingMeter | None = None
        self.fake: FakeProcore | None = None
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description:<9}"),
            BarColumn(bar_width=28),
            _Live(self._count, style="bold"),
            TimeElapsedColumn(),
            _Live(self._status),
            console=console,
            transient=True,
        )
        self.sync_task = self.progress.add_task("syncing", total=options.records, start=False)
        self.read_task = self.progress.add_task("reading", total=None, visible=False)

    @staticmethod
    def _count(task: Task) -> str:
        total = f"{task.total:,.0f}" if task.total is not None else "?"
        return f"{task.completed:>7,.0f}/{total}"

    def _status(self, task: Task) -> str:
        meter, fake = self.meter, self.fake
        if meter is None or fake is None or not task.started or task.finished:
            return ""
        pause = meter.pause_text()
        if pause:
            return pause
        parts = [f"{task.speed:,.0f} rows/s" if task.speed else ""]
        faults = fake.stats.faults_injected
        if faults:
            parts.append(f"{faults} fault{'s' if faults > 1 else ''} hit, retried")
        return " · ".join(p for p in parts if p)

    def attach(self, meter: PacingMeter, fake: FakeProcore) -> None:
        self.meter, self.fake = meter, fake

    def step(self, text: str, ok: bool = True) -> None:
        self.progress.console.print(f"{'[green]✓[/]' if ok else '[red]✗[/]'} {text}")

    def synced(self, done: int, total: int | None) -> None:
        self.progress.start_task(self.sync_task)
        self.progress.update(self.sync_task, completed=done, total=total)
        if total is not None and done >= total:
            self.progress.update(self.sync_task, visible=False)

    def read(self, done: int, total: int) -> None:
        self.progress.update(self.read_task, completed=done, total=total, visible=True)


def run(args: argparse.Namespace) -> int:
    options = _options(args)
    console = Console(highlight=False)
    limit = f"limit {options.spike_limit} requests/10 s" if options.spike_limit else "no limit"
    console.print(
        "[bold]procore-async demo[/] · bulk import into a local fake Procore "
        "(no account needed)\n"
        f"[dim]  {options.fault_rate:.0%} of requests fail (5xx, 429, dropped connections) · "
        f"{limit}[/]"
    )
    view = _RichView(console, options)
    logger = logging.getLogger("procore_async.demo")
    # The live view counts the retries; -v shows each one, -vv every request.
    with logging_to(console, args.verbose - 1, logger.name), view.progress:
        report = anyio.run(run_demo, options, view, logger)
    console.print()
    console.print(summary(report))
    for problem in report.problems:
        console.print(f"[red]✗ {problem}[/]")
    return 1 if report.problems else 0


def _row(table: Table, label: str, value: str, note: str = "") -> None:
    table.add_row(label, value, note)


def summary(report: DemoReport) -> Table:
    """The table a reader looks at last: what happened, and what it took."""
    o = report.options
    table = Table(title="[bold]Summary[/]", title_justify="left", show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column(style="dim")
    _row(table, "records created", f"{report.created:,}", "new on the server")
    _row(table, "records updated", f"{report.updated:,}", "matched by origin_id")
    _row(table, "records rejected", f"{report.rejected:,}", "blank name, refused per row")
    failed = (
        f", [red]{report.failed_batches} failed[/]" if report.failed_batches else ", none failed"
    )
    _row(
        table,
        "batches",
        f"{report.batches}",
        f"≤{o.batch_size} rows, {o.concurrency} at once{failed}",
    )
    kinds = ", ".join(
        f"{_FAULT_NAMES.get(k, k)} {_TIMES}{n}" for k, n in sorted(report.faults.items())
    )
    _row(table, "faults injected", f"{sum(report.faults.values())}", kinds)
    _row(
        table,
        "retries survived",
        f"{report.retries}",
        f"{_plural(report.lost_replies, 'lost reply', 'lost replies')} resent, none applied twice",
    )
    _row(
        table,
        "requests held",
        f"{report.paced_requests}",
        f"paced before any 429: held until the window reset ({report.paced_seconds:.1f} s)"
        if report.paced_requests
        else "the rate budget never ran out",
    )
    _row(table, "429s received", f"{report.rate_limited}", "beyond the injected ones")
    verdict = "[red]verification failed[/]" if report.problems else "each exactly once"
    _row(table, "read back", f"{report.read_back:,}", f"in pages of {PER_PAGE:,}, {verdict}")
    _row(
        table,
        "file uploaded",
        f"{report.uploaded / 2**20:.0f} MiB",
        f"{report.upload_segments} segments in parallel, no token to storage",
    )
    _row(table, "requests", f"{report.requests:,}", _plural(report.token_grants, "token grant"))
    _row(table, "elapsed", f"{report.elapsed:.1f} s", f"sync {report.sync_seconds:.1f} s")
    rate = o.records / report.sync_seconds if report.sync_seconds else 0.0
    note = "rows synced per second"
    if report.sync_paused > 0.05:
        note += f", rate-limit pauses ({report.sync_paused:.1f} s) included"
    _row(table, "records/s", f"{rate:,.0f}", note)
    return table


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


_TIMES = "\u00d7"  # the multiplication sign, as in "502 (times) 2"
_FAULT_NAMES = {"drop_before": "dropped before", "drop_after": "dropped after"}
