"""``client.documents``: the Documents tool (project folders and files) over uploads.

Procore's recommended way to put a file in Documents (``tutorial_uploads.md``, "Moving
an Uploaded File into Procore"): upload it first, then ``POST /rest/v1.0/files`` with
the upload's id as ``upload_uuid``.  The Documents endpoints document ``upload_uuid``
as coming from the (v1.1) Company or Project Uploads, so that is the flow used here by
default; pass ``api_version="v2.1"`` to use unified uploads instead.  Built on the
generic verbs only, so every call takes the client's retries, pacing and errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidRequestError, NotFoundError
from ._download import Download, download_file
from ._source import Source
from ._upload import ApiClient, _check_id, upload_file

__all__ = ["Documents"]


class Documents:
    """Project folders and files; every method takes the project's ``company_id``."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return "<Documents>"

    async def upload_file(
        self,
        project_id: int | str,
        folder_id: int | str | None,
        source: Source,
        *,
        company_id: int | str,
        name: str | None = None,
        description: str | None = None,
        api_version: str = "v1.1",
        **upload_options: Any,
    ) -> dict[str, Any]:
        """Upload ``source`` and create a file from it in ``folder_id`` (None: the root).

        ``upload_options`` go to ``client.upload`` (``segment_size``, ``concurrency``,
        ``on_progress``, ``content_type``...).  Returns the new file, as Procore shows
        it (``file_versions`` with their download URLs included).
        """
        _check_id("project_id", project_id, required=True)
        _check_id("folder_id", folder_id, required=False)
        upload = await upload_file(
            self._client,
            source,
            company_id=company_id,
            project_id=project_id,
            filename=name,
            api_version=api_version,
            **upload_options,
        )
        attrs: dict[str, Any] = {"name": name or upload.file_name, "upload_uuid": upload.id}
        if folder_id is not None:
            attrs["parent_id"] = int(folder_id)
        if description is not None:
            attrs["description"] = description
        response = await self._client.post(
            f"files?project_id={int(project_id)}", body={"file": attrs}, company_id=company_id
        )
        return _record(response.body)

    async def add_version(
        self,
        project_id: int | str,
        file_id: int | str,
        source: Source,
        *,
        company_id: int | str,
        api_version: str = "v1.1",
        **upload_options: Any,
    ) -> dict[str, Any]:
        """Upload ``source`` as a new version of an existing file."""
        _check_id("project_id", project_id, required=True)
        _check_id("file_id", file_id, required=True)
        upload = await upload_file(
            self._client,
            source,
            company_id=company_id,
            project_id=project_id,
            api_version=api_version,
            **upload_options,
        )
        response = await self._client.patch(
            f"files/{int(file_id)}?project_id={int(project_id)}",
            body={"file": {"upload_uuid": upload.id}},
            company_id=company_id,
        )
        return _record(response.body)

    async def create_folder(
        self,
        project_id: int | str,
        name: str,
        *,
        company_id: int | str,
        parent_id: int | str | None = None,
    ) -> dict[str, Any]:
        """Create a folder (under ``parent_id``, or the root)."""
        _check_id("project_id", project_id, required=True)
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("a folder needs a non-blank name")
        attrs: dict[str, Any] = {"name": name}
        if parent_id is not None:
            attrs["parent_id"] = int(parent_id)
        response = await self._client.post(
            f"folders?project_id={int(project_id)}", body={"folder": attrs}, company_id=company_id
        )
        return _record(response.body)

    async def folder(
        self, project_id: int | str, folder_id: int | str | None = None, *, company_id: int | str
    ) -> dict[str, Any]:
        """A folder with its folders and files (``folder_id=None``: the root)."""
        _check_id("project_id", project_id, required=True)
        path = "folders" if folder_id is None else f"folders/{int(folder_id)}"
        response = await self._client.get(
            path, query={"project_id": project_id}, company_id=company_id
        )
        return _record(response.body)

    async def file(
        self, project_id: int | str, file_id: int | str, *, company_id: int | str
    ) -> dict[str, Any]:
        """A file with every version (each with a fresh download ``url``)."""
        _check_id("project_id", project_id, required=True)
        _check_id("file_id", file_id, required=True)
        response = await self._client.get(
            f"files/{file_id}", query={"project_id": project_id}, company_id=company_id
        )
        return _record(response.body)

    async def download_file(
        self,
        project_id: int | str,
        file_id: int | str,
        dest: str | os.PathLike[str],
        *,
        company_id: int | str,
        version: int | None = None,
        **download_options: Any,
    ) -> Download:
        """Download a file's latest version (or version number ``version``) to ``dest``."""
        record = await self.file(project_id, file_id, company_id=company_id)
        versions = [v for v in record.get("file_versions") or [] if isinstance(v, Mapping)]
        if version is not None:
            versions = [v for v in versions if v.get("number") == version]
        if not versions:
            raise NotFoundError(f"file {file_id} has no version {version or ''}".rstrip())
        chosen = max(versions, key=lambda v: v.get("number") or 0)
        return await download_file(self._client, chosen, dest, **download_options)


def _record(body: Any) -> dict[str, Any]:
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        body = body["data"]
    return dict(body) if isinstance(body, Mapping) else {}
