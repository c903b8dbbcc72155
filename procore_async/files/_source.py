"""Where an upload's bytes come from: a path, a sync binary file, or an async one.

A source is read one segment at a time, at an offset, so the whole file is never in
memory and segments can be read (and re-read, for a retry) in any order.  Blocking
reads run in a worker thread; a path is read with ``os.pread`` where the platform has
it, so concurrent segments do not share a file position; file objects are read under
a lock (seek, then read).  Everything that can be wrong with the input (missing,
a directory, empty, unreadable, not binary) is found by :func:`open_source` before
any network I/O, and raised as :class:`~procore_async.InvalidRequestError`.
"""

from __future__ import annotations

import inspect
import io
import mimetypes
import os
import stat
from typing import IO, Any, Protocol, Union, runtime_checkable

import anyio
import anyio.to_thread

from .._errors import InvalidRequestError

__all__ = ["AsyncReadable", "Source", "SourceFile", "open_source"]


@runtime_checkable
class AsyncReadable(Protocol):
    """An async binary file (``aiofiles``, ``anyio.open_file``): async ``read``/``seek``."""

    async def read(self, size: int = -1, /) -> bytes: ...
    async def seek(self, offset: int, whence: int = 0, /) -> int: ...


#: What ``client.upload`` reads: a path, a sync binary file, or an async binary file.
Source = Union[str, "os.PathLike[str]", IO[bytes], AsyncReadable]


class SourceFile:
    """An opened source: its name, its size, and reads at an offset."""

    def __init__(self, name: str, size: int, reader: Any, *, owned: Any = None) -> None:
        self.name = name
        self.size = size
        self._reader = reader
        self._owned = owned
        self._lock = anyio.Lock()

    @property
    def positional(self) -> bool:
        """Read with ``os.pread``: safe from any thread, no lock, no shared position."""
        return isinstance(self._reader, int)

    def read_at_sync(self, offset: int, size: int) -> bytes:
        """:meth:`read_at` for a positional source, from a worker thread."""
        assert isinstance(self._reader, int)
        return _pread_all(self._reader, size, offset)

    async def read_at(self, offset: int, size: int) -> bytes:
        """Exactly ``size`` bytes from ``offset`` (fewer means the file shrank)."""
        reader = self._reader
        if isinstance(reader, int):
            data = await anyio.to_thread.run_sync(_pread_all, reader, size, offset)
        elif _is_async(reader):
            async with self._lock:
                await reader.seek(offset)
                data = await _read_async(reader, size)
        else:
            async with self._lock:
                data = await anyio.to_thread.run_sync(_seek_read, reader, offset, size)
        if len(data) != size:
            raise InvalidRequestError(
                f"{self.name} changed while it was being uploaded: expected {size} bytes at "
                f"offset {offset}, read {len(data)}"
            )
        return data

    async def aclose(self) -> None:
        owned, self._owned = self._owned, None
        if owned is not None:
            # Shielded: a cancelled upload still closes its file.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(owned.close)


def _is_async(reader: Any) -> bool:
    """An async file: ``read`` and ``seek`` are coroutine functions (a Protocol check
    alone cannot tell ``async def read`` from a plain ``read``)."""
    read, seek = getattr(reader, "read", None), getattr(reader, "seek", None)
    return inspect.iscoroutinefunction(read) and inspect.iscoroutinefunction(seek)


def _pread_all(fd: int, size: int, offset: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(parts)


def _seek_read(reader: Any, offset: int, size: int) -> bytes:
    reader.seek(offset)
    parts: list[bytes] = []
    while size > 0:
        chunk = reader.read(size)
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise InvalidRequestError("the upload source must be opened in binary mode ('rb')")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


async def _read_async(reader: AsyncReadable, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        chunk = await reader.read(size)
        if not chunk:
            break
        if not isinstance(chunk, bytes):
            raise InvalidRequestError("the upload source must be opened in binary mode ('rb')")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def guess_content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


async def open_source(source: Any, filename: str | None = None) -> SourceFile:
    """Check and open ``source``; raise ``InvalidRequestError`` for anything unusable."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not isinstance(path, str) or not path:
            raise InvalidRequestError(f"not a file path: {source!r}")
        return await anyio.to_thread.run_sync(_open_path, path, filename)
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise InvalidRequestError(
            "upload takes a path or a binary file object, not bytes (wrap them in io.BytesIO)"
        )
    name = filename or os.path.basename(str(getattr(source, "name", "") or "")) or "upload.bin"
    if _is_async(source):
        end = await source.seek(0, os.SEEK_END)
        size = end if isinstance(end, int) else 0
        return _checked(SourceFile(name, size, source))
    if not (callable(getattr(source, "read", None)) and callable(getattr(source, "seek", None))):
        raise InvalidRequestError(
            f"upload source must be a path or a seekable binary file, not {type(source).__name__}"
        )
    if isinstance(source, io.TextIOBase):
        raise InvalidRequestError("the upload source must be opened in binary mode ('rb')")
    size = await anyio.to_thread.run_sync(source.seek, 0, os.SEEK_END)
    return _checked(SourceFile(name, int(size), source))


def _checked(opened: SourceFile) -> SourceFile:
    if opened.size <= 0:
        raise InvalidRequestError(f"{opened.name} is empty: Procore does not take 0-byte uploads")
    return opened


def _open_path(path: str, filename: str | None) -> SourceFile:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InvalidRequestError(f"no such file: {path}") from None
    except OSError as exc:
        raise InvalidRequestError(f"cannot read {path}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InvalidRequestError(f"{path} is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidRequestError(f"{path} is not a regular file")
    name = filename or os.path.basename(path)
    if info.st_size == 0:
        raise InvalidRequestError(f"{path} is empty: Procore does not take 0-byte uploads")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by SourceFile.aclose
    except OSError as exc:
        raise InvalidRequestError(f"cannot read {path}: {exc.strerror}") from None
    if hasattr(os, "pread"):
        return SourceFile(name, info.st_size, handle.fileno(), owned=handle)
    return SourceFile(name, info.st_size, handle, owned=handle)
