"""``procore-async fake-server``: strict unless --lenient, a port clear of uvicorn's, --redirect-uri."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from procore_async.cli import main
from procore_async.cli._app import build_parser
from procore_async.cli._serve import build_fake
from procore_async.testing._server import DEFAULT_PORT

ROOT = Path(__file__).resolve().parents[2]


def test_fake_server_is_strict_unless_lenient() -> None:
    parser = build_parser()
    strict = build_fake(parser.parse_args(["fake-server", "--seed", "1"]))
    lenient = build_fake(parser.parse_args(["fake-server", "--lenient", "--spike-limit", "5"]))
    assert (strict.strict, lenient.strict) == (True, False)


def test_the_redirect_uri_reaches_the_fake() -> None:
    args = build_parser().parse_args(["fake-server", "--redirect-uri", "http://127.0.0.1:8000/cb"])
    assert build_fake(args).redirect_uri == "http://127.0.0.1:8000/cb"


def test_the_default_port_is_neither_uvicorns_nor_logins() -> None:
    args = build_parser().parse_args(["fake-server"])
    assert args.port == DEFAULT_PORT == 8070
    assert args.redirect_uri is None


def test_a_redirect_uri_that_is_not_http_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["fake-server", "--redirect-uri", "myapp://callback"]) == 2
    assert "--redirect-uri must be an http(s) URL" in capsys.readouterr().err


def test_authorize_redirects_to_the_given_redirect_uri(tmp_path: Path) -> None:
    # Two free ports: the API's and the storage origin's (by default the next port,
    # which another server of the suite may hold).
    with socket.socket() as sock, socket.socket() as other:
        sock.bind(("127.0.0.1", 0))
        other.bind(("127.0.0.1", 0))
        port, storage_port = sock.getsockname()[1], other.getsockname()[1]
    callback = "http://127.0.0.1:8000/callback"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "procore_async", "fake-server", "--port", str(port),
         "--storage-port", str(storage_port), "--redirect-uri", callback],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(
                    f"{base}/oauth/authorize",
                    params={"response_type": "code", "client_id": "fake-client-id",
                            "redirect_uri": callback, "state": "s1"},
                )  # fmt: skip
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.1)
        assert answer.status_code == 302
        target = urlsplit(answer.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == callback
        assert parse_qs(target.query)["state"] == ["s1"]
        printed = (tmp_path / "server.log").read_text()
        assert f"PROCORE_HOST={base}" in printed
        assert f"PROCORE_REDIRECT_URI={callback}" in printed
        assert "PROCORE_COMPANY_ID=8089" in printed
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
