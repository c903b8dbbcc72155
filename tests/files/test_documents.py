"""client.documents against the fake's Documents tool: folders, files, versions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from procore_async import AsyncClient, InvalidRequestError, NotFoundError
from procore_async.testing import FakeProcore


async def test_folders_files_and_versions(
    fake: FakeProcore,
    client: AsyncClient,
    project_id: int,
    make_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    cid = fake.company_id
    docs = client.documents
    root = await docs.folder(project_id, company_id=cid)
    assert root["name"] == "Documents" and root["folders"] == [] and root["files"] == []
    specs = await docs.create_folder(project_id, "Specs", company_id=cid)
    sub = await docs.create_folder(project_id, "Div 09", company_id=cid, parent_id=specs["id"])
    assert sub["name_with_path"] == "/Specs/Div 09"
    first = make_file(5000, "finishes.pdf", seed=1)
    record = await docs.upload_file(project_id, sub["id"], first, company_id=cid)
    assert record["name"] == "finishes.pdf" and record["size"] == 5000
    assert record["name_with_path"] == "/Specs/Div 09/finishes.pdf"
    second = make_file(7000, "finishes-rev-b.pdf", seed=2)
    updated = await docs.add_version(project_id, record["id"], second, company_id=cid)
    assert [v["number"] for v in updated["file_versions"]] == [1, 2]
    assert updated["size"] == 7000
    listing = await docs.folder(project_id, sub["id"], company_id=cid)
    assert [f["id"] for f in listing["files"]] == [record["id"]]
    latest = await docs.download_file(project_id, record["id"], tmp_path / "l.pdf", company_id=cid)
    assert Path(latest.path).read_bytes() == second.read_bytes()
    old = await docs.download_file(
        project_id, record["id"], tmp_path / "o.pdf", company_id=cid, version=1
    )
    assert Path(old.path).read_bytes() == first.read_bytes()
    with pytest.raises(NotFoundError):
        await docs.download_file(
            project_id, record["id"], tmp_path / "x", company_id=cid, version=9
        )
    # Documents takes v1.1 uploads by default (its upload_uuid), attached once used.
    version_upload = fake.storage.uploads.uploads
    assert all(u.version == "v1.1" and u.attached for u in version_upload.values())


async def test_documents_refuse_bad_references(
    fake: FakeProcore, client: AsyncClient, project_id: int
) -> None:
    with pytest.raises(InvalidRequestError, match="does not exist"):
        await client.post(
            f"files?project_id={project_id}",
            body={"file": {"upload_uuid": "01MISSING"}},
            company_id=fake.company_id,
        )
    with pytest.raises(InvalidRequestError, match="non-blank name"):
        await client.documents.create_folder(project_id, " ", company_id=fake.company_id)
    with pytest.raises(InvalidRequestError, match="project_id"):
        await client.documents.file("abc", 1, company_id=fake.company_id)
    with pytest.raises(NotFoundError):
        await client.documents.file(project_id, 1, company_id=fake.company_id)


async def test_an_incomplete_upload_cannot_be_attached(
    fake: FakeProcore, client: AsyncClient, project_id: int
) -> None:
    created = await client.post(
        f"projects/{project_id}/uploads",
        version="v1.1",
        company_id=fake.company_id,
        body={"response_filename": "a", "segments": [{"size": 3, "sha256": "0" * 64}]},
    )
    with pytest.raises(InvalidRequestError, match="not complete"):
        await client.post(
            f"files?project_id={project_id}",
            body={"file": {"upload_uuid": created.body["uuid"]}},
            company_id=fake.company_id,
        )
