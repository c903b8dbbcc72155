"""``procore-async sync``: a CSV import with rejected rows reported, and a clean JSONL one.

Rows of a batch that failed are reported with what is known of their fate: an unkeyed
batch whose reply was lost may have been applied, so its rows are not safe to resend.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from procore_async import (
    APIConnectionError,
    BatchFailure,
    OutcomeUnknownError,
    RateLimitError,
    SyncResult,
)
from procore_async.cli import main
from procore_async.cli._app import build_parser
from procore_async.cli._sync_cmd import failure_outcome, rejected_rows
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
        failures=[BatchFailure(2, rows[6:], RateLimitError("429 Too Many Requests"))],
    )
    report = rejected_rows(rows, result, batch_size=3)
    assert report == [
        {"row": 2, "errors": {"name": ["taken"]}, "record": {"name": "r2"}},
        {
            "row": 7,
            "error": "RateLimitError: 429 Too Many Requests",
            "outcome": "not applied",  # a 429: Procore did no work
            "safe_to_resend": True,
            "record": {"name": "r7"},
        },
    ]


def _sent_error() -> APIConnectionError:
    error = APIConnectionError("connection dropped")
    error.request_sent = True
    return error


def _unsent_error() -> APIConnectionError:
    error = APIConnectionError("connection refused")
    error.request_sent = False
    return error


_MIXED: list[dict[str, Any]] = [{"origin_id": "a"}, {"name": "b"}, {"id": 7}]


@pytest.mark.parametrize(
    ("error", "outcome", "safe"),
    [
        # The client's word: an unkeyed batch that may have been applied.  Its keyed
        # rows are safe to resend (the same upsert again), the unkeyed one is not.
        (OutcomeUnknownError("may have been applied"), "unknown", [True, False, True]),
        # Certainly not applied: every row is safe to resend, keyed or not.
        (RateLimitError("429 Too Many Requests"), "not applied", [True, True, True]),
        (_unsent_error(), "not applied", [True, True, True]),
        # Sent and lost (what a keyed batch fails with), or not the client's error:
        # nothing proves it was not applied.
        (_sent_error(), "unknown", [True, False, True]),
        (RuntimeError("boom"), "unknown", [True, False, True]),
    ],
)
def test_failed_rows_tell_unknown_from_not_applied(
    error: Exception, outcome: str, safe: list[bool]
) -> None:
    failure = BatchFailure(0, _MIXED, error)
    assert failure_outcome(failure) == outcome
    report = rejected_rows(_MIXED, SyncResult(failures=[failure]), batch_size=3)
    assert [(e["row"], e["outcome"]) for e in report] == [(1, outcome), (2, outcome), (3, outcome)]
    assert [e["safe_to_resend"] for e in report] == safe


def _report(path: Path) -> dict[int, dict[str, Any]]:
    return {e["row"]: e for e in map(json.loads, path.read_text().splitlines())}


def test_unkeyed_rows_of_a_batch_whose_reply_was_lost_are_marked_unknown(
    served: Any, tmp_path: Path, capsys: Capsys
) -> None:
    fake = served.fake
    # Every sync call is applied and its reply lost; the token grant is spared.
    fake.faults(error_rate=1.0, kinds=("drop_after",), only_retryable=False, oauth=False)
    path = tmp_path / "vendors.jsonl"
    rows = [{"origin_id": f"v-{i}", "name": f"Keyed {i}"} for i in range(1, 4)]
    # The second batch has one keyed row: that row alone is safe to send again.
    rows += [{"name": "Unkeyed 4"}, {"origin_id": "v-5", "name": "Keyed 5"}, {"name": "Unkeyed 6"}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = tmp_path / "rejected.jsonl"
    argv = [
        "sync", "vendors/sync", "--file", str(path), "--company-id", str(fake.company_id),
        "--param", f"company_id={fake.company_id}", "--batch-size", "3", "--concurrency", "1",
        "--rejected", str(report), *served.flags(),
    ]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert (
        "6 rows, 0 accepted, 0 rejected, 6 in 2 failed batches "
        "(4 safe to resend; 2 unkeyed of unknown outcome: check before resending)"
    ) in err
    assert "row 1: [safe to resend] APIConnectionError" in err

    entries = _report(report)
    assert sorted(entries) == [1, 2, 3, 4, 5, 6]
    for number in (4, 5, 6):  # the unkeyed batch: not resent by the client
        entry = entries[number]
        assert entry["outcome"] == "unknown"
        assert entry["error"].startswith("OutcomeUnknownError: sync batch 1 (3 updates)")
        assert entry["record"] == rows[number - 1]
    # Resending rows 4 and 6 as is would create them twice; row 5 is an upsert.
    assert [entries[n]["safe_to_resend"] for n in (4, 5, 6)] == [False, True, False]
    for number in (1, 2, 3):  # keyed: the reply was lost too, but a resend is an upsert
        entry = entries[number]
        assert (entry["outcome"], entry["safe_to_resend"]) == ("unknown", True)
        assert entry["error"].startswith("APIConnectionError")

    # The "failed" unkeyed batch was in fact applied: this is why it is not safe to resend.
    names = {r["name"] for r in fake.records(fake.company_id, "vendors")}
    assert {"Unkeyed 4", "Keyed 5", "Unkeyed 6"} <= names


def test_unkeyed_rows_refused_before_any_work_are_safe_to_resend(
    served: Any, tmp_path: Path, capsys: Capsys
) -> None:
    fake = served.fake
    # A 503 with Retry-After: Procore did no work (and --max-retries 0 gives up at once).
    fake.faults(error_rate=1.0, kinds=("503",), only_retryable=False, oauth=False)
    path = tmp_path / "vendors.jsonl"
    path.write_text("".join(json.dumps({"name": f"V{i}"}) + "\n" for i in range(4)))
    report = tmp_path / "rejected.jsonl"
    argv = [
        "sync", "vendors/sync", "--file", str(path), "--company-id", str(fake.company_id),
        "--param", f"company_id={fake.company_id}", "--batch-size", "2",
        "--rejected", str(report), *served.flags(),
    ]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "4 in 2 failed batches (4 safe to resend; 0 unkeyed of unknown outcome" in err
    entries = _report(report)
    assert [(e["outcome"], e["safe_to_resend"]) for e in entries.values()] == [
        ("not applied", True)
    ] * 4
    assert all(e["error"].startswith("ServerError: 503") for e in entries.values())
    assert fake.records(fake.company_id, "vendors") == []


def test_sync_help_states_the_replay_rule_not_the_token() -> None:
    action = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    sub: dict[str, argparse.ArgumentParser] = action.choices  # type: ignore[assignment]
    text = " ".join(sub["sync"].format_help().split())
    assert "retried safely" not in text
    assert "Procore ignores Idempotency-Token on sync" in text
    assert 'not safe to resend as is ("safe_to_resend": false)' in text
    token_help = " ".join(sub["post"].format_help().split())
    assert "makes a write safe to retry" not in token_help
    assert "only on the 5 operations that declare it" in token_help


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
