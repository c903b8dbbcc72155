"""The demo's work, apart from how it is shown: a bulk import into FakeProcore, checked.

The fake plays a Procore company whose vendor list already holds a tenth of the
records (so the import both creates and updates), a few source rows carry a blank
name (so Procore rejects them per item), requests fail at ``fault_rate`` and a
10-second spike limit forces pacing.  The import must come through all of that with
every record on the server exactly once; :func:`verify` checks it from the API's own
pages and from the fake's state, so a pagination bug cannot hide a lost record.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.to_thread

from .._config import Config
from .._ratelimit import RatePacer
from ..testing import FakeProcore
from ._pacing import PacingMeter

__all__ = [
    "PER_PAGE",
    "DemoOptions",
    "DemoReport",
    "DemoView",
    "PacingMeter",
    "make_source",
    "run_demo",
]

RESOURCE = "vendors"
PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class DemoOptions:
    records: int = 20_000
    concurrency: int = 8
    fault_rate: float = 0.05
    seed: int = 9
    batch_size: int = 500
    spike_limit: int | None = 45


@dataclass(slots=True)
class DemoReport:
    """Everything the summary shows; ``problems`` empty means the import is verified."""

    options: DemoOptions
    company: str = ""
    companies: int = 0
    projects: int = 0
    existing: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    batches: int = 0
    failed_batches: int = 0
    retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    lost_replies: int = 0
    paced_requests: int = 0
    paced_seconds: float = 0.0
    rate_limited: int = 0
    token_grants: int = 0
    read_back: int = 0
    requests: int = 0
    sync_seconds: float = 0.0
    sync_paused: float = 0.0
    elapsed: float = 0.0
    uploaded: int = 0
    upload_segments: int = 0
    upload_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def _origin(i: int) -> str:
    return f"erp-{i:06d}"


def make_source(records: int) -> tuple[list[dict[str, Any]], int, set[str]]:
    """The rows to import, how many already exist on the server, and the rows Procore rejects.

    Rows 1..existing were imported before (the sync updates them); every 250th new
    row has a blank name, which Procore refuses per item.
    """
    existing = records // 10
    rows: list[dict[str, Any]] = []
    rejected: set[str] = set()
    trades = ("Concrete", "Electrical", "Plumbing", "Framing", "Roofing", "HVAC", "Glazing")
    for i in range(1, records + 1):
        origin = _origin(i)
        name = f"{trades[i % len(trades)]} Supply {i:06d}"
        if i > existing and i % 250 == 0:
            name = ""
            rejected.add(origin)
        rows.append({"origin_id": origin, "name": name, "trade_name": trades[i % len(trades)]})
    return rows, existing, rejected


class DemoView(Protocol):
    """What the demo tells whoever shows it (the rich live view, or a test)."""

    def attach(self, meter: PacingMeter, fake: FakeProcore) -> None:
        """The live objects to poll for counters while the work runs."""

    def step(self, text: str, ok: bool = True) -> None:
        """A step finished."""

    def synced(self, done: int, total: int | None) -> None:
        """``done`` of ``total`` rows have been through the sync."""

    def read(self, done: int, total: int) -> None:
        """``done`` of the expected ``total`` records have been read back."""


async def run_demo(options: DemoOptions, view: DemoView, logger: logging.Logger) -> DemoReport:
    """Run the demo end to end; ``view`` hears about each step and the progress."""
    started = time.perf_counter()
    report = DemoReport(options)
    fake = FakeProcore(spike_limit=options.spike_limit, seed=options.seed)
    company_id = fake.company_id
    rows, existing, rejected = make_source(options.records)
    fake.add_records(
        company_id, RESOURCE, existing, origin_id=_origin, name=lambda i: f"Old name {i}"
    )
    report.existing = existing
    if options.fault_rate:
        # Every row carries an origin_id, so every batch is an upsert and safe to resend:
        # faults may hit the sync batches too, lost replies included.
        fake.faults(error_rate=options.fault_rate, seed=options.seed, only_retryable=False)
    config = Config(max_concurrency=options.concurrency, logger=logger)
    meter = PacingMeter(RatePacer(config.rate_limit_reserve))
    view.attach(meter, fake)
    async with fake.client(config=config, rate_limiter=meter) as client:
        await client.refresh()
        view.step("signed in with the client-credentials grant")
        companies = (await client.get("companies", company_id=company_id)).body
        report.companies = len(companies)
        report.company = next(c["name"] for c in companies if c["id"] == company_id)
        async for _ in client.paginate(
            "projects", query={"company_id": company_id}, company_id=company_id
        ):
            report.projects += 1
        view.step(
            f"{report.companies} companies; {report.projects} projects "
            f"in {report.company} ({company_id})"
        )
        sync_started, paused_before = time.perf_counter(), meter.paused
        result = await client.sync(
            f"{RESOURCE}/sync",  # PATCH /rest/v1.0/vendors/sync takes company_id in the body
            body={"company_id": company_id, "updates": rows},
            company_id=company_id,
            batch_size=options.batch_size,
            concurrency=options.concurrency,
            raise_on_error=False,
            on_progress=view.synced,
        )
        report.sync_seconds = time.perf_counter() - sync_started
        report.sync_paused = meter.paused - paused_before
        report.batches = len(result.responses) + len(result.failures)
        report.failed_batches = len(result.failures)
        report.rejected = len(result.errors)
        view.step(
            f"synced {options.records:,} rows in {report.batches} batches "
            f"({report.sync_seconds:.1f} s)",
            ok=not result.failures,
        )
        # Every source row but the refused ones (the existing rows are among them).
        expected = len(rows) - len(rejected)
        paged: list[dict[str, Any]] = []
        async for item in client.paginate(
            RESOURCE,
            query={"company_id": company_id},
            company_id=company_id,
            per_page=PER_PAGE,
            concurrency=options.concurrency,
        ):
            paged.append(item)
            if len(paged) % 250 == 0:
                view.read(len(paged), expected)
        view.read(len(paged), expected)
        report.read_back = len(paged)
        report.retries = client.retry_policy.retries
        fake.faults()  # the upload shows the flow; the import above showed the faults
        await _upload_step(client, fake, report, view)
    report.created = len(paged) - existing
    report.updated = len(result.entities) - report.created
    verify(report, rows, rejected, paged, fake.records(company_id, RESOURCE))
    stats = fake.stats
    report.faults = Counter(stats.faults)
    report.lost_replies = stats.faults["drop_after"]
    report.rate_limited = stats.rate_limited - stats.faults["429"]
    report.token_grants = sum(stats.token_grants.values())
    report.requests = stats.requests
    report.paced_requests, report.paced_seconds = meter.held, meter.paused
    report.elapsed = time.perf_counter() - started
    if report.problems:
        view.step("verification failed", ok=False)
    else:
        view.step(f"read back {report.read_back:,} records: each exactly once, with the new data")
    return report


async def _upload_step(client: Any, fake: FakeProcore, report: DemoReport, view: DemoView) -> None:
    """Upload a generated 12 MiB drawing set into Documents and check what arrived."""
    project = fake.records(fake.company_id, "projects")[0]["id"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="procore-demo-") as folder:
        path = os.path.join(folder, "drawing-set.pdf")
        await anyio.to_thread.run_sync(_write_sample, path, 12 * 1024 * 1024)
        upload = await client.upload(
            path,
            company_id=fake.company_id,
            project_id=project,
            segment_size=5 * 1024 * 1024,
            api_version="v1.1",
        )
        sent = await anyio.to_thread.run_sync(_read, path)
    # Attached by its id, as Procore recommends: the Documents file takes the upload.
    record = (
        await client.post(
            f"files?project_id={project}",
            body={"file": {"name": upload.file_name, "upload_uuid": upload.id}},
            company_id=fake.company_id,
        )
    ).body
    report.upload_seconds = time.perf_counter() - started
    report.uploaded = int(record["size"])
    report.upload_segments = upload.segments
    arrived = fake.upload_content(upload.id) == sent
    if not arrived:
        report.problems.append("the uploaded file did not arrive byte for byte")
    view.step(
        f"uploaded {report.uploaded / 2**20:.0f} MiB to Documents in {report.upload_segments} "
        f"segments, straight to storage ({report.upload_seconds:.1f} s)",
        ok=arrived,
    )


def _write_sample(path: str, size: int) -> None:
    block = bytes(range(256)) * 4096
    with open(path, "wb") as handle:
        for offset in range(0, size, len(block)):
            handle.write(offset.to_bytes(8, "big") + block[8 : min(len(block), size - offset)])


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def verify(
    report: DemoReport,
    rows: list[dict[str, Any]],
    rejected: set[str],
    paged: list[dict[str, Any]],
    stored: list[dict[str, Any]],
) -> None:
    """Check the server against the source; each discrepancy becomes one problem line."""
    problems = report.problems
    if report.failed_batches:
        problems.append(f"{report.failed_batches} batches failed after their retries")
    expected = {row["origin_id"]: row for row in rows if row["origin_id"] not in rejected}
    counts = Counter(str(record.get("origin_id")) for record in paged)
    duplicates = sorted(o for o, n in counts.items() if n > 1)
    missing = sorted(set(expected) - set(counts))
    unexpected = sorted(set(counts) - set(expected))
    stale = sorted(
        origin
        for record in paged
        if (origin := str(record.get("origin_id"))) in expected
        and record.get("name") != expected[origin]["name"]
    )
    for what, found in (
        ("duplicated", duplicates),
        ("missing", missing),
        ("unexpected", unexpected),
        ("not updated", stale),
    ):
        if found:
            problems.append(f"{len(found)} records {what} on the server, e.g. {found[0]}")
    if len(stored) != len(paged):
        problems.append(f"pages returned {len(paged)} records but the server holds {len(stored)}")
    if report.rejected != len(rejected):
        problems.append(f"{report.rejected} rows rejected, expected {len(rejected)}")
    total = report.created + report.updated + report.rejected
    if not report.failed_batches and total != len(rows):
        problems.append(f"created + updated + rejected = {total}, not {len(rows)}")
