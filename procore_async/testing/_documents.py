"""The fake's Documents tool: project folders and files, attached by upload id.

``POST /rest/v1.0/files?project_id=`` with ``{"file": {"parent_id", "name",
"upload_uuid", "description"}}`` creates a file from a completed upload (the catalog's
"recommended approach"); ``PATCH /rest/v1.0/files/{id}`` with a new ``upload_uuid``
adds a file version.  Every ``GET`` answers each version with a fresh presigned,
expiring download ``url`` on the storage origin (Procore's ``prostore_file.url``).
Folders: ``GET /rest/v1.0/folders?project_id=`` is the root (with its folders and
files), ``GET/PATCH/DELETE /rest/v1.0/folders/{id}``, ``POST /rest/v1.0/folders``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._http import Reply, json_reply
from ._oauth import Grant
from ._state import iso_time
from ._storage import Storage
from ._uploads import UploadStore

__all__ = ["Documents", "nested"]


def nested(body: dict[str, Any], root: str) -> dict[str, Any]:
    """``body[root]``, from JSON (``{"file": {...}}``) or a form (``file[name]=...``)."""
    value = body.get(root)
    if isinstance(value, dict):
        return value
    prefix = f"{root}["
    return {
        k[len(prefix) : -1]: v for k, v in body.items() if k.startswith(prefix) and k.endswith("]")
    }


def _int(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


class Documents:
    """Folders and files per project, in memory."""

    def __init__(self, uploads: UploadStore, storage: Storage, clock: Callable[[], float]):
        self.uploads = uploads
        self.storage = storage
        self._clock = clock
        self._next = 700_001
        self.folders: dict[int, dict[str, Any]] = {}
        self.files: dict[int, dict[str, Any]] = {}
        self._roots: dict[int, int] = {}

    def _id(self) -> int:
        self._next += 1
        return self._next

    def _now(self) -> str:
        return iso_time(self._clock())

    def root(self, project_id: int) -> dict[str, Any]:
        found = self._roots.get(project_id)
        if found is None:
            found = self._roots[project_id] = self._id()
            self.folders[found] = {
                "id": found,
                "name": "Documents",
                "parent_id": None,
                "project_id": project_id,
                "is_recycle_bin": False,
                "updated_at": self._now(),
            }
        return self.folders[found]

    def _path(self, folder: dict[str, Any]) -> str:
        names = []
        while folder.get("parent_id") is not None:
            names.append(folder["name"])
            folder = self.folders[folder["parent_id"]]
        return "/" + "/".join(reversed(names))

    def _folder_view(self, folder: dict[str, Any], *, children: bool) -> dict[str, Any]:
        view = {k: v for k, v in folder.items() if k != "project_id"}
        view.update(
            private=False,
            is_tracked=False,
            read_only=False,
            is_deleted=False,
            name_with_path=self._path(folder),
        )
        subs = [f for f in self.folders.values() if f["parent_id"] == folder["id"]]
        files = [f for f in self.files.values() if f["parent_id"] == folder["id"]]
        view.update(
            has_children=bool(subs or files),
            has_children_files=bool(files),
            has_children_folders=bool(subs),
        )
        if children:
            view["folders"] = [self._folder_view(f, children=False) for f in subs]
            view["files"] = [self.file_view(f, latest=False) for f in files]
        return view

    def file_view(self, record: dict[str, Any], *, latest: bool) -> dict[str, Any]:
        view = {k: v for k, v in record.items() if k not in ("project_id", "versions")}
        versions = record["versions"][-1:] if latest else record["versions"]
        view["file_versions"] = [self._version_view(v) for v in versions]
        view["name_with_path"] = f"{self._path(self.folders[record['parent_id']])}/{record['name']}"
        view["size"] = record["versions"][-1]["size"]
        return view

    def _version_view(self, version: dict[str, Any]) -> dict[str, Any]:
        url = self.storage.object_url(version["upload_id"])
        view = {k: v for k, v in version.items() if k != "upload_id"}
        view["url"] = url
        view["prostore_file"] = {
            "id": version["id"],
            "name": version["name"],
            "url": url,
            "filename": version["name"],
        }
        return view

    # -- handlers (the router has authenticated the call and checked the project) -----

    def list_root(self, project_id: int) -> Reply:
        return json_reply(200, self._folder_view(self.root(project_id), children=True))

    def show_folder(self, project_id: int, folder_id: int) -> Reply:
        folder = self.folders.get(folder_id)
        if folder is None or folder["project_id"] != project_id:
            return json_reply(404, {"errors": "Not Found"})
        return json_reply(200, self._folder_view(folder, children=True))

    def create_folder(self, project_id: int, body: dict[str, Any]) -> Reply:
        attrs = nested(body, "folder")
        name = attrs.get("name")
        if not isinstance(name, str) or not name.strip():
            return json_reply(422, {"errors": {"name": ["can't be blank"]}})
        parent = self._parent(project_id, attrs.get("parent_id"))
        if parent is None:
            return json_reply(422, {"errors": {"parent_id": ["is not a folder of this project"]}})
        folder_id = self._id()
        self.folders[folder_id] = {
            "id": folder_id,
            "name": name,
            "parent_id": parent["id"],
            "project_id": project_id,
            "is_recycle_bin": False,
            "updated_at": self._now(),
        }
        return json_reply(201, self._folder_view(self.folders[folder_id], children=True))

    def _parent(self, project_id: int, given: Any) -> dict[str, Any] | None:
        if given in (None, ""):
            return self.root(project_id)
        folder = self.folders.get(_int(given) or -1)
        return folder if folder is not None and folder["project_id"] == project_id else None

    def delete(self, table: dict[int, dict[str, Any]], project_id: int, item_id: int) -> Reply:
        item = table.get(item_id)
        if item is None or item["project_id"] != project_id or item.get("parent_id") is None:
            return json_reply(404, {"errors": "Not Found"})
        del table[item_id]
        return Reply(204, b"", [], None)

    def rename_folder(self, project_id: int, folder_id: int, body: dict[str, Any]) -> Reply:
        folder = self.folders.get(folder_id)
        if folder is None or folder["project_id"] != project_id:
            return json_reply(404, {"errors": "Not Found"})
        attrs = nested(body, "folder")
        if isinstance(attrs.get("name"), str) and attrs["name"].strip():
            folder["name"] = attrs["name"]
        folder["updated_at"] = self._now()
        return json_reply(200, self._folder_view(folder, children=True))

    def show_file(self, project_id: int, file_id: int, latest: bool) -> Reply:
        record = self.files.get(file_id)
        if record is None or record["project_id"] != project_id:
            return json_reply(404, {"errors": "Not Found"})
        return json_reply(200, self.file_view(record, latest=latest))

    def _version(self, grant: Grant, ref: Any, name: str | None, number: int) -> Any:
        problem = self.uploads.attachable(ref, grant)
        if problem is not None:
            return problem
        upload = self.uploads.uploads[str(ref)]
        upload.attached = True
        return {
            "id": self._id(),
            "number": number,
            "name": name or upload.file_name,
            "size": upload.file_size,
            "upload_id": upload.id,
            "created_at": self._now(),
            "content_type": upload.content_type,
        }

    def create_file(self, grant: Grant, project_id: int, body: dict[str, Any]) -> Reply:
        attrs = nested(body, "file")
        ref = attrs.get("upload_uuid") or attrs.get("upload_id")
        if not ref:
            return json_reply(422, {"errors": {"upload_uuid": ["can't be blank"]}})
        parent = self._parent(project_id, attrs.get("parent_id"))
        if parent is None:
            return json_reply(422, {"errors": {"parent_id": ["is not a folder of this project"]}})
        version = self._version(grant, ref, attrs.get("name"), 1)
        if isinstance(version, str):
            return json_reply(422, {"errors": {"upload_uuid": [version]}})
        file_id = self._id()
        now = self._now()
        self.files[file_id] = {
            "id": file_id,
            "name": version["name"],
            "parent_id": parent["id"],
            "description": attrs.get("description") or "",
            "private": False,
            "is_tracked": False,
            "is_deleted": False,
            "created_at": now,
            "updated_at": now,
            "project_id": project_id,
            "versions": [version],
        }
        return json_reply(201, self.file_view(self.files[file_id], latest=False))

    def update_file(
        self, grant: Grant, project_id: int, file_id: int, body: dict[str, Any]
    ) -> Reply:
        record = self.files.get(file_id)
        if record is None or record["project_id"] != project_id:
            return json_reply(404, {"errors": "Not Found"})
        attrs = nested(body, "file")
        ref = attrs.get("upload_uuid") or attrs.get("upload_id")
        if ref:
            version = self._version(grant, ref, attrs.get("name"), len(record["versions"]) + 1)
            if isinstance(version, str):
                return json_reply(422, {"errors": {"upload_uuid": [version]}})
            record["versions"].append(version)
        for key in ("name", "description"):
            if isinstance(attrs.get(key), str):
                record[key] = attrs[key]
        record["updated_at"] = self._now()
        return json_reply(200, self.file_view(record, latest=False))
