"""``procore-async upload`` and ``download`` against FakeProcore over real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from procore_async.cli import main
from procore_async.testing import serving

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def storage(served: Any) -> Iterator[str]:
    """The fake's storage origin on a socket of its own."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serving(served.fake)) as url,
    ):
        served.fake.storage.origin = url
        yield url


def _project(served: Any) -> str:
    return str(served.fake.records(served.fake.company_id, "projects")[0]["id"])


def test_upload_then_download(served: Any, storage: str, tmp_path: Path, capsys: Capsys) -> None:
    fake = served.fake
    source = tmp_path / "plan.pdf"
    source.write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 3000)
    company = ["--company-id", str(fake.company_id)]
    assert (
        main(["upload", str(source), "--project", _project(served), *company, *served.flags()]) == 0
    )
    out, _ = capsys.readouterr()
    upload = json.loads(out)
    assert upload["status"] == "available" and upload["size"] == source.stat().st_size
    assert fake.upload_content(upload["upload_id"]) == source.read_bytes()

    assert (
        main(
            [
                "upload",
                str(source),
                "--project",
                _project(served),
                "--folder",
                "root",
                "--name",
                "Plan A.pdf",
                *company,
                *served.flags(),
            ]
        )
        == 0
    )
    out, _ = capsys.readouterr()
    record = json.loads(out)
    assert record["name"] == "Plan A.pdf"
    url = record["file_versions"][0]["url"]
    assert url.startswith(storage)

    dest = tmp_path / "copy.pdf"
    assert main(["download", url, str(dest), *served.flags()]) == 0
    _, err = capsys.readouterr()
    assert dest.read_bytes() == source.read_bytes()
    assert "sha256 verified" in err
    assert not any(r.authorization for r in fake.storage.requests)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--project", "abc"], "--project must be a numeric"),
        (["--project", "1", "--folder", "x"], "--folder must be"),
        (["--project", "1", "--concurrency", "0"], "--concurrency must be positive"),
        (["--project", "1"], "need a company"),
    ],
)
def test_upload_usage_errors(
    served: Any, tmp_path: Path, capsys: Capsys, extra: list[str], message: str
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(b"x")
    assert main(["upload", str(source), *extra, *served.flags()]) == 2
    assert message in capsys.readouterr().err
    assert served.fake.stats.requests == 0


def test_upload_missing_file_is_a_usage_error(served: Any, tmp_path: Path, capsys: Capsys) -> None:
    argv = ["upload", str(tmp_path / "nope"), "--project", "1", "--company-id", "8089"]
    assert main([*argv, *served.flags()]) == 2
    assert "no such file" in capsys.readouterr().err
