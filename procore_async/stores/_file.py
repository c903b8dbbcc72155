"""A token file shared by the processes of one machine: many keys, atomic replace, flock.

The file is a JSON object mapping each store key to the gem's token shape.  Writers
take an exclusive ``flock`` on a sidecar ``<path>.lock`` for the whole
read-modify-write, write a temp file in the same directory (mode 0600 from its
creation), fsync it and ``os.replace`` it over the old file.  So a reader always
sees a complete file, two processes saving different keys never drop each other's
entry, and a writer killed half-way leaves the previous file intact.

The Ruby gem's ``YAML::Store`` files (``!ruby/object:Procore::Auth::Token`` entries)
are read by a small reader for exactly that shape, so PyYAML is not needed; the first
save rewrites the file as JSON.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiofiles
import anyio

from .._errors import TokenStoreError
from ..auth._token import Token, normalize_expires_at

__all__ = ["FileStore"]

_Entries = dict[str, dict[str, Any]]

# (lock file, task id) pairs for the flocks held in this context: lets ``save`` run
# inside ``lock()`` without flocking the file again and deadlocking.  The task id
# matters: a task spawned inside ``lock()`` inherits the context but not the lock.
_held_locks: ContextVar[frozenset[tuple[str, int]]] = ContextVar(
    "procore_async_file_locks", default=frozenset()
)

_MODE = 0o600
_FIELDS = ("access_token", "refresh_token", "expires_at")
_RUBY_TAG = "!ruby/object:Procore::Auth::Token"
_RUBY_TIME = re.compile(
    r"(\d{4}-\d\d-\d\d)[ Tt](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?"
)


class FileStore:
    """Keeps tokens in a file on local disk, one entry per ``key``, safe across processes.

    Pick it for scripts and single-machine workers.  The file holds live credentials,
    so it is written with mode 0600.  A file that cannot be read as tokens raises
    :class:`~procore_async.TokenStoreError` naming the path; it is never treated as
    empty and never overwritten, because that would silently log the user out.

    ``lock()`` is the same exclusive file lock, so processes sharing the file refresh
    a token once between them.
    """

    __slots__ = ("_entry", "_lock_path", "key", "path")

    def __init__(self, path: str | os.PathLike[str], key: str | int = "default") -> None:
        self.path = Path(path).expanduser()
        self.key = key
        # JSON object keys are strings; the gem's integer key 7 is entry "7".
        self._entry = str(key)
        self._lock_path = f"{self.path}.lock"

    async def fetch(self) -> Token | None:
        # No lock: os.replace means a reader sees the old or the new file, never half.
        entry = (await self._read()).get(self._entry)
        if entry is None:
            return None
        try:
            return Token.from_dict(entry)
        except TokenStoreError as exc:
            raise TokenStoreError(f"token file {self.path}, key {self.key!r}: {exc}") from None

    async def save(self, token: Token) -> None:
        async with self._exclusive():
            entries = await self._read()
            entries[self._entry] = token.to_dict()
            await self._write(entries)

    async def delete(self) -> None:
        async with self._exclusive():
            entries = await self._read()
            if entries.pop(self._entry, None) is not None:
                await self._write(entries)

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
        waiter = _FlockWaiter(self._lock_path)
        try:
            fd = await anyio.to_thread.run_sync(waiter.wait, abandon_on_cancel=True)
        except BaseException:
            waiter.abandon()
            raise
        reset = _held_locks.set(held | {mine})
        try:
            yield
        finally:
            _held_locks.reset(reset)
            # Closing the descriptor releases the flock; it never waits on disk.
            os.close(fd)

    async def _read(self) -> _Entries:
        try:
            async with aiofiles.open(self.path, "rb") as file:
                raw = await file.read()
        except FileNotFoundError:
            return {}
        try:
            return _parse(raw)
        except _CorruptFile as exc:
            raise TokenStoreError(
                f"token file {self.path} is corrupt ({exc}); fix or remove it"
            ) from None

    async def _write(self, entries: _Entries) -> None:
        data = (json.dumps(entries, indent=2) + "\n").encode()
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


class _FlockWaiter:
    """A blocking ``flock`` in a worker thread that a cancelled task can walk away from.

    The thread cannot be interrupted, so on cancel the task marks the wait abandoned
    and leaves; whichever side comes second (the thread getting the lock, or the
    task giving up) closes the descriptor, so an abandoned lock is never kept.
    """

    __slots__ = ("_abandoned", "_fd", "_mutex", "_path")

    def __init__(self, path: str) -> None:
        self._path = path
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._abandoned = False

    def wait(self) -> int:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, _MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        with self._mutex:
            if self._abandoned:
                os.close(fd)
                return -1
            self._fd = fd
        return fd

    def abandon(self) -> None:
        with self._mutex:
            self._abandoned = True
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _private_opener(path: str, flags: int) -> int:
    # 0600 from creation (and again after umask), before a byte of the token is written.
    fd = os.open(path, flags | os.O_EXCL, _MODE)
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


class _CorruptFile(Exception):
    """The file's content is not a token file; the message never quotes the content."""


def _parse(raw: bytes) -> _Entries:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _CorruptFile("not UTF-8 text") from None
    text = text.lstrip("\ufeff").strip()
    if not text:
        return {}
    if not text.startswith(("{", "[")):
        return _parse_gem_yaml(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _CorruptFile(f"invalid JSON at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise _CorruptFile("the top level is not an object")
    for value in data.values():
        if not isinstance(value, dict):
            raise _CorruptFile("an entry is not an object")
    return data


def _parse_gem_yaml(text: str) -> _Entries:
    """Read the mapping of Ruby token objects that the gem's ``YAML::Store`` writes.

    Top-level ``key: !ruby/object:Procore::Auth::Token`` lines (integer, plain or
    quoted keys; an untagged mapping is accepted too), each followed by indented
    ``field: scalar`` lines.  Anything else is reported by line number only, since
    the line itself may hold a token.
    """
    entries: _Entries = {}
    current: dict[str, Any] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            current = None
            if stripped in ("...", "{}"):
                continue
            if stripped.startswith("---"):  # document start, maybe "--- {}" when empty
                if re.sub(r"(^|\s)#.*$", "", stripped[3:]).strip() not in ("", "{}"):
                    raise _CorruptFile(f"line {number}: unexpected document content")
                continue
            key, rest = _split_pair(stripped, number)
            if rest not in ("", "{}", "~", "null", _RUBY_TAG, f"{_RUBY_TAG} {{}}"):
                raise _CorruptFile(f"line {number}: expected a {_RUBY_TAG} entry")
            current = entries[_scalar(key, number) or ""] = {}
        elif current is None:
            raise _CorruptFile(f"line {number}: indented line outside an entry")
        else:
            field, rest = _split_pair(stripped, number)
            if field in _FIELDS:
                value: str | int | None = _scalar(rest, number)
                if field == "expires_at" and isinstance(value, str):
                    value = _epoch_or_text(value)
                current[field] = value
    # An entry without fields is Ruby's nil: the key holds no token.
    return {key: fields for key, fields in entries.items() if fields}


def _split_pair(text: str, number: int) -> tuple[str, str]:
    if text[0] in "'\"":
        end = _closing_quote(text, number)
        head, tail = text[: end + 1], text[end + 1 :].lstrip()
        if not tail.startswith(":"):
            raise _CorruptFile(f"line {number}: expected 'key: value'")
        return head, tail[1:].strip()
    match = re.search(r":(\s|$)", text)
    if match is None:
        raise _CorruptFile(f"line {number}: expected 'key: value'")
    return text[: match.start()].strip(), text[match.end() :].strip()


def _closing_quote(text: str, number: int) -> int:
    quote, index = text[0], 1
    while index < len(text):
        char = text[index]
        if quote == '"' and char == "\\":
            index += 2
            continue
        if char == quote:
            if quote == "'" and text[index + 1 : index + 2] == "'":
                index += 2
                continue
            return index
        index += 1
    raise _CorruptFile(f"line {number}: unterminated quoted string")


def _scalar(text: str, number: int) -> str | None:
    if text[:1] == "'":
        end = _closing_quote(text, number)
        return text[1:end].replace("''", "'")
    if text[:1] == '"':
        end = _closing_quote(text, number)
        try:
            value = json.loads(text[: end + 1])
        except ValueError:
            raise _CorruptFile(f"line {number}: unsupported escape in a quoted string") from None
        return str(value)
    plain = re.sub(r"\s+#.*$", "", text).strip()
    if plain in ("", "~", "null", "Null", "NULL"):
        return None
    if plain[0] in "!&*|>[{":
        raise _CorruptFile(f"line {number}: unsupported YAML value")
    return plain


def _epoch_or_text(value: str) -> int | str:
    """Epoch seconds from an integer or a Ruby ``Time`` (``2023-11-14 22:13:20.000000000 Z``).

    Text that is neither is kept, so only a fetch of that very key fails on it.
    """
    try:
        epoch = normalize_expires_at(_ruby_time_to_iso(value))
    except ValueError:
        return value
    return value if epoch is None else epoch


def _ruby_time_to_iso(value: str) -> str:
    match = _RUBY_TIME.fullmatch(value)
    if match is None:
        return value
    day, clock, fraction, zone = match.groups()
    zone = "+00:00" if zone in (None, "Z", "UTC") else zone
    if len(zone) == 3:
        zone += ":00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    return f"{day}T{clock}{fraction or ''}{zone}"
