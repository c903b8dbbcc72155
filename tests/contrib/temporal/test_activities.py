"""The activities on their own, in Temporal's ActivityEnvironment, against FakeProcore in process.

A retried attempt gets the last heartbeat of the one before it; these tests hand an
activity such details directly and check it resumes exactly there.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from procore_async import Config, ForbiddenError, InvalidRequestError, RateLimitError
from procore_async._batch import BatchFailure, SyncResult
from procore_async.contrib.temporal import (
    ExportPart,
    ExportScope,
    ExportSpec,
    FleetActivities,
    ImportSpec,
    Shard,
    ShardReport,
)
from procore_async.contrib.temporal._importing import tally_window
from procore_async.testing import FakeProcore


def _env(
    details: dict[str, Any] | None = None, attempt: int = 1
) -> tuple[ActivityEnvironment, list]:
    env = ActivityEnvironment()
    beats: list[Any] = []
    env.on_heartbeat = lambda *args: beats.append(args[0])
    env.info = dataclasses.replace(
        env.info,
        heartbeat_details=[details] if details else [],
        attempt=attempt,
        workflow_id="wf-test",
    )
    return env, beats


def _rows(path: Path, count: int, blank: set[int] = frozenset()) -> Path:  # type: ignore[assignment]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            name = "" if i in blank else f"Vendor {i}"
            out.write(json.dumps({"origin_id": f"v-{i}", "name": name}) + "\n")
    return path


async def test_a_retried_shard_resumes_at_its_last_heartbeat(tmp_path: Path) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    path = _rows(tmp_path / "in.jsonl", 3000)
    spec = ImportSpec(
        path="vendors/sync", location=str(path), company_id=fake.company_id,
        body={"company_id": fake.company_id}, shard_size=3000, batch_size=100, concurrency=2,
    )  # fmt: skip
    confirmed = ShardReport(0, 0, 3000, rows=1000, created=1000)
    env, beats = _env({"offset": 1000, "report": dataclasses.asdict(confirmed)}, attempt=2)
    async with fake.client() as client:
        report = await env.run(FleetActivities(client).import_shard, spec, Shard(0, 0, 3000))
    assert (report.rows, report.created, report.updated) == (3000, 3000, 0)
    assert (report.resumed_at, report.attempts) == (1000, 2)
    origins = {r["origin_id"] for r in fake.records(fake.company_id, "vendors")}
    # Rows before the heartbeat were confirmed by the dead attempt: not sent again.
    assert origins == {f"v-{i}" for i in range(1000, 3000)}
    assert beats[-1]["offset"] == 3000
    assert [b["offset"] for b in beats] == sorted(b["offset"] for b in beats)


async def test_rejected_rows_are_counted_with_their_row_and_reason(tmp_path: Path) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    path = _rows(tmp_path / "in.jsonl", 500, blank={7, 321})
    spec = ImportSpec(
        path="vendors/sync", location=str(path), company_id=fake.company_id,
        body={"company_id": fake.company_id}, batch_size=50, concurrency=3,
    )  # fmt: skip
    env, _ = _env()
    async with fake.client() as client:
        activities = FleetActivities(client)
        plan = await env.run(activities.plan_import, spec)
        report = await env.run(activities.import_shard, spec, plan.shards[0])
    assert (plan.total, len(plan.shards)) == (500, 1)
    assert (report.rows, report.created, report.rejected, report.failed) == (500, 498, 2, 0)
    assert [(p.row, p.key) for p in report.rejections] == [
        (8, "origin_id:v-7"),
        (322, "origin_id:v-321"),
    ]
    assert report.rejections[0].reason == "name: can't be blank"


async def test_an_unkeyed_input_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    path = tmp_path / "in.jsonl"
    path.write_text('{"origin_id": "a", "name": "A"}\n{"name": "no key"}\n', encoding="utf-8")
    spec = ImportSpec(path="vendors/sync", location=str(path), company_id=fake.company_id)
    env, _ = _env()
    async with fake.client() as client:
        with pytest.raises(ApplicationError) as caught:
            await env.run(FleetActivities(client).plan_import, spec)
        before = fake.stats.requests
        with pytest.raises(ApplicationError):
            await env.run(FleetActivities(client).import_shard, spec, Shard(0, 0, 2))
    assert caught.value.type == "UnkeyedImportError" and caught.value.non_retryable
    assert "row 2" in caught.value.message
    assert fake.stats.requests == before == 0


def _result(failures: list[BatchFailure], entities: int = 0) -> SyncResult:
    stamp = "2026-01-01T00:00:00Z"
    body = {"entities": [{"created_at": stamp, "updated_at": stamp}] * entities, "errors": []}
    return SyncResult(body=body, failures=failures, batches=4)


def test_a_refused_batch_is_counted_failed_and_the_window_confirmed() -> None:
    rows = [{"origin_id": f"o-{i}", "name": "x"} for i in range(40)]
    report = ShardReport(0, 100, 200)
    refused = BatchFailure(2, rows[20:30], InvalidRequestError("422: too long"))
    tally_window(report, rows, 100, _result([refused], entities=30), batch_size=10, cap=5)
    assert (report.rows, report.created, report.failed) == (40, 30, 10)
    assert [p.row for p in report.failures] == [121, 122, 123, 124, 125]  # capped at 5
    assert report.failures[0].reason.startswith("InvalidRequestError: 422")


def test_a_retryable_failure_leaves_the_window_unconfirmed() -> None:
    rows = [{"origin_id": f"o-{i}"} for i in range(20)]
    report = ShardReport(0, 0, 20)
    waits = [
        BatchFailure(0, rows[:10], RateLimitError("429", retry_after=3.0)),
        BatchFailure(1, rows[10:], RateLimitError("429", retry_after=9.0)),
    ]
    with pytest.raises(ApplicationError) as caught:
        tally_window(report, rows, 0, _result(waits), batch_size=10, cap=5)
    assert caught.value.type == "RateLimitError" and not caught.value.non_retryable
    assert caught.value.next_retry_delay is not None
    assert caught.value.next_retry_delay.total_seconds() == 9.0  # the longest wait
    assert report.rows == 0


def test_a_fatal_failure_stops_the_shard() -> None:
    rows = [{"origin_id": f"o-{i}"} for i in range(10)]
    report = ShardReport(0, 0, 10)
    with pytest.raises(ForbiddenError):
        tally_window(
            report, rows, 0, _result([BatchFailure(0, rows, ForbiddenError("403"))]),
            batch_size=10, cap=5,
        )  # fmt: skip
    assert report.rows == 0


async def test_export_plan_cuts_each_projects_pages_into_parts(tmp_path: Path) -> None:
    fake = FakeProcore(rate_limit=None, projects=3)
    projects = [p["id"] for p in fake.records(fake.company_id, "projects")]
    for count, project in zip((250, 1, 0), projects, strict=True):
        if count:
            fake.add_records(fake.company_id, "rfis", count, project_id=project, subject="s")
    spec = ExportSpec(
        path="projects/{project_id}/rfis", out_dir=str(tmp_path),
        scopes=[ExportScope(fake.company_id, p) for p in projects], per_page=50,
        pages_per_part=2,
    )  # fmt: skip
    env, _ = _env()
    async with fake.client() as client:
        plan = await env.run(FleetActivities(client).plan_export, spec)
    assert plan.total == 251
    ranges = [(p.scope.project_id, p.first_page, p.last_page) for p in plan.parts]
    assert ranges == [
        (projects[0], 1, 2), (projects[0], 3, 4), (projects[0], 5, 5),
        (projects[1], 1, 1), (projects[2], 1, 1),
    ]  # fmt: skip
    assert len({p.file for p in plan.parts}) == 5


async def test_a_retried_export_part_truncates_the_half_written_page(tmp_path: Path) -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    project = fake.records(fake.company_id, "projects")[0]["id"]
    created = fake.add_records(fake.company_id, "rfis", 1000, project_id=project, subject="s")
    scope = ExportScope(fake.company_id, project)
    spec = ExportSpec(path="projects/{project_id}/rfis", out_dir=str(tmp_path), scopes=[scope])
    part = ExportPart(0, scope, 1, 10, str(tmp_path / "rfis.ndjson"))
    # The dead attempt wrote pages 1-3 (heartbeated), then half of page 4.
    written = "".join(
        json.dumps(r) + "\n"
        for r in fake.records(fake.company_id, "rfis", project_id=project)[:300]
    )
    partial = tmp_path / "rfis.ndjson.partial"
    partial.write_bytes(written.encode() + b'{"id": 123, "half')
    details = {"page": 4, "bytes": len(written.encode()), "items": 300, "pages": 3}
    env, beats = _env(details, attempt=2)
    async with fake.client(config=Config(max_retries=0)) as client:
        report = await env.run(FleetActivities(client).export_part, spec, part)
    lines = (tmp_path / "rfis.ndjson").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == [r["id"] for r in created]
    assert (report.items, report.pages, report.resumed_at_page) == (1000, 10, 4)
    assert not partial.exists()
    assert (tmp_path / "rfis.ndjson").stat().st_mode & 0o777 == 0o600
    assert beats[-1]["page"] == 11


class _Numbers:
    """A custom row source: rows computed from their index, readable by range."""

    def __init__(self, unkeyed_at: int | None = None) -> None:
        self.unkeyed_at = unkeyed_at
        self.ranges: list[tuple[int, int]] = []

    async def count(self, location: str, params: Any) -> int:
        return int(params["count"])

    async def rows(self, location: str, params: Any, start: int, stop: int) -> Any:
        self.ranges.append((start, stop))
        for i in range(start, stop):
            if i == self.unkeyed_at:
                yield {"name": "no key"}
            else:
                yield {"origin_id": f"{location}-{i}", "name": f"Row {i}"}


async def test_a_registered_row_source_feeds_shards_by_range() -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    source = _Numbers()
    spec = ImportSpec(
        path="vendors/sync", source="numbers", location="n", params={"count": 450},
        company_id=fake.company_id, body={"company_id": fake.company_id}, shard_size=200,
        batch_size=50, concurrency=2,
    )  # fmt: skip
    env, _ = _env()
    async with fake.client() as client:
        activities = FleetActivities(client, sources={"numbers": source})
        plan = await env.run(activities.plan_import, spec)
        reports = [await env.run(activities.import_shard, spec, shard) for shard in plan.shards]
    assert [(s.start, s.stop) for s in plan.shards] == [(0, 200), (200, 400), (400, 450)]
    assert source.ranges == [(0, 200), (200, 400), (400, 450)]
    assert sum(r.created for r in reports) == 450
    assert len(fake.records(fake.company_id, "vendors")) == 450
    # A custom source's params are its own: no request carried them.
    assert not any("count" in r for r in fake.records(fake.company_id, "vendors"))


async def test_an_unkeyed_row_from_a_source_fails_its_shard_for_good() -> None:
    fake = FakeProcore(rate_limit=None, projects=1)
    spec = ImportSpec(
        path="vendors/sync", source="numbers", location="n", params={"count": 100},
        company_id=fake.company_id, body={"company_id": fake.company_id}, batch_size=10,
        concurrency=2,
    )  # fmt: skip
    env, _ = _env()
    async with fake.client() as client:
        activities = FleetActivities(client, sources={"numbers": _Numbers(unkeyed_at=45)})
        with pytest.raises(ApplicationError) as caught:
            await env.run(activities.import_shard, spec, Shard(0, 0, 100))
        with pytest.raises(ApplicationError) as unknown:
            await env.run(activities.plan_import, ImportSpec(path="p", location="x", source="nope"))
    assert caught.value.type == "UnkeyedImportError" and caught.value.non_retryable
    assert "row 46" in caught.value.message
    assert len(fake.records(fake.company_id, "vendors")) == 40  # the windows before it
    assert unknown.value.non_retryable and "no row source 'nope'" in unknown.value.message


async def test_rows_sent_again_later_count_as_updated(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    fake = FakeProcore(rate_limit=None, projects=1, clock=lambda: now[0])
    path = _rows(tmp_path / "in.jsonl", 300)
    spec = ImportSpec(
        path="vendors/sync", location=str(path), company_id=fake.company_id,
        body={"company_id": fake.company_id}, batch_size=100, concurrency=2,
    )  # fmt: skip
    env, _ = _env()
    async with fake.client() as client:
        first = await env.run(FleetActivities(client).import_shard, spec, Shard(0, 0, 300))
        now[0] += 5  # the retry of a killed shard comes at least a heartbeat timeout later
        again = await env.run(FleetActivities(client).import_shard, spec, Shard(0, 100, 300))
    assert (first.created, first.updated) == (300, 0)
    assert (again.rows, again.created, again.updated) == (200, 0, 200)
    assert len(fake.records(fake.company_id, "vendors")) == 300


async def test_an_import_too_big_for_one_history_says_which_shard_size_fits() -> None:
    spec = ImportSpec(
        path="vendors/sync", source="numbers", location="n", params={"count": 80_001},
        shard_size=10,
    )  # fmt: skip
    env, _ = _env()
    activities = FleetActivities(None, sources={"numbers": _Numbers()})  # type: ignore[arg-type]
    with pytest.raises(ApplicationError) as caught:
        await env.run(activities.plan_import, spec)
    assert caught.value.non_retryable
    assert "8,001 shards" in caught.value.message
    assert "raise shard_size to at least 11" in caught.value.message
