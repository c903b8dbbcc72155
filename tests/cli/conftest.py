"""Fixtures for the command-line tests: a clean environment and FakeProcore on a real port.

``main()`` runs its own event loop, so the fake cannot share it: it is served by uvicorn
on an anyio blocking portal (an event loop in a thread) for the duration of a test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from procore_async.testing import FakeProcore, serving


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PROCORE_* variable leaks in from the developer's shell; config goes to tmp."""
    for name in list(os.environ):
        if name.startswith("PROCORE_"):
            monkeypatch.delenv(name)
    config_home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    # rich wraps to the terminal width; a wide fixed one keeps assertions on whole lines.
    monkeypatch.setenv("COLUMNS", "200")
    return config_home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    """A FakeProcore on a real socket, and the flags that point the CLI at it."""

    fake: FakeProcore
    url: str
    callback_port: int
    store: Path

    def flags(self, *, client_credentials: bool = True) -> list[str]:
        flags = [
            "--host",
            self.url,
            "--login-host",
            self.url,
            "--client-id",
            self.fake.client_id,
            "--client-secret",
            self.fake.client_secret,
            "--store",
            str(self.store),
            "--max-retries",
            "0",
        ]
        return [*flags, "--client-credentials"] if client_credentials else flags

    def env(self) -> dict[str, str]:
        """The same settings as PROCORE_* variables, for subprocess runs."""
        return {
            **os.environ,
            "PROCORE_HOST": self.url,
            "PROCORE_LOGIN_HOST": self.url,
            "PROCORE_CLIENT_ID": self.fake.client_id,
            "PROCORE_CLIENT_SECRET": self.fake.client_secret,
            "PROCORE_TOKEN_STORE": str(self.store),
        }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    fake = FakeProcore(redirect_uri=f"http://127.0.0.1:{port}/callback", projects=30, seed=3)
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serving(fake)) as url,
    ):
        yield Served(fake, url, port, tmp_path / "tokens.json")


RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_cli() -> RunCli:
    """``run_cli(*args, env=None, stdin="")``: ``python -m procore_async ARGS``, in a new process."""

    def run(
        *args: str, env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "procore_async", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    return run
