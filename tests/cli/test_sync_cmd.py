"""``procore-async sync``: a CSV import with rejected rows reported, and a clean JSONL one."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from procore_async import BatchFailure, ServerError, SyncResult
from procore_async.cli import main
from procore_async.cli._sync_cmd import rejected_rows
from procore_async.testing import FakeProcore, serving

Capsys = pytest.CaptureFixture[str]


def test_csv_sync_reports_rejected_rows(served: Any, tmp_path: Path, capsys: Capsys) -> None:
    fake = served.fake
    fake.add_records(fake.company_id, "vendors", 1, origin_id="v-2", name="Old name")
    rows = ["id,origin_id,name,city"]
    for i in range(1, 26):
        # Rows 5 and 17 name an id the server does not have: Procore refuses them per row.
        rows.append(f"{99999 if i in (5, 17) else ''},v-{i},Vendor {i},Austin")
    csv_path = tmp_path / "vendors.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    report = tmp_path / "rejected.jsonl"
    argv = [
        "sync", "vendors/sync", "--file", str(csv_path), "--company-id", str(fake.company_id),
        "--param", f"company_id={fake.company_id}", "--batch-size", "10", "--concurrency", "3", "--rejected", str(report),
        *served.flags(),
    ]  # fmt: skip
    assert main(argv) == 1  # some rows did not make it
    out, err = capsys.readouterr()
    assert out == ""
    assert "25 rows, 23 accepted, 2 rejected" in err
    assert "row 5: id: Entity with this ID not found" in err

    entries = [json.loads(line) for line in report.read_text().splitlines()]
    assert [e["row"] for e in entries] == [5, 17]
    assert entries[0]["errors"] == {"id": ["Entity with this ID not found"]}
    assert entries[0]["record"] == {
        "id": "99999",
        "origin_id": "v-5",
        "name": "Vendor 5",
        "city": "Austin",
    }

    stored = {r["origin_id"]: r for r in fake.records(fake.company_id, "vendors")}
    assert len(stored) == 23
    assert stored["v-2"]["name"] == "Vendor 2"  # matched by origin_id and updated
    assert fake.stats.by_path["/rest/v1.0/vendors/sync"] == 3


def test_jsonl_sync_with_params_all_accepted(served: Any, tmp_path: Path, capsys: Capsys) -> None:
    fake = served.fake
    path = tmp_path / "projects.jsonl"
    path.write_text(
        "".join(json.dumps({"origin_id": f"p-{i}", "name": f"P{i}"}) + "\n" for i in range(7))
    )
    argv = [
        "sync", "projects/sync", "--file", str(path), "--company-id", str(fake.company_id),
        "--param", f"company_id={fake.company_id}", *served.flags(),
    ]  # fmt: skip
    assert main(argv) == 0
    assert "7 rows, 7 accepted, 0 rejected" in capsys.readouterr().err
    origins = {p["origin_id"] for p in fake.records(fake.company_id, "projects")}
    assert {f"p-{i}" for i in range(7)} <= origins


def test_an_unwritable_report_fails_before_any_request(
    served: Any, tmp_path: Path, capsys: Capsys
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"name": "a"}\n')
    argv = [
        "sync", "vendors/sync", "--file", str(path), "--rejected", str(tmp_path / "no" / "r.jsonl"),
        *served.flags(),
    ]  # fmt: skip
    assert main(argv) == 2
    assert "--rejected: cannot write" in capsys.readouterr().err
    assert served.fake.stats.requests == 0


def test_rows_of_failed_batches_are_reported_with_their_row_numbers() -> None:
    rows = [{"name": f"r{i}"} for i in range(1, 8)]
    result = SyncResult(
        body={"entities": [], "errors": [{"name": "r2", "errors": {"name": ["taken"]}}]},
        failures=[BatchFailure(2, rows[6:], ServerError("503 Service Unavailable"))],
    )
    report = rejected_rows(rows, result, batch_size=3)
    assert report == [
        {"row": 2, "errors": {"name": ["taken"]}, "record": {"name": "r2"}},
        {"row": 7, "error": "ServerError: 503 Service Unavailable", "record": {"name": "r7"}},
    ]


@pytest.mark.slow
def test_sync_shows_rate_limit_pauses(tmp_path: Path, capsys: Capsys) -> None:
    # A 10-second window of 5 requests: the pacer holds the later batches (no 429).
    fake = FakeProcore(spike_limit=5, seed=3)
    path = tmp_path / "vendors.jsonl"
    path.write_text(
        "".join(json.dumps({"origin_id": f"v-{i}", "name": f"V{i}"}) + "\n" for i in range(6))
    )
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(serving(fake)) as url:
        argv = [
            "sync", "vendors/sync", "--file", str(path), "--company-id", str(fake.company_id),
            "--param", f"company_id={fake.company_id}",
            "--batch-size", "1", "--concurrency", "1", "--host", url, "--login-host", url,
            "--client-id", fake.client_id, "--client-secret", fake.client_secret,
            "--store", str(tmp_path / "tokens.json"), "--client-credentials",
        ]  # fmt: skip
        assert main(argv) == 0
    err = capsys.readouterr().err
    assert "6 rows, 6 accepted, 0 rejected" in err
    assert re.search(r"\d+ requests? held for the rate limit \(\d+\.\d s paused\)", err)
    assert fake.stats.rate_limited == 0
