"""End to end: a 64 MiB generated file through storage faults, in process and over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from procore_async import Config
from procore_async.testing import FakeProcore, serving

MiB = 1024 * 1024
_KINDS = ("500", "502", "503", "429", "drop_before", "drop_after", "expired", "slow")


def _check_arrived(fake: FakeProcore, upload_id: str, path: Path) -> None:
    arrived = fake.upload_content(upload_id)
    assert len(arrived) == path.stat().st_size
    assert hashlib.sha256(arrived).digest() == hashlib.sha256(path.read_bytes()).digest()
    assert fake.storage.requests, "nothing reached storage"
    assert not any(r.authorization for r in fake.storage.requests)


@pytest.mark.slow
async def test_64_mib_under_storage_faults_in_process(
    make_file: Callable[..., Path], tmp_path: Path
) -> None:
    fake = FakeProcore(projects=1, seed=5)
    project = fake.records(fake.company_id, "projects")[0]["id"]
    path = make_file(64 * MiB + 3, "site-video.mp4")
    fake.faults(error_rate=0.25, kinds=_KINDS, seed=21)
    config = Config(retry_backoff=0.001, max_retry_wait=1.0, max_retries=10)
    async with fake.client(config=config) as client:
        upload = await client.upload(
            path, company_id=fake.company_id, project_id=project, concurrency=4
        )
        assert upload.segments == 9 and upload.status == "available"
        _check_arrived(fake, upload.id, path)
        assert sum(fake.storage.log.faults.values()) >= 2
        record = await client.documents.upload_file(
            project, None, path, company_id=fake.company_id, name="video.mp4"
        )
        out = tmp_path / "back.mp4"
        done = await client.download(record["file_versions"][0], out)
    assert done.verified and done.size == path.stat().st_size
    assert out.read_bytes() == path.read_bytes()
    assert not (tmp_path / "back.mp4.part").exists()


@pytest.mark.slow
async def test_64_mib_under_storage_faults_over_real_http(
    make_file: Callable[..., Path], tmp_path: Path
) -> None:
    fake = FakeProcore(projects=1, seed=6)
    project = fake.records(fake.company_id, "projects")[0]["id"]
    path = make_file(64 * MiB, "drawing-set.pdf")
    async with serving(fake) as api, serving(fake) as storage:
        fake.storage.origin = storage  # a second socket: storage is another origin
        fake.faults(error_rate=0.2, kinds=_KINDS, seed=8, oauth=False)
        config = Config(
            host=api, login_host=api, retry_backoff=0.001, max_retry_wait=1.0, max_retries=10
        )
        from procore_async import AsyncClient

        async with AsyncClient(
            fake.client_id, fake.client_secret, config=config, grant_type="client_credentials"
        ) as client:
            upload = await client.upload(
                path, company_id=fake.company_id, project_id=project, segment_size=16 * MiB
            )
            _check_arrived(fake, upload.id, path)
            record = await client.documents.upload_file(
                project, None, path, company_id=fake.company_id, segment_size=32 * MiB
            )
            version = record["file_versions"][0]
            assert version["url"].startswith(storage)
            out = tmp_path / "copy.pdf"
            done = await client.download(version, out)
    assert done.verified
    assert out.read_bytes() == path.read_bytes()


async def test_serve_puts_storage_on_a_second_socket(make_file: Callable[..., Path]) -> None:
    import socket

    import anyio
    import httpx

    from procore_async import AsyncClient
    from procore_async.testing import serve

    def free() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port

    fake = FakeProcore(projects=1)
    api_port, storage_port = free(), free()
    api = f"http://127.0.0.1:{api_port}"
    path = make_file(6 * MiB)
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(
                fake, "127.0.0.1", api_port, log_level="warning", storage_port=storage_port
            )
        )
        with anyio.fail_after(10):
            while True:
                try:
                    async with httpx.AsyncClient() as probe:
                        await probe.get(f"{api}/rest/v1.0/me")
                    break
                except httpx.TransportError:
                    await anyio.sleep(0.05)
        assert fake.storage.origin == f"http://127.0.0.1:{storage_port}"
        config = Config(host=api, login_host=api)
        async with AsyncClient(
            fake.client_id, fake.client_secret, config=config, grant_type="client_credentials"
        ) as client:
            upload = await client.upload(path, company_id=fake.company_id)
        tg.cancel_scope.cancel()
    _check_arrived(fake, upload.id, path)
