"""Fixtures for the files tests: a fake with storage, a fast-retrying client, test files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from procore_async import AsyncClient, Config
from procore_async.testing import FakeProcore

MiB = 1024 * 1024


@pytest.fixture
def fake() -> FakeProcore:
    return FakeProcore(projects=3, seed=11)


@pytest.fixture
def project_id(fake: FakeProcore) -> int:
    return int(fake.records(fake.company_id, "projects")[0]["id"])


@pytest.fixture
async def client(fake: FakeProcore) -> AsyncIterator[AsyncClient]:
    """A client on the fake whose retries do not sleep for seconds."""
    config = Config(retry_backoff=0.001, max_retry_wait=1.0, max_retries=8)
    async with fake.client(config=config) as client:
        yield client


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[..., Path]:
    """Write ``size`` pseudo-random bytes (seeded by ``seed``) to a file under tmp_path."""

    def make(size: int, name: str = "data.bin", seed: int = 1) -> Path:
        path = tmp_path / name
        with open(path, "wb") as handle:
            block = bytes((seed * 31 + i) % 251 for i in range(251))
            # A repeating block alone would let a wrong offset go unnoticed: every MiB
            # starts with its own position.
            written = 0
            while written < size:
                chunk = min(MiB, size - written)
                prefix = written.to_bytes(8, "big")
                data = (prefix + block * (chunk // len(block) + 1))[:chunk]
                handle.write(data)
                written += chunk
        return path

    return make
