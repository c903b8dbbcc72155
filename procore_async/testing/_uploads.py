"""The fake's upload endpoints: v1.1 segmented (and v1.0) and v2.1 unified uploads.

Routes (``tutorial_uploads.md``, ``tutorial_unified_uploads.md``, the catalog):

* ``POST /rest/v1.{0,1}/{companies|projects}/{id}/uploads`` with ``segments`` →
  ``{uuid, segments: [{url, headers, size, sha256, md5}], status: "ready"}`` (the
  non-segmented form, a multipart POST to storage, is not served: 422);
  ``PATCH .../uploads/{uuid}`` with ``segments: [{etag}]`` completes it; ``GET`` shows
  it (with fresh URLs for unsent segments);
* ``POST /rest/v2.1/companies/{cid}[/projects/{pid}]/uploads`` → 201 ``{"data":
  {upload_id, segments: [{url, url_expires_at, headers}], status: "ready", ...}}``;
  ``PATCH`` with ``part_etags`` (``null`` for parts not sent yet) → ``complete``; ``GET``
  → ``available`` once processed, and fresh URLs for the parts still to send.

Procore's rules: parts 5 MiB to 100 MiB (5 GB for v1.1) except the last, at most
10,000; only the creating user may see, complete or attach an upload; an upload not
attached in time (a week for v1.1, 24 hours for v2.1) is gone.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._http import Reply, json_reply
from ._oauth import Grant

__all__ = [
    "FakeUpload",
    "Part",
    "UploadStore",
    "md5_base64",
    "owner_of",
    "upload_reply",
    "uploads_error",
]

MiB = 1024 * 1024
_MIN_PART = 5 * MiB
_MAX_PART = {"v2.1": 100 * MiB, "v1.1": 5 * 1000**3}
_MAX_PARTS = 10_000
_ATTACH_WINDOW = {"v2.1": 24 * 3600.0, "v1.1": 7 * 24 * 3600.0}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX32 = re.compile(r"[0-9a-f]{32}")


def owner_of(grant: Grant) -> str:
    """Who owns what a token creates: the user, or the app's service account."""
    return f"{grant.client_id}:{grant.user_id}"


@dataclass
class Part:
    size: int
    sha256: str
    md5: str | None
    etag: str | None = None
    data: bytes | None = None


@dataclass
class FakeUpload:
    id: str
    version: str  # "v2.1" or "v1.1" (v1.0 uploads behave as v1.1)
    company_id: int
    project_id: int | None
    owner: str
    user_id: int
    file_name: str
    content_type: str
    file_size: int
    sha256: str | None
    parts: list[Part]
    created_at: float
    status: str = "ready"
    completed_at: float | None = None
    attached: bool = False
    started: bool = False
    received: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def content(self) -> bytes:
        return b"".join(p.data or b"" for p in self.parts)


class UploadStore:
    """Every upload of one fake, with the checks of their create and complete calls."""

    def __init__(self, clock: Callable[[], float], new_id: Callable[[], str]) -> None:
        self.clock = clock
        self.new_id = new_id
        self.uploads: dict[str, FakeUpload] = {}
        #: Seconds after completion before a v2.1 upload turns ``available``.
        self.processing_delay = 0.0

    def find(self, upload_id: str, owner: str | None = None) -> FakeUpload | None:
        """The upload, unless it is gone (not attached within its window)."""
        upload = self.uploads.get(upload_id)
        if upload is None:
            return None
        if (
            not upload.attached
            and self.clock() > upload.created_at + _ATTACH_WINDOW[upload.version]
        ):
            del self.uploads[upload_id]
            return None
        if owner is not None and upload.owner != owner:
            return None
        return upload

    def refresh_status(self, upload: FakeUpload) -> None:
        done = upload.completed_at
        ready = done is not None and self.clock() >= done + self.processing_delay
        if upload.status == "complete" and upload.version == "v2.1" and ready:
            upload.status = "available"

    def attachable(self, upload_id: Any, grant: Grant) -> str | None:
        """Why ``upload_id`` cannot be attached by this token's owner (None: it can)."""
        upload = self.find(str(upload_id))
        if upload is None:
            return f"upload {upload_id} does not exist (or was not attached in time)"
        if upload.owner != owner_of(grant):
            return f"upload {upload_id} belongs to another user"
        self.refresh_status(upload)
        if upload.status not in ("complete", "available"):
            return f"upload {upload_id} is not complete (status {upload.status})"
        return None

    # -- create -------------------------------------------------------------------------

    def create(
        self,
        version: str,
        body: dict[str, Any],
        grant: Grant,
        company_id: int,
        project_id: int | None,
    ) -> FakeUpload | str:
        """A new upload from a create body, or the 422 message."""
        segments = body.get("segments")
        user_id = grant.user_id or 0
        name = body.get("file_name" if version == "v2.1" else "response_filename")
        ctype = body.get("content_type" if version == "v2.1" else "response_content_type")
        if version == "v1.1" and segments is None:
            return (
                "this fake serves segmented uploads: declare the file's segments "
                "(the non-segmented form posts a multipart form to storage)"
            )
        if not isinstance(segments, list) or not segments:
            return "segments must be a non-empty array"
        if len(segments) > _MAX_PARTS:
            return f"at most {_MAX_PARTS} segments"
        parts: list[Part] = []
        for number, seg in enumerate(segments, 1):
            if not isinstance(seg, dict):
                return f"segment {number} must be an object"
            size, sha, md5 = seg.get("size"), seg.get("sha256"), seg.get("md5")
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                return f"segment {number}: size must be a positive integer"
            if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
                return f"segment {number}: sha256 must be 64 lowercase hex digits"
            if md5 is not None and (not isinstance(md5, str) or not _HEX32.fullmatch(md5)):
                return f"segment {number}: md5 must be 32 lowercase hex digits"
            if size > _MAX_PART[version] or (number < len(segments) and size < _MIN_PART):
                return (
                    f"segment {number}: every part but the last must be between "
                    f"{_MIN_PART} and {_MAX_PART[version]} bytes"
                )
            parts.append(Part(size, sha, md5))
        total = sum(p.size for p in parts)
        declared = body.get("file_size" if version == "v2.1" else "size", total)
        if declared != total:
            return f"file size {declared} is not the sum of the segment sizes ({total})"
        sha256 = body.get("sha256")
        if version == "v2.1":
            if not isinstance(name, str) or not name.strip():
                return "file_name can't be blank"
            if not isinstance(sha256, str) or not _HEX64.fullmatch(sha256):
                return "sha256 must be 64 lowercase hex digits"
        upload = FakeUpload(
            self.new_id(),
            version,
            company_id,
            project_id,
            owner_of(grant),
            user_id,
            str(name or "upload"),
            str(ctype or "application/octet-stream"),
            total,
            sha256,
            parts,
            self.clock(),
        )
        self.uploads[upload.id] = upload
        return upload

    # -- complete -----------------------------------------------------------------------

    def complete(self, upload: FakeUpload, body: dict[str, Any]) -> str | None:
        """Apply a completion PATCH; the 422 message when the ETags are wrong."""
        if upload.version == "v2.1":
            etags = body.get("part_etags")
            if not isinstance(etags, list):
                return "part_etags must be an array"
        else:
            segments = body.get("segments")
            if not isinstance(segments, list):
                return "segments must be an array"
            etags = [s.get("etag") if isinstance(s, dict) else None for s in segments]
        if len(etags) != len(upload.parts):
            return f"expected {len(upload.parts)} ETags, got {len(etags)}"
        for number, (etag, part) in enumerate(zip(etags, upload.parts, strict=True), 1):
            if etag is None and upload.version == "v2.1":
                continue  # partial progress is allowed
            if part.etag is None:
                return f"part {number} has not been uploaded"
            if not isinstance(etag, str) or etag.strip('"') != part.etag.strip('"'):
                return f"part {number}: ETag does not match the uploaded part"
        if all(e is not None for e in etags):
            upload.status = "complete"
            upload.completed_at = self.clock()
        else:
            upload.status = "receiving"
        return None


def md5_base64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def upload_reply(upload: FakeUpload, urls: list[dict[str, Any]], *, created: bool) -> Reply:
    """An upload body in the shape its API version uses."""
    if upload.version == "v2.1":
        data: dict[str, Any] = {
            "upload_id": upload.id,
            "file_name": upload.file_name,
            "sanitized_file_name": upload.file_name,
            "file_size": upload.file_size,
            "total_parts": len(upload.parts),
            "content_type": upload.content_type,
            "status": upload.status,
            "custom_metadata": {},
            "upload_expires_at": int(upload.created_at + _ATTACH_WINDOW["v2.1"]),
            "segments": urls,
        }
        return json_reply(201 if created else 200, {"data": data})
    body: dict[str, Any] = {
        "uuid": upload.id,
        "status": upload.status,
        "segments": [
            {
                "size": p.size,
                "sha256": p.sha256,
                "md5": p.md5,
                **({"etag": p.etag} if p.etag else {}),
                **url,
            }
            for p, url in zip(upload.parts, urls, strict=False)
        ],
    }
    return json_reply(201 if created else 200, body)


def uploads_error(version: str, status: int, message: str) -> Reply:
    if version == "v2.1":
        codes = {403: "FORBIDDEN", 404: "NOT_FOUND", 422: "VALIDATION_ERROR"}
        err = {"code": codes.get(status, "BAD_REQUEST"), "message": message, "details": []}
        return json_reply(status, {"error": err})
    return json_reply(status, {"errors": message})
