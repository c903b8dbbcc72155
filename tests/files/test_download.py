"""client.download: redirects without the token, Range resume, checksums, atomic rename."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import respx

from procore_async import AsyncClient, Config, InvalidRequestError
from procore_async.files import ChecksumMismatchError, DownloadError, IssuedURL
from procore_async.testing import FakeProcore

API = "https://api.procore.com"
STORAGE = "https://s3.example.test/bucket/key?X-Amz-Signature=abc"
BODY = bytes(range(256)) * 400


@respx.mock
async def test_api_path_redirect_is_followed_without_the_bearer_token(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    api = respx.get(f"{API}/rest/v1.0/files/7/download").mock(
        return_value=httpx.Response(302, headers={"Location": STORAGE})
    )
    storage = respx.get(STORAGE).mock(return_value=httpx.Response(200, content=BODY))
    client = make_client()
    out = tmp_path / "f.bin"
    done = await client.download("files/7/download", out, company_id=8)
    assert out.read_bytes() == BODY and done.size == len(BODY)
    assert api.calls.last.request.headers["authorization"] == "Bearer token"
    assert api.calls.last.request.headers["procore-company-id"] == "8"
    assert "authorization" not in storage.calls.last.request.headers
    assert not done.verified  # storage declared no checksum


@respx.mock
async def test_an_api_path_that_does_not_redirect_is_an_error(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    respx.get(f"{API}/rest/v1.0/files/7").mock(return_value=httpx.Response(200, json={}))
    with pytest.raises(DownloadError, match="not a redirect"):
        await make_client().download("files/7", tmp_path / "x")


@respx.mock
async def test_resume_sends_only_the_rest(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    out = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(BODY[:1000])
    sha = hashlib.sha256(BODY).hexdigest()
    route = respx.get(STORAGE).mock(
        return_value=httpx.Response(
            206,
            content=BODY[1000:],
            headers={
                "Content-Range": f"bytes 1000-{len(BODY) - 1}/{len(BODY)}",
                "x-amz-meta-sha256": sha,
            },
        )
    )
    seen: list[tuple[int, int | None]] = []
    done = await make_client().download(STORAGE, out, on_progress=lambda d, t: seen.append((d, t)))
    assert route.calls.last.request.headers["range"] == "bytes=1000-"
    assert out.read_bytes() == BODY
    assert done.resumed_from == 1000 and done.verified and done.sha256 == sha
    assert seen[-1] == (len(BODY), len(BODY))


@respx.mock
async def test_server_ignoring_range_restarts_cleanly(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    out = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes")
    respx.get(STORAGE).mock(return_value=httpx.Response(200, content=BODY))
    await make_client().download(STORAGE, out)
    assert out.read_bytes() == BODY


@respx.mock
async def test_resume_false_starts_over(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    (tmp_path / "f.bin.part").write_bytes(BODY[:10])
    route = respx.get(STORAGE).mock(return_value=httpx.Response(200, content=BODY))
    await make_client().download(STORAGE, tmp_path / "f.bin", resume=False)
    assert "range" not in route.calls.last.request.headers


@respx.mock
async def test_checksum_mismatch_is_typed_and_leaves_nothing(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    respx.get(STORAGE).mock(
        return_value=httpx.Response(200, content=BODY, headers={"x-amz-meta-sha256": "0" * 64})
    )
    out = tmp_path / "f.bin"
    with pytest.raises(ChecksumMismatchError):
        await make_client().download(STORAGE, out)
    assert not out.exists() and not (tmp_path / "f.bin.part").exists()
    with pytest.raises(ChecksumMismatchError):
        await make_client().download(IssuedURL(STORAGE), out, sha256="1" * 64)


@respx.mock
async def test_storage_refusal_is_a_download_error(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    respx.get(STORAGE).mock(return_value=httpx.Response(403, text="<Error>AccessDenied</Error>"))
    with pytest.raises(DownloadError, match="refused"):
        await make_client().download(STORAGE, tmp_path / "f.bin")


@respx.mock
async def test_cut_off_body_is_resumed_within_the_call(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    calls: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("range"))
        if len(calls) == 1:
            # Announces the whole body, delivers half: the connection "drops".
            return httpx.Response(
                200, headers={"Content-Length": str(len(BODY))}, content=BODY[: len(BODY) // 2]
            )
        start = int(request.headers["range"][6:-1])
        return httpx.Response(
            206,
            content=BODY[start:],
            headers={"Content-Range": f"bytes {start}-{len(BODY) - 1}/{len(BODY)}"},
        )

    respx.get(STORAGE).mock(side_effect=answer)
    client = make_client(config=Config(max_retries=2))
    out = tmp_path / "f.bin"
    await client.download(STORAGE, out)
    assert out.read_bytes() == BODY
    assert calls == [None, f"bytes={len(BODY) // 2}-"]


async def test_bad_input_fails_before_any_io(
    make_client: Callable[..., AsyncClient], tmp_path: Path
) -> None:
    client = make_client()
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with respx.mock(assert_all_called=False) as mock:
        for target, dest, match in [
            ("", tmp_path / "x", "needs a URL"),
            (42, tmp_path / "x", "not int"),
            ({"name": "no url"}, tmp_path / "x", "file version"),
            (STORAGE, tmp_path, "is a directory"),
            (STORAGE, tmp_path / "missing" / "x", "no such directory"),
            *([] if os.geteuid() == 0 else [(STORAGE, locked / "x", "cannot write")]),
        ]:
            with pytest.raises(InvalidRequestError, match=match):
                await client.download(target, dest)
        assert not mock.calls


async def test_download_from_the_fake_documents(
    fake: FakeProcore,
    client: AsyncClient,
    project_id: int,
    make_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    path = make_file(3 * 1024 * 1024 + 1)
    folder = await client.documents.create_folder(
        project_id, "Drawings", company_id=fake.company_id
    )
    record = await client.documents.upload_file(
        project_id, folder["id"], path, company_id=fake.company_id, description="rev A"
    )
    assert record["parent_id"] == folder["id"] and record["description"] == "rev A"
    out = tmp_path / "out.bin"
    done = await client.download(record["file_versions"][0], out)
    assert done.verified and out.read_bytes() == path.read_bytes()
    assert not any(r.authorization for r in fake.storage.requests)


def test_upload_and_download_run_under_trio(tmp_path: Path) -> None:
    pytest.importorskip("trio")
    import anyio

    async def scenario() -> None:
        fake = FakeProcore(projects=1)
        path = tmp_path / "a.bin"
        path.write_bytes(bytes(range(256)) * 45_000)
        async with fake.client() as client:
            upload = await client.upload(path, company_id=fake.company_id, segment_size=5 * 2**20)
            assert upload.segments == 3
            async with await anyio.open_file(path, "rb") as handle:
                again = await client.upload(handle, company_id=fake.company_id)
            out = tmp_path / "out.bin"
            done = await client.download(fake.storage.object_url(again.id), out)
        assert fake.upload_content(upload.id) == path.read_bytes()
        assert done.verified and out.read_bytes() == path.read_bytes()

    anyio.run(scenario, backend="trio")


def test_issued_urls_never_show_their_signature_or_header_values() -> None:
    from procore_async.files._legs import RequestSpec

    issued = IssuedURL("https://s3.example.test/k?X-Amz-Signature=s3cr3t", {"x-amz-key": "v4lue"})
    spec = RequestSpec.storage("PUT", issued, content=b"payload")
    for text in (repr(issued), repr(spec), str(spec)):
        assert "s3cr3t" not in text and "v4lue" not in text and "payload" not in text
    assert "x-amz-key" in repr(issued)
