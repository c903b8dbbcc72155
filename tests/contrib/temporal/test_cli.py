"""``procore-async fleet import|export`` against a worker in this process, and their usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest

from procore_async.cli import _app
from procore_async.contrib.temporal import create_worker
from procore_async.testing import FakeProcore

pytestmark = pytest.mark.slow


def _run(argv: list[str]) -> int:
    return _app.run(argv)


async def test_fleet_import_and_export_print_their_reports(
    temporal: Any, temporal_address: str, task_queue: str, tmp_path: Path, capsys: Any
) -> None:
    fake = FakeProcore(rate_limit=None, projects=2)
    company = fake.company_id
    rows = tmp_path / "vendors.csv"
    lines = ["origin_id,name"] + [f"v-{i},Vendor {i}" for i in range(1200)] + ["v-bad,"]
    rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
    projects = [p["id"] for p in fake.records(company, "projects")]
    for project in projects:
        fake.add_records(company, "rfis", 120, project_id=project, subject="s")
    common = ["--temporal", temporal_address, "--task-queue", task_queue, "--json"]
    async with fake.client() as client, create_worker(temporal, client, task_queue=task_queue):
        code = await anyio.to_thread.run_sync(
            _run, ["fleet", "import", str(rows), "--company", str(company), "--shard-size", "500",
                   *common],
        )  # fmt: skip
        out, err = capsys.readouterr()
        report = json.loads(out)
        assert code == 1  # one row was rejected
        assert (report["total"], report["created"], report["rejected"]) == (1201, 1200, 1)
        assert report["rejections"][0]["row"] == 1201
        assert "1 rejected" in err and "row 1201 (origin_id:v-bad): name: can't be blank" in err

        argv = ["fleet", "export", "projects/{project_id}/rfis", "--company", str(company)]
        for project in projects:
            argv += ["--project", str(project)]
        argv += ["--out", str(tmp_path / "out"), "--per-page", "50", *common]
        code = await anyio.to_thread.run_sync(_run, argv)
        out, err = capsys.readouterr()
    assert code == 0
    exported = json.loads(out)
    assert exported["items"] == 240 and len(exported["files"]) == 2
    assert "240 items in 2 files" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fleet", "import", "nope.csv", "--company", "1"], "nope.csv: no such file"),
        (
            ["fleet", "export", "rfis", "--company", "1", "--company", "2", "--project", "3"],
            "--project needs exactly one --company",
        ),
        (["demo", "--fleet", "1"], "--fleet needs at least 2 workers"),
        (["demo", "--fleet", "2", "--records", "0"], "--records must be at least 1"),
        (["demo", "--records", "0"], "--records must be at least 1"),
        (["fleet", "worker", "--activities", "0"], "--activities must be at least 1"),
    ],
)
def test_usage_errors_are_one_line(argv: list[str], message: str, capsys: Any) -> None:
    assert _app.run(argv) == 2
    assert message in capsys.readouterr().err
