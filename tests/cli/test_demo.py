"""``procore-async demo``: completes, reports what happened, and its check can fail."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import anyio
import pytest
from rich.console import Console

from procore_async import RatePacer
from procore_async.cli import main
from procore_async.cli._demo import summary
from procore_async.cli._demo_run import (
    DemoOptions,
    DemoReport,
    PacingMeter,
    make_source,
    run_demo,
    verify,
)

Capsys = pytest.CaptureFixture[str]


class RecordingView:
    def __init__(self) -> None:
        self.steps: list[tuple[str, bool]] = []
        self.synced_counts: list[tuple[int, int | None]] = []
        self.read_counts: list[int] = []
        self.fake: Any = None

    def attach(self, meter: Any, fake: Any) -> None:
        self.fake = fake

    def step(self, text: str, ok: bool = True) -> None:
        self.steps.append((text, ok))

    def synced(self, done: int, total: int | None) -> None:
        self.synced_counts.append((done, total))

    def read(self, done: int, total: int) -> None:
        self.read_counts.append(done)


def test_demo_2000_records_exits_0_with_a_summary(capsys: Capsys) -> None:
    assert main(["demo", "--records", "2000"]) == 0
    out = capsys.readouterr().out
    for label in ("records created", "records updated", "records rejected", "batches",
                  "retries survived", "requests held", "429s received", "elapsed", "records/s"):  # fmt: skip
        assert label in out
    assert "✓ read back 1,992 records: each exactly once" in out
    assert "429s paced" not in out and "while not paused" not in out


def test_the_demo_survives_faults_and_counts_its_retries() -> None:
    # Seed 1 at 15% injects two faults in this run (the fake draws them in arrival order).
    options = DemoOptions(records=2000, fault_rate=0.15, seed=1, batch_size=300, spike_limit=None)
    view = RecordingView()
    report = anyio.run(run_demo, options, view, logging.getLogger("tests.cli.demo"))
    assert report.problems == []
    assert (report.created, report.updated, report.rejected) == (1792, 200, 8)
    assert report.batches == 7
    assert report.read_back == 1992
    stats = view.fake.stats
    assert stats.faults_injected >= 1
    # Every fault cost exactly one retry and none surfaced: the client's own count agrees.
    assert report.retries == stats.faults_injected + report.rate_limited
    assert view.synced_counts[-1] == (2000, 2000)
    assert view.read_counts[-1] == 1992
    assert all(ok for _, ok in view.steps)


async def test_the_pacing_meter_measures_held_requests() -> None:
    pacer = RatePacer(reserve=2)
    meter = PacingMeter(pacer)
    await meter.acquire()
    assert (meter.held, meter.paused) == (0, 0.0)
    # The server says the window is spent for another 0.3 s: the next request waits.
    await meter.observe(10, 1, time.time() + 0.3)
    await meter.acquire()
    assert meter.held == 1
    assert 0.1 < meter.paused < 5
    assert meter.waiting == 0
    assert meter.held_for() is None


def _report(rows: list[dict[str, Any]]) -> DemoReport:
    report = DemoReport(DemoOptions(records=len(rows)))
    report.created, report.rejected = len(rows) - 2, 2
    return report


def test_verify_catches_duplicates_losses_and_stale_data() -> None:
    rows, _, rejected = make_source(500)
    assert len(rejected) == 2
    good = [dict(r) for r in rows if r["origin_id"] not in rejected]
    report = _report(rows)
    verify(report, rows, rejected, good, good)
    assert report.problems == []

    bad = [*good[1:], dict(good[5]), {**good[9], "name": "Old name 10"}]
    del bad[8]  # good[9] is now only there with its old name
    report = _report(rows)
    verify(report, rows, rejected, bad, good)
    problems = " | ".join(report.problems)
    assert "1 records duplicated on the server, e.g. erp-000006" in problems
    assert "1 records missing on the server, e.g. erp-000001" in problems
    assert "1 records not updated on the server, e.g. erp-000010" in problems


def test_demo_as_a_subprocess(run_cli: Any) -> None:
    done = run_cli("demo", "--records", "300", "--fault-rate", "0", "--spike-limit", "0")
    assert done.returncode == 0, done.stderr
    assert "Summary" in done.stdout
    assert done.stderr == ""


async def test_a_pause_shows_the_time_left_not_the_time_waited() -> None:
    pacer = RatePacer(reserve=2)
    meter = PacingMeter(pacer)
    await meter.acquire()
    assert meter.pause_text() == ""
    await meter.observe(10, 1, time.time() + 3.0)  # spent until 3 s from now
    async with anyio.create_task_group() as group:
        group.start_soon(meter.acquire)
        await anyio.sleep(0.8)
        text = meter.pause_text()
        left = meter.seconds_left()
        group.cancel_scope.cancel()
    assert re.fullmatch(r"⏸ rate limit reached: 1 request held, window resets in \d s", text)
    assert left is not None and left < 3.0  # counting down towards the reset


def test_the_summary_names_held_requests_and_keeps_pauses_in_the_rate() -> None:
    report = DemoReport(DemoOptions(records=1000))
    report.paced_requests, report.paced_seconds = 12, 4.25
    report.sync_seconds, report.sync_paused = 10.0, 4.25
    console = Console(width=200, record=True)
    console.print(summary(report))
    text = console.export_text()
    assert "requests held" in text and "paced before any 429" in text and "(4.2 s)" in text
    assert "rate-limit pauses (4.2 s) included" in text
    assert "/s while not paused" not in text
