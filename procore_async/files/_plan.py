"""Upload planning: cut a file into segments within Procore's bounds and hash each one.

Procore must be told every segment's size and sha256 (md5 optional, sent per segment
because it lets storage check each part too) and the file's sha256 before the first
byte is sent, so planning reads the file once, in chunks, feeding per-segment and
whole-file hashers; nothing larger than a chunk is held.  Bounds
(``tutorial_unified_uploads.md``): each part 5 MiB to 100 MiB except the last, which
may be smaller; at most 10,000 parts.  v1.1 allows segments up to 5 GB, so a plan
valid for v2.1 is valid for both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from .._errors import InvalidRequestError
from ._source import SourceFile

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "MAX_PARTS",
    "MAX_SEGMENT_SIZE",
    "MIN_SEGMENT_SIZE",
    "Plan",
    "Segment",
    "check_segment_size",
    "choose_segment_size",
    "plan_upload",
]

MiB = 1024 * 1024
MIN_SEGMENT_SIZE = 5 * MiB
MAX_SEGMENT_SIZE = 100 * MiB
MAX_PARTS = 10_000
#: Big enough that per-request overhead is noise, small enough that 4 in flight is 32 MiB.
DEFAULT_SEGMENT_SIZE = 8 * MiB
_CHUNK = 4 * MiB


@dataclass(frozen=True, slots=True)
class Segment:
    """One part: where it lies in the file and what Procore is told about it."""

    index: int
    offset: int
    size: int
    sha256: str
    md5: str

    def declared(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256, "md5": self.md5}


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    size: int
    content_type: str
    segment_size: int
    segments: tuple[Segment, ...]
    sha256: str


def check_segment_size(segment_size: int | None) -> None:
    """Reject a requested segment size outside Procore's bounds (before any I/O)."""
    if segment_size is None:
        return
    if not isinstance(segment_size, int) or isinstance(segment_size, bool):
        raise InvalidRequestError(f"segment_size must be an int, not {segment_size!r}")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise InvalidRequestError(
            f"segment_size must be between {MIN_SEGMENT_SIZE} (5 MiB) and {MAX_SEGMENT_SIZE} "
            f"(100 MiB) bytes, Procore's bounds for a part; got {segment_size}"
        )


def choose_segment_size(size: int, requested: int | None) -> int:
    """The segment size for a file of ``size`` bytes: the requested one, or the default
    grown just enough to stay within 10,000 parts."""
    limit = MAX_PARTS * MAX_SEGMENT_SIZE
    if size > limit:
        raise InvalidRequestError(
            f"the file is {size} bytes; one upload takes at most {limit} (10,000 x 100 MiB)"
        )
    if requested is not None:
        if -(-size // requested) > MAX_PARTS:
            raise InvalidRequestError(
                f"segment_size {requested} cuts {size} bytes into more than {MAX_PARTS} parts"
            )
        return requested
    needed = -(-size // MAX_PARTS)
    return max(DEFAULT_SEGMENT_SIZE, -(-needed // MiB) * MiB)


def _hash_chunk(source: SourceFile, hashers: tuple[Any, ...], offset: int, size: int) -> bytes:
    """Read (for a path) and hash one chunk in the worker thread: one hop per chunk."""
    data = source.read_at_sync(offset, size)
    for hasher in hashers:
        hasher.update(data)
    return data


def _update(hashers: tuple[Any, ...], data: bytes) -> None:
    for hasher in hashers:
        hasher.update(data)


async def plan_upload(
    source: SourceFile, segment_size: int, content_type: str, name: str | None = None
) -> Plan:
    """Read ``source`` once and return its segments with their hashes."""
    total_sha = hashlib.sha256()
    segments: list[Segment] = []
    offset = 0
    while offset < source.size:
        size = min(segment_size, source.size - offset)
        seg_sha, seg_md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
        hashers = (seg_sha, seg_md5, total_sha)
        done = 0
        while done < size:
            n = min(_CHUNK, size - done)
            if source.positional:
                data = await anyio.to_thread.run_sync(
                    _hash_chunk, source, hashers, offset + done, n
                )
            else:
                data = await source.read_at(offset + done, n)
                await anyio.to_thread.run_sync(_update, hashers, data)
            if len(data) != n:
                raise InvalidRequestError(
                    f"{source.name} changed while it was being read: expected {n} bytes at "
                    f"offset {offset + done}, read {len(data)}"
                )
            done += n
        segments.append(
            Segment(len(segments), offset, size, seg_sha.hexdigest(), seg_md5.hexdigest())
        )
        offset += size
    return Plan(
        name or source.name,
        source.size,
        content_type,
        segment_size,
        tuple(segments),
        total_sha.hexdigest(),
    )
