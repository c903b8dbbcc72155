"""Direct uploads and downloads: ``client.upload``, ``client.download``, ``client.documents``.

Procore's direct-upload flow (create an upload, send the bytes straight to storage
with presigned URLs, complete it, attach it by its id) as one call, streamed from
disk in segments sent concurrently, verified end to end.  See docs/files.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._documents import Documents
    from ._download import Download, download_file
    from ._legs import IssuedURL
    from ._models import ChecksumMismatchError, DownloadError, Upload, UploadError
    from ._plan import DEFAULT_SEGMENT_SIZE, MAX_PARTS, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE
    from ._source import AsyncReadable, Source
    from ._upload import upload_file

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "MAX_PARTS",
    "MAX_SEGMENT_SIZE",
    "MIN_SEGMENT_SIZE",
    "AsyncReadable",
    "ChecksumMismatchError",
    "Documents",
    "Download",
    "DownloadError",
    "IssuedURL",
    "Source",
    "Upload",
    "UploadError",
    "download_file",
    "upload_file",
]

_HOME = {
    **dict.fromkeys(
        ("ChecksumMismatchError", "DownloadError", "Upload", "UploadError"), "._models"
    ),
    **dict.fromkeys(
        ("DEFAULT_SEGMENT_SIZE", "MAX_PARTS", "MAX_SEGMENT_SIZE", "MIN_SEGMENT_SIZE"), "._plan"
    ),
    **dict.fromkeys(("AsyncReadable", "Source"), "._source"),
    **dict.fromkeys(("Download", "download_file"), "._download"),
    "Documents": "._documents",
    "IssuedURL": "._legs",
    "upload_file": "._upload",
}

__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__)
