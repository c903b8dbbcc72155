"""What an upload returns (:class:`Upload`), and the errors a file transfer raises.

Hierarchy (under :class:`procore_async.Error`)::

    UploadError            an upload could not be completed; carries .upload_id
    DownloadError          a download could not be completed
    ChecksumMismatchError  bytes did not match their declared size or sha256
                           (storage refused a segment, or a download arrived altered)

``ChecksumMismatchError`` is both an ``UploadError`` and a ``DownloadError``, so one
``except`` clause catches corrupted bytes in either direction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import Error

__all__ = ["ChecksumMismatchError", "DownloadError", "Upload", "UploadError"]


class UploadError(Error):
    """An upload failed; ``upload_id`` names it when Procore had created it."""

    upload_id: str | None = None


class DownloadError(Error):
    """A download failed (the partial file is kept for ``resume=True``)."""


class ChecksumMismatchError(UploadError, DownloadError):
    """Bytes did not match their declared size or sha256."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A completed direct upload, ready to be attached by its id.

    ``id`` is what the resource bodies want: v2.1 calls it ``upload_id`` (and Documents
    ``file_upload_id``), v1.1 calls it ``uuid`` (``upload_uuid`` in a body), and both
    name the same value, so ``uuid`` is an alias.  ``status`` is Procore's last word:
    ``"available"`` (v2.1, processed) or ``"complete"`` (v1.1, or v2.1 when
    ``wait=False``).  ``body`` is the last upload body Procore returned.
    """

    id: str
    size: int
    sha256: str
    status: str
    file_name: str
    content_type: str
    api_version: str
    company_id: int | str
    project_id: int | str | None = None
    segments: int = 1
    body: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def uuid(self) -> str:
        """The same id under its v1.1 name (``upload_uuid`` in resource bodies)."""
        return self.id

    @property
    def available(self) -> bool:
        return self.status == "available"

    def __str__(self) -> str:
        return self.id


# Tracebacks show the public path users import the errors from.
for _cls in (UploadError, DownloadError, ChecksumMismatchError, Upload):
    _cls.__module__ = "procore_async.files"
del _cls
