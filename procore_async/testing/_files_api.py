"""The fake's file routes: uploads (v1.0/v1.1/v2.1) and Documents, plus the attach check.

:meth:`FilesApi.handle` answers the routes it owns and returns None for every other
request, which the generic API then serves.  For those, a create or update body that
references uploads (``upload_id``, ``upload_uuid``, ``file_upload_id``, ``upload_ids``
anywhere in it) is checked first: an upload that does not exist, is gone, belongs to
another user or is not complete is refused with 422; otherwise it becomes attached.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from typing import Any

from ._documents import Documents
from ._http import BodyError, Reply, Request, json_reply
from ._oauth import Grant, OAuthServer
from ._state import State
from ._storage import Storage
from ._uploads import FakeUpload, UploadStore, owner_of, upload_reply, uploads_error

__all__ = ["FilesApi"]

_V2 = re.compile(r"/rest/v2\.1/companies/(\d+)(?:/projects/(\d+))?/uploads(?:/([0-9A-Za-z]+))?")
_V1 = re.compile(r"/rest/v1\.([01])/(companies|projects)/(\d+)/uploads(?:/([0-9A-Za-z]+))?")
_DOCS = re.compile(r"/rest/v1\.0/(folders|files)(?:/(\d+))?")
_REF_KEYS = frozenset({"upload_id", "upload_uuid", "file_upload_id"})
_REF_LISTS = frozenset({"upload_ids", "upload_uuids"})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid() -> str:
    return "01" + "".join(secrets.choice(_CROCKFORD) for _ in range(24))


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _REF_KEYS and isinstance(item, (str, int)) and item != "":
                yield str(item)
            elif key in _REF_LISTS and isinstance(item, list):
                yield from (str(i) for i in item if isinstance(i, (str, int)))
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


class FilesApi:
    """Routes the upload and Documents endpoints; owns the uploads, storage and documents."""

    def __init__(self, state: State, oauth: OAuthServer, clock: Callable[[], float]) -> None:
        self.state = state
        self.oauth = oauth
        self.uploads = UploadStore(clock, _ulid)
        self.storage = Storage(self.uploads, clock)
        self.documents = Documents(self.uploads, self.storage, clock)

    def handle(self, request: Request) -> Reply | None:
        path = request.path
        v2 = _V2.fullmatch(path)
        v1 = None if v2 else _V1.fullmatch(path)
        docs = None if (v2 or v1) else _DOCS.fullmatch(path)
        if v2 is None and v1 is None and docs is None:
            if request.method in ("POST", "PATCH", "PUT") and b"upload" in request.body:
                return self._check_refs(request)
            return None
        version = "v2.1" if v2 else "v1.1"
        grant = self.oauth.check(request.bearer())
        if isinstance(grant, str):
            header = (
                f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{grant}"'
            )
            return json_reply(401, {"errors": grant}, [("WWW-Authenticate", header)])
        raw = request.headers.get("procore-company-id", "").strip()
        if not raw:
            return json_reply(400, {"errors": "Missing Procore-Company-Id header!"})
        if not raw.isdigit() or int(raw) not in self.state.companies:
            return json_reply(403, {"errors": ["App is not connected to this company."]})
        company = int(raw)
        try:
            if docs is not None:
                return self._documents(request, grant, company, docs.group(1), docs.group(2))
            if v2 is not None:
                company_id, project, upload_id = int(v2.group(1)), v2.group(2), v2.group(3)
            else:
                assert v1 is not None
                scope, number, upload_id = v1.group(2), int(v1.group(3)), v1.group(4)
                company_id = number if scope == "companies" else company
                project = str(number) if scope == "projects" else None
            if company_id != company:
                return uploads_error(version, 404, "Not Found")
            project_id = int(project) if project else None
            if project_id is not None and self.state.project_company(project_id) != company:
                return uploads_error(version, 404, "Not Found")
            return self._uploads(request, grant, version, company, project_id, upload_id)
        except BodyError as exc:
            return uploads_error(version, 400, str(exc))

    # -- uploads ------------------------------------------------------------------------

    def _urls(self, upload: FakeUpload, *, pending_only: bool) -> list[dict[str, Any]]:
        return [
            self.storage.part_url(upload, i)
            for i, part in enumerate(upload.parts)
            if not (pending_only and part.etag is not None)
        ]

    def _uploads(
        self,
        request: Request,
        grant: Grant,
        version: str,
        company: int,
        project_id: int | None,
        upload_id: str | None,
    ) -> Reply:
        method = request.method
        if upload_id is None:
            if method != "POST":
                return uploads_error(version, 404, "Not Found")
            made = self.uploads.create(version, request.parse_body(), grant, company, project_id)
            if isinstance(made, str):
                return uploads_error(version, 422, made)
            return upload_reply(made, self._urls(made, pending_only=False), created=True)
        upload = self.uploads.find(upload_id)
        if (
            upload is None
            or upload.version != version
            or upload.company_id != company
            or (upload.project_id != project_id)
        ):
            return uploads_error(version, 404, "Not Found")
        if upload.owner != owner_of(grant):
            return uploads_error(version, 403, "Only the user who created an upload may use it")
        if method == "GET":
            self.uploads.refresh_status(upload)
            pending = upload.version == "v2.1"
            urls = self._urls(upload, pending_only=pending)
            if upload.status in ("complete", "available"):
                urls = [] if pending else urls
            return upload_reply(upload, urls, created=False)
        if method == "PATCH":
            problem = self.uploads.complete(upload, request.parse_body())
            if problem is not None:
                return uploads_error(version, 422, problem)
            self.uploads.refresh_status(upload)
            if upload.version == "v2.1":
                return json_reply(200, {"data": {"upload_id": upload.id, "status": upload.status}})
            return upload_reply(upload, self._urls(upload, pending_only=False), created=False)
        return uploads_error(version, 404, "Not Found")

    # -- documents ----------------------------------------------------------------------

    def _documents(
        self, request: Request, grant: Grant, company: int, kind: str, item: str | None
    ) -> Reply:
        raw = request.param("project_id")
        project_id = int(raw) if raw is not None and raw.isdigit() else None
        if project_id is None:
            return json_reply(400, {"errors": "param is missing or the value is empty: project_id"})
        if self.state.project_company(project_id) != company:
            return json_reply(404, {"errors": "Not Found"})
        docs, method = self.documents, request.method
        item_id = int(item) if item else None
        if kind == "folders":
            if item_id is None:
                if method == "GET":
                    return docs.list_root(project_id)
                if method == "POST":
                    return docs.create_folder(project_id, request.parse_body())
            elif method == "GET":
                return docs.show_folder(project_id, item_id)
            elif method == "PATCH":
                return docs.rename_folder(project_id, item_id, request.parse_body())
            elif method == "DELETE":
                return docs.delete(docs.folders, project_id, item_id)
            return json_reply(404, {"errors": "Not Found"})
        if item_id is None:
            if method == "POST":
                return docs.create_file(grant, project_id, request.parse_body())
        elif method == "GET":
            latest = request.param("show_latest_version_only") == "true"
            return docs.show_file(project_id, item_id, latest)
        elif method == "PATCH":
            return docs.update_file(grant, project_id, item_id, request.parse_body())
        elif method == "DELETE":
            return docs.delete(docs.files, project_id, item_id)
        return json_reply(404, {"errors": "Not Found"})

    # -- upload references in any other body --------------------------------------------

    def _check_refs(self, request: Request) -> Reply | None:
        grant = self.oauth.check(request.bearer())
        if isinstance(grant, str):
            return None  # the API answers the 401
        try:
            refs = list(_refs(request.parse_body()))
        except BodyError:
            return None  # the API answers the 400
        for ref in refs:
            problem = self.uploads.attachable(ref, grant)
            if problem is not None:
                if request.path.startswith("/rest/v2"):
                    error = {"code": "VALIDATION_ERROR", "message": problem, "details": []}
                    return json_reply(422, {"error": error})
                return json_reply(422, {"errors": problem})
        for ref in refs:
            self.uploads.uploads[ref].attached = True
        return None
