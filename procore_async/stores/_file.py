"""A token file shared by the processes of one machine: many keys, atomic replace, a lock.

The file is a JSON object mapping each store key to the gem's token shape, or the
Ruby gem's own ``YAML::Store`` file.  Writers take an exclusive lock on a sidecar
``<path>.lock`` (``flock``; ``filelock`` on Windows) for the whole read-modify-write,
write a temp file in the same directory (mode 0600 from its creation), fsync it and
``os.replace`` it over the old file.  So a reader always sees a complete file, two
processes saving different keys never drop each other's entry, and a writer killed
half-way leaves the previous file intact.

A file keeps its format: one the gem wrote (``!ruby/object:Procore::Auth::Token``
entries) is written back as the same YAML, so a Ruby app sharing it keeps working
after a Python refresh (the first release rewrote it as JSON, and the gem crashed).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiofiles
import anyio

from .._errors import TokenStoreError
from ..auth._token import Token
from . import _gem_yaml
from ._gem_yaml import CorruptFile, Key
from ._locking import Backend, LockWaiter

__all__ = ["FileStore"]

Format = Literal["auto", "json", "yaml"]

# (lock file, task id) pairs for the flocks held in this context: lets ``save`` run
# inside ``lock()`` without flocking the file again and deadlocking.  The task id
# matters: a task spawned inside ``lock()`` inherits the context but not the lock.
_held_locks: ContextVar[frozenset[tuple[str, int]]] = ContextVar(
    "procore_async_file_locks", default=frozenset()
)

_MODE = 0o600


@dataclass
class _TokenFile:
    """The entries of one file and the format they were read in.

    A gem file keeps Ruby's Integer keys (``7``) apart from String keys (``"7"``);
    a store looks its key up in its own type first, then in the other, so
    ``FileStore(key=7)`` and ``FileStore(key="7")`` both find the gem's entry 7.
    """

    format: Literal["json", "yaml"] = "json"
    entries: dict[Key, dict[str, Any]] = field(default_factory=dict)

    def _found(self, key: Key) -> Key | None:
        if key in self.entries:
            return key
        other: Key | None = str(key) if isinstance(key, int) else None
        if isinstance(key, str) and key.isascii() and key.isdigit():
            other = int(key)
        return other if other is not None and other in self.entries else None

    def get(self, key: Key) -> dict[str, Any] | None:
        found = self._found(key)
        return None if found is None else self.entries[found]

    def put(self, key: Key, fields: dict[str, Any]) -> None:
        found = self._found(key)
        if found is None:  # JSON object keys are strings; the gem's YAML keeps the type
            found = key if self.format == "yaml" else str(key)
        self.entries[found] = fields

    def pop(self, key: Key) -> bool:
        found = self._found(key)
        return found is not None and self.entries.pop(found, None) is not None

    def render(self) -> bytes:
        if self.format == "yaml":
            return _gem_yaml.dump(self.entries).encode()
        return (json.dumps({str(k): v for k, v in self.entries.items()}, indent=2) + "\n").encode()


class FileStore:
    """Keeps tokens in a file on local disk, one entry per ``key``, safe across processes.

    Pick it for scripts and single-machine workers.  The file holds live credentials,
    so it is written with mode 0600.  A file that cannot be read as tokens raises
    :class:`~procore_async.TokenStoreError` naming the path; it is never treated as
    empty and never overwritten, because that would silently log the user out.

    ``lock()`` is the same exclusive file lock, so processes sharing the file refresh
    a token once between them.

    ``format``: ``"auto"`` (the default) keeps an existing file's format (the gem's
    YAML stays YAML the gem reads) and starts a new file as JSON; ``"yaml"`` writes the
    gem's YAML (for a new file a Ruby app will share); ``"json"`` always writes JSON.
    """

    __slots__ = ("_backend", "_lock_path", "format", "key", "path")

    def __init__(
        self,
        path: str | os.PathLike[str],
        key: str | int = "default",
        *,
        format: Format = "auto",
        lock_backend: Backend | None = None,
    ) -> None:
        if format not in ("auto", "json", "yaml"):
            raise ValueError(f"format must be 'auto', 'json' or 'yaml', not {format!r}")
        self.path = Path(path).expanduser()
        self.key = key
        self.format = format
        self._backend = lock_backend
        self._lock_path = f"{self.path}.lock"

    async def fetch(self) -> Token | None:
        # No lock: os.replace means a reader sees the old or the new file, never half.
        entry = (await self._read()).get(self.key)
        if entry is None:
            return None
        try:
            return Token.from_dict(entry)
        except TokenStoreError as exc:
            raise TokenStoreError(f"token file {self.path}, key {self.key!r}: {exc}") from None

    async def save(self, token: Token) -> None:
        async with self._exclusive():
            file = await self._read()
            file.put(self.key, token.to_dict())
            await self._write(file)

    async def delete(self) -> None:
        async with self._exclusive():
            file = await self._read()
            if file.pop(self.key):
                await self._write(file)

    def lock(self) -> AbstractAsyncContextManager[object]:
        """Hold the file's exclusive lock; ``save``/``delete`` inside it do not re-lock."""
        return self._exclusive()

    def __repr__(self) -> str:
        return f"FileStore(path={os.fspath(self.path)!r}, key={self.key!r})"

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        held = _held_locks.get()
        mine = (self._lock_path, anyio.get_current_task().id)
        if mine in held:
            yield
            return
        waiter = LockWaiter(self._lock_path, self._backend)
        try:
            release = await anyio.to_thread.run_sync(waiter.wait, abandon_on_cancel=True)
        except BaseException:
            waiter.abandon()
            raise
        assert release is not None  # None only once abandoned, which raised above
        reset = _held_locks.set(held | {mine})
        try:
            yield
        finally:
            _held_locks.reset(reset)
            release()

    async def _read(self) -> _TokenFile:
        try:
            async with aiofiles.open(self.path, "rb") as file:
                raw = await file.read()
        except FileNotFoundError:
            raw = b""
        try:
            parsed = _parse(raw)
        except CorruptFile as exc:
            raise TokenStoreError(
                f"token file {self.path} is corrupt ({exc}); fix or remove it"
            ) from None
        if self.format != "auto":
            parsed.format = self.format
        return parsed

    async def _write(self, tokens: _TokenFile) -> None:
        data = tokens.render()
        temp = self.path.parent / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
        try:
            async with aiofiles.open(temp, "wb", opener=_private_opener) as file:
                await file.write(data)
                await file.flush()
                await anyio.to_thread.run_sync(os.fsync, file.fileno())
            await anyio.to_thread.run_sync(_replace_durably, temp, self.path)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_unlink_quietly, temp)
            raise


def _private_opener(path: str, flags: int) -> int:
    # 0600 from creation (and again after umask), before a byte of the token is written.
    fd = os.open(path, flags | os.O_EXCL, _MODE)
    if hasattr(os, "fchmod"):  # not on Windows before 3.13, where modes barely apply
        os.fchmod(fd, _MODE)
    return fd


def _replace_durably(temp: Path, path: Path) -> None:
    os.replace(temp, path)
    with contextlib.suppress(OSError):  # directory fsync is not possible everywhere
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    # Under the flock no other writer is active, so any temp file left is from a
    # writer that died mid-write; it may hold a token, so it goes.
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        for name in os.listdir(path.parent):
            if name.startswith(prefix) and name.endswith(".tmp"):
                _unlink_quietly(path.parent / name)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _parse(raw: bytes) -> _TokenFile:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptFile("not UTF-8 text") from None
    text = text.lstrip("\ufeff").strip()
    if not text:
        return _TokenFile()
    if not text.startswith(("{", "[")):
        return _TokenFile("yaml", _gem_yaml.parse(text))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFile(f"invalid JSON at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise CorruptFile("the top level is not an object")
    for value in data.values():
        if not isinstance(value, dict):
            raise CorruptFile("an entry is not an object")
    return _TokenFile("json", dict(data))
