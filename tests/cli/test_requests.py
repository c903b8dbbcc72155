"""get/post/put/patch/delete and paginate against FakeProcore over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from procore_async.cli import main

Capsys = pytest.CaptureFixture[str]


def _cli(served: Any, *argv: str, **kwargs: Any) -> list[str]:
    return [*argv, *served.flags(**kwargs)]


def test_get_prints_the_json_body(served: Any, capsys: Capsys) -> None:
    company = str(served.fake.company_id)
    assert main(_cli(served, "get", "companies", "--company-id", company)) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1  # not a terminal: one compact line
    names = {c["name"] for c in json.loads(out)}
    assert "Fake Construction Co." in names
    assert err == ""


def test_query_version_and_company_id_reach_the_server(served: Any, capsys: Capsys) -> None:
    company = str(served.fake.company_id)
    argv = _cli(
        served, "get", "projects", "--company-id", company,
        "--query", f"company_id={company}", "--query", "per_page=4&page=2",
        "--version", "v1.1",
    )  # fmt: skip
    assert main(argv) == 0
    projects = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in projects] == [f"Project {i:04d}" for i in range(5, 9)]
    assert served.fake.stats.by_path["/rest/v1.1/projects"] == 1


def test_write_verbs_round_trip(served: Any, capsys: Capsys, tmp_path: Any) -> None:
    fake = served.fake
    company = str(fake.company_id)
    body = tmp_path / "insurance.json"
    body.write_text('{"insurance": {"name": "Liability", "vendor_id": 7}}')
    base = f"companies/{company}/insurances"
    assert main(_cli(served, "post", base, "--company-id", company, "--body", f"@{body}")) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["name"] == "Liability"
    path = f"{base}/{created['id']}"
    patch = '{"insurance": {"name": "Auto"}}'
    assert main(_cli(served, "patch", path, "--company-id", company, "--body", patch)) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Auto"
    assert main(_cli(served, "delete", path, "--company-id", company)) == 0
    assert json.loads(capsys.readouterr().out) == {}
    assert fake.records(fake.company_id, "insurances") == []
    # PUT: Procore has it on a few operations, drawing disciplines among them.
    project = fake.records(fake.company_id, "projects")[0]["id"]
    discipline = fake.add_records(fake.company_id, "drawing_disciplines", project_id=project)[0]
    put = f"projects/{project}/drawing_disciplines/{discipline['id']}"
    renamed = '{"drawing_discipline": {"name": "Structural"}}'
    assert main(_cli(served, "put", put, "--company-id", company, "--body", renamed)) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Structural"


def test_api_errors_are_one_typed_line_and_exit_1(served: Any, capsys: Capsys) -> None:
    company = str(served.fake.company_id)
    query = f"company_id={company}"
    argv = _cli(served, "get", "projects/999999", "--company-id", company, "--query", query)
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("procore-async: error: NotFoundError: 404 Not Found: GET ")
    assert "request id" in lines[0]
    assert "Traceback" not in err

    body = f'{{"company_id": {company}, "vendor": {{"name": ""}}}}'
    argv = _cli(served, "post", "vendors", "--company-id", company, "--body", body)
    assert main(argv) == 1
    assert "InvalidRequestError: 422" in capsys.readouterr().err


def test_a_user_command_without_a_saved_token_says_to_log_in(served: Any, capsys: Capsys) -> None:
    assert main(_cli(served, "get", "me", client_credentials=False)) == 1
    err = capsys.readouterr().err
    assert "MissingTokenError" in err
    assert "run 'procore-async login' or pass --client-credentials" in err
    assert "exchange_code" not in err and "grant_type" not in err  # no Python advice
    assert err.count("\n") == 1


def test_paginate_streams_ndjson(served: Any, capsys: Capsys) -> None:
    company = str(served.fake.company_id)
    argv = _cli(
        served, "paginate", "projects", "--company-id", company,
        "--query", f"company_id={company}", "--per-page", "7",
    )  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    items = [json.loads(line) for line in lines]
    assert len(items) == 30
    assert len({item["id"] for item in items}) == 30
    assert served.fake.stats.by_path["/rest/v1.0/projects"] == 5  # ceil(30 / 7) pages

    assert main([*argv, "--max-items", "10"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 10


def test_the_client_credentials_token_is_cached_in_the_store(served: Any, capsys: Capsys) -> None:
    company = str(served.fake.company_id)
    for _ in range(2):
        assert main(_cli(served, "get", "companies", "--company-id", company)) == 0
    capsys.readouterr()
    assert served.fake.stats.token_grants["client_credentials"] == 1
    assert served.store.stat().st_mode & 0o777 == 0o600


def test_subprocess_get_and_bad_flag(served: Any, run_cli: Any) -> None:
    company = str(served.fake.company_id)
    env = served.env()
    done = run_cli("get", "companies", "--client-credentials", "--company-id", company, env=env)
    assert done.returncode == 0, done.stderr
    assert any(c["id"] == served.fake.company_id for c in json.loads(done.stdout))

    bad = run_cli("get", "companies", "--frobnicate", env=env)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1
    assert "unrecognized arguments: --frobnicate" in bad.stderr
    assert "Traceback" not in bad.stderr
