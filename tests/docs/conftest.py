"""A ``procore-async fake-server`` in its own process, for doc programs using ``from_env``.

Started on a free port the first time a block needs it, stopped at the end of the
session; the programs reach it only through ``PROCORE_*`` variables, as a reader's
shell would after ``procore-async fake-server`` printed them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fake-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"fake-server did not listen on {port} within {seconds} s")


def child_env(**extra: str) -> dict[str, str]:
    """A reader's environment: no PROCORE_* or pytest settings of ours, this tree first,
    and a dead proxy for every non-loopback host, so a block that reaches for the
    network fails instead of talking to the real Procore."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PROCORE_", "PYTEST_", "COV_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def fake_server_env() -> Iterator[dict[str, str]]:
    """The PROCORE_* variables pointing at a fake-server started for this session."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "procore_async",
            "fake-server",
            "--port",
            str(port),
            "--storage-port",
            str(free_port()),
        ],  # not port + 1, which may be taken
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        url = f"http://127.0.0.1:{port}"
        yield {
            "PROCORE_HOST": url,
            "PROCORE_LOGIN_HOST": url,
            "PROCORE_CLIENT_ID": "fake-client-id",
            "PROCORE_CLIENT_SECRET": "fake-client-secret",
            "PROCORE_COMPANY_ID": "8089",
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
