"""``procore-async webhooks ...`` against FakeProcore over HTTP, and ``listen`` for real.

The fake delivers over a real socket to a ``procore-async listen`` process, which
prints the event: the whole loop a developer tries from a shell.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from procore_async.cli import main

from .conftest import free_port

Capsys = pytest.CaptureFixture[str]
SECRET = "Bearer cli-listen-secret"


def _wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("listen did not start")


def _read_line(proc: subprocess.Popen[str], timeout: float = 20) -> str:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        assert sel.select(timeout), "no event printed"
    return proc.stdout.readline()


@pytest.mark.slow
def test_ensure_list_deliveries_and_listen(
    served: Any, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    env = {**os.environ, "PROCORE_WEBHOOK_AUTHORIZATION": SECRET, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "procore_async", "listen", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_for_port(port, proc)
        refused = httpx.post(f"http://127.0.0.1:{port}/", json={}, headers={"Authorization": "x"})
        assert refused.status_code == 401

        monkeypatch.setenv("PROCORE_WEBHOOK_AUTHORIZATION", SECRET)
        company = str(served.fake.company_id)
        common = [*served.flags(), "--company-id", company]
        argv = ["webhooks", "ensure", "--namespace", "cli-try", "--url"]
        argv += [f"http://127.0.0.1:{port}/", "--trigger", "Vendors:create", *common]
        assert main(argv) == 0
        made = json.loads(capsys.readouterr().out)
        assert made["created_hook"] and made["created_triggers"] == [["Vendors", "create"]]
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out)["changed"] is False

        assert main(["webhooks", "list", *common]) == 0
        (listed,) = json.loads(capsys.readouterr().out)
        assert listed["triggers"] == [["Vendors", "create"]]

        body = json.dumps(
            {"company_id": served.fake.company_id, "vendor": {"name": "Shell Vendor"}}
        )
        assert main(["post", "vendors", "--body", body, *common]) == 0
        vendor = json.loads(capsys.readouterr().out)
        printed = json.loads(_read_line(proc))
        assert printed["resource_name"] == "Vendors" and printed["event_type"] == "create"
        assert printed["resource_id"] == vendor["id"]

        hook = str(made["hook"]["id"])
        assert main(["webhooks", "deliveries", hook, "--status", "delivered", *common]) == 0
        (line,) = capsys.readouterr().out.splitlines()
        assert json.loads(line)["status"] == "delivered"
    finally:
        proc.terminate()
        proc.wait(15)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode in (0, -15)


def test_bad_trigger_and_missing_company_are_usage_errors(served: Any, capsys: Capsys) -> None:
    argv = ["webhooks", "ensure", "--namespace", "x", "--url", "https://e.test"]
    assert main([*argv, "--trigger", "RFIs", *served.flags(), "--company-id", "1"]) == 2
    assert "RESOURCE:EVENT" in capsys.readouterr().err
    assert main(["webhooks", "list", *served.flags()]) == 2
    assert "--company-id" in capsys.readouterr().err
    bad = [*argv, "--trigger", "RFIs:create", "--payload-version", "v9"]
    assert main([*bad, *served.flags(), "--company-id", str(served.fake.company_id)]) == 2
    assert "payload_version" in capsys.readouterr().err
