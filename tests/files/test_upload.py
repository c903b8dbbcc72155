"""client.upload against FakeProcore in process: the flow, its rules, its failures."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

import procore_async
from procore_async import AsyncClient, InvalidRequestError
from procore_async.files import ChecksumMismatchError, Upload, UploadError
from procore_async.testing import FakeProcore

MiB = 1024 * 1024
#: What Procore's catalog requires of an RFI create (the strict fake checks it).
RFI = {"subject": "Door hardware", "question": "Which closer?", "rfi_manager_id": 5447}


async def test_small_file_is_one_segment_and_arrives_intact(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(123_457, "report.pdf")
    upload = await client.upload(path, company_id=fake.company_id, project_id=project_id)
    data = path.read_bytes()
    assert isinstance(upload, Upload)
    assert upload.api_version == "v2.1"
    assert upload.status == "available"
    assert upload.size == len(data)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    assert upload.segments == 1
    assert upload.file_name == "report.pdf"
    assert upload.content_type == "application/pdf"
    assert upload.uuid == upload.id == str(upload)
    assert fake.upload_content(upload.id) == data


async def test_segments_are_sent_concurrently_and_reassembled_in_order(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(23 * MiB + 17)
    seen: list[tuple[int, int]] = []
    upload = await client.upload(
        path,
        company_id=fake.company_id,
        project_id=project_id,
        segment_size=5 * MiB,
        concurrency=3,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert upload.segments == 5
    assert fake.upload_content(upload.id) == path.read_bytes()
    assert [total for _, total in seen] == [upload.size] * 5
    assert seen[-1][0] == upload.size
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    puts = [r for r in fake.storage.requests if r.method == "PUT"]
    assert len(puts) == 5
    assert not any(r.authorization for r in fake.storage.requests)


async def test_company_level_upload_without_a_project(
    client: AsyncClient, fake: FakeProcore, make_file: Callable[..., Path]
) -> None:
    path = make_file(1000)
    upload = await client.upload(path, company_id=fake.company_id)
    assert upload.project_id is None
    assert fake.upload_content(upload.id) == path.read_bytes()


async def test_v11_segmented_upload(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(11 * MiB)
    upload = await client.upload(
        path,
        company_id=fake.company_id,
        project_id=project_id,
        api_version="v1.1",
        segment_size=5 * MiB,
    )
    assert upload.api_version == "v1.1"
    assert upload.status == "complete"
    assert upload.segments == 3
    assert fake.upload_content(upload.id) == path.read_bytes()
    # v1.1 storage headers (x-amz-content-sha256, content-md5) were sent and checked.
    assert fake.storage.log.by_status[200] == 3


async def test_falls_back_to_v11_when_v21_is_not_there(
    client: AsyncClient,
    fake: FakeProcore,
    project_id: int,
    make_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files_api = fake._files
    original = files_api.handle

    def without_v21(request):  # type: ignore[no-untyped-def]
        if request.path.startswith("/rest/v2.1/"):
            from procore_async.testing._http import json_reply

            return json_reply(404, {"errors": "Not Found"})
        return original(request)

    monkeypatch.setattr(files_api, "handle", without_v21)
    path = make_file(4096)
    upload = await client.upload(path, company_id=fake.company_id, project_id=project_id)
    assert upload.api_version == "v1.1"
    assert fake.upload_content(upload.id) == path.read_bytes()
    with pytest.raises(procore_async.NotFoundError):
        await client.upload(
            path, company_id=fake.company_id, project_id=project_id, api_version="v2.1"
        )


async def test_sync_and_async_file_objects(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(6 * MiB + 5)
    data = path.read_bytes()
    up = await client.upload(
        io.BytesIO(data),
        company_id=fake.company_id,
        filename="memory.bin",
        segment_size=5 * MiB,
    )
    assert up.file_name == "memory.bin"
    assert fake.upload_content(up.id) == data
    async with await anyio.open_file(path, "rb") as handle:
        up = await client.upload(handle, company_id=fake.company_id, segment_size=5 * MiB)
    assert up.file_name == "data.bin"
    assert fake.upload_content(up.id) == data
    with open(path, "rb") as sync_handle:
        up = await client.upload(sync_handle, company_id=fake.company_id, project_id=project_id)
    assert fake.upload_content(up.id) == data


async def test_upload_ids_attach_in_any_body_and_are_checked(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(2048)
    upload = await client.upload(path, company_id=fake.company_id, project_id=project_id)
    rfi = await client.post(
        f"projects/{project_id}/rfis",
        body={"rfi": {**RFI, "upload_ids": [upload.id]}},
        company_id=fake.company_id,
    )
    assert rfi.body["upload_ids"] == [upload.id]
    assert fake.storage.uploads.uploads[upload.id].attached
    with pytest.raises(InvalidRequestError, match="does not exist"):
        await client.post(
            f"projects/{project_id}/rfis",
            body={"rfi": {**RFI, "upload_id": "01NOPE"}},
            company_id=fake.company_id,
        )


async def test_only_the_creating_user_may_use_an_upload(
    fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(2048)
    async with fake.client() as service:
        upload = await service.upload(path, company_id=fake.company_id, project_id=project_id)
    from procore_async.stores import MemoryStore

    store = MemoryStore()
    await store.save(fake.issue_token())
    async with fake.client(store=store, grant_type="refresh_token") as user:
        with pytest.raises(InvalidRequestError, match="another user"):
            await user.post(
                f"projects/{project_id}/rfis",
                body={"rfi": {**RFI, "upload_id": upload.id}},
                company_id=fake.company_id,
            )
        with pytest.raises(procore_async.ForbiddenError):
            await user.get(
                f"companies/{fake.company_id}/projects/{project_id}/uploads/{upload.id}",
                version="v2.1",
                company_id=fake.company_id,
            )


async def test_expired_url_mid_upload_is_renewed(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(16 * MiB)
    # A third of storage requests are refused as expired: each refused segment asks
    # Procore again for fresh URLs (one GET for every segment refused at once).
    fake.faults(error_rate=0.3, kinds=("expired",), seed=1, oauth=False)
    upload = await client.upload(
        path, company_id=fake.company_id, project_id=project_id, segment_size=5 * MiB
    )
    assert fake.upload_content(upload.id) == path.read_bytes()
    assert fake.storage.log.faults["expired"] >= 1
    renewals = fake.stats.by_path[
        f"/rest/v2.1/companies/{fake.company_id}/projects/{project_id}/uploads/{upload.id}"
    ]
    assert renewals >= 1  # GETs for fresh URLs (plus the availability poll)


async def test_url_expired_before_sending_is_renewed_without_a_refusal(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    fake.storage.url_lifetime = 2.0  # shorter than the client's 5 s renewal margin
    path = make_file(4096)
    upload = await client.upload(path, company_id=fake.company_id, project_id=project_id)
    assert fake.upload_content(upload.id) == path.read_bytes()
    assert fake.storage.log.by_status[403] == 0


async def test_bad_sha256_is_refused_by_storage_as_a_typed_error(
    client: AsyncClient,
    fake: FakeProcore,
    project_id: int,
    make_file: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = make_file(7 * MiB)
    from procore_async.files import _plan

    real = _plan.plan_upload

    async def lying_plan(*args, **kwargs):  # type: ignore[no-untyped-def]
        plan = await real(*args, **kwargs)
        wrong = _plan.Segment(0, 0, plan.segments[0].size, "0" * 64, plan.segments[0].md5)
        return _plan.Plan(
            plan.name,
            plan.size,
            plan.content_type,
            plan.segment_size,
            (wrong, *plan.segments[1:]),
            plan.sha256,
        )

    monkeypatch.setattr("procore_async.files._upload.plan_upload", lying_plan)
    with pytest.raises(ChecksumMismatchError, match="segment 1 of 2") as caught:
        await client.upload(path, company_id=fake.company_id, segment_size=5 * MiB)
    assert isinstance(caught.value, UploadError)
    assert caught.value.upload_id
    assert caught.value.response is not None and caught.value.response.status_code == 400


async def test_file_that_shrinks_during_upload_is_a_typed_error(
    client: AsyncClient, fake: FakeProcore, make_file: Callable[..., Path]
) -> None:
    path = make_file(10 * MiB)
    data = path.read_bytes()

    class Shrinking(io.BytesIO):
        reads = 0

        def read(self, size: int | None = -1) -> bytes:
            self.reads += 1
            chunk = super().read(size)
            # Planning reads 3 chunks; afterwards the file "loses" its tail.
            return chunk[: len(chunk) // 2] if self.reads > 3 else chunk

    with pytest.raises(InvalidRequestError, match="changed while it was being uploaded"):
        await client.upload(Shrinking(data), company_id=fake.company_id, segment_size=5 * MiB)


async def test_cancelled_upload_leaves_nothing_that_blocks_a_retry(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    path = make_file(12 * MiB)
    fake.faults(latency=0.2, seed=1, oauth=False)
    with anyio.move_on_after(0.3):
        await client.upload(path, company_id=fake.company_id, segment_size=5 * MiB)
    fake.faults()
    upload = await client.upload(path, company_id=fake.company_id, segment_size=5 * MiB)
    assert fake.upload_content(upload.id) == path.read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"segment_size": 5 * MiB - 1}, "between"),
        ({"segment_size": 100 * MiB + 1}, "between"),
        ({"segment_size": "big"}, "must be an int"),
        ({"company_id": None}, "company_id"),
        ({"company_id": "acme"}, "company_id"),
        ({"project_id": -3}, "project_id"),
        ({"concurrency": 0}, "concurrency"),
        ({"api_version": "v3.0"}, "api_version"),
        ({"on_progress": 42}, "on_progress"),
    ],
)
async def test_bad_arguments_fail_before_any_io(
    client: AsyncClient,
    fake: FakeProcore,
    make_file: Callable[..., Path],
    kwargs: dict[str, object],
    match: str,
) -> None:
    path = make_file(100)
    args: dict[str, object] = {"company_id": fake.company_id, **kwargs}
    with pytest.raises(InvalidRequestError, match=match):
        await client.upload(path, **args)  # type: ignore[arg-type]
    assert fake.stats.requests == 0
    assert fake.storage.requests == []


async def test_bad_sources_fail_before_any_io(
    client: AsyncClient, fake: FakeProcore, tmp_path: Path, make_file: Callable[..., Path]
) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    unreadable = make_file(10, "secret.bin")
    unreadable.chmod(0)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cases: list[tuple[object, str]] = [
        (tmp_path / "missing.bin", "no such file"),
        (tmp_path, "is a directory"),
        (empty, "is empty"),
        (io.BytesIO(b""), "is empty"),
        (b"raw bytes", "not bytes"),
        (12, "must be a path"),
    ]
    import os

    if os.geteuid() != 0:  # root reads anything
        cases.append((unreadable, "cannot read"))
    for source, match in cases:
        with pytest.raises(InvalidRequestError, match=match):
            await client.upload(source, company_id=fake.company_id)  # type: ignore[arg-type]
    with open(text) as handle, pytest.raises(InvalidRequestError, match="binary mode"):
        await client.upload(handle, company_id=fake.company_id)  # type: ignore[arg-type]
    assert fake.stats.requests == 0
    assert fake.storage.requests == []


async def test_too_many_parts_for_the_chosen_segment_size(
    client: AsyncClient, fake: FakeProcore
) -> None:
    from procore_async.files._plan import choose_segment_size

    assert choose_segment_size(10, None) == 8 * MiB
    # 10,000 parts of 8 MiB do not hold 100 GiB: the default grows, whole MiB.
    grown = choose_segment_size(100 * 1024 * MiB, None)
    assert grown % MiB == 0 and -(-100 * 1024 * MiB // grown) <= 10_000
    with pytest.raises(InvalidRequestError, match="more than 10000 parts"):
        choose_segment_size(60_000 * MiB, 5 * MiB)
    with pytest.raises(InvalidRequestError, match="at most"):
        choose_segment_size(10_000 * 100 * MiB + 1, None)


async def test_create_and_complete_survive_lost_replies(
    client: AsyncClient, fake: FakeProcore, project_id: int, make_file: Callable[..., Path]
) -> None:
    # Replies lost after the server acted, on every kind of request: the create and
    # the completion are resent (harmless), unlike an arbitrary POST or PATCH.
    fake.faults(error_rate=0.5, kinds=("drop_after",), only_retryable=False, oauth=False, seed=1)
    path = make_file(6 * MiB)
    upload = await client.upload(
        path, company_id=fake.company_id, project_id=project_id, segment_size=5 * MiB
    )
    assert fake.upload_content(upload.id) == path.read_bytes()
    assert fake.stats.faults["drop_after"] >= 1  # the API side lost replies too
    orphans = [u for u in fake.storage.uploads.uploads.values() if u.id != upload.id]
    assert all(u.status == "ready" and not u.attached for u in orphans)


async def test_presigned_signatures_stay_out_of_the_logs(
    client: AsyncClient,
    fake: FakeProcore,
    make_file: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", logger="httpx")
    upload = await client.upload(make_file(1000), company_id=fake.company_id)
    assert upload.status == "available"
    storage_lines = [
        r.getMessage() for r in caplog.records if "storage.procore.test" in r.getMessage()
    ]
    assert storage_lines, "httpx logged no storage request"
    assert all("sig=[REDACTED]" in line for line in storage_lines)


async def test_waits_for_available_and_gives_up_with_a_typed_error(
    client: AsyncClient, fake: FakeProcore, make_file: Callable[..., Path]
) -> None:
    from procore_async.files import upload_file

    path = make_file(1000)
    fake.storage.uploads.processing_delay = 0.3  # Procore processes the file after completion
    upload = await client.upload(path, company_id=fake.company_id)
    assert upload.status == "available"
    quick = await client.upload(path, company_id=fake.company_id, wait=False)
    assert quick.status == "complete"
    fake.storage.uploads.processing_delay = 3600
    with pytest.raises(UploadError, match=r"not available after 0\.2 s") as caught:
        await upload_file(client, path, company_id=fake.company_id, wait_timeout=0.2)
    assert caught.value.upload_id
