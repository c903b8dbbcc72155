"""Where an import's rows come from: a CSV/JSONL file, or a source registered on the workers.

The workflow never carries rows.  A shard names a row range, and the activity that
runs it asks the source for exactly those rows: a :class:`FileSource` re-reads the
file from its start (skipping is a fast line scan, done in a worker thread so the
event loop keeps serving heartbeats), a custom :class:`RowSource` can seek however
its storage allows (a SQL ``OFFSET``, an object-store range, a cursor).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

import anyio
import anyio.to_thread

from ..._errors import InvalidRequestError
from ._errors import UnkeyedImportError

__all__ = ["FileSource", "RowSource", "is_keyed", "row_key"]

# Rows pulled from a file per thread hop: big enough to amortise the hop.
_CHUNK = 1000


@runtime_checkable
class RowSource(Protocol):
    """Rows for an import, readable by range from any worker.

    ``count`` is called once, by the planning activity; ``rows`` by every shard
    activity, with the shard's bounds (0-based, ``stop`` exclusive).  Both receive
    the import's ``location`` and ``params``.  Rows are mappings sent as sync updates.
    """

    async def count(self, location: str, params: Mapping[str, Any]) -> int: ...

    def rows(
        self, location: str, params: Mapping[str, Any], start: int, stop: int
    ) -> AsyncIterator[Mapping[str, Any]]: ...


def is_keyed(row: Mapping[str, Any]) -> bool:
    """Whether a sync would match the row to one record: it has ``id`` or ``origin_id``."""
    return any(row.get(key) not in (None, "") for key in ("id", "origin_id"))


def row_key(row: Mapping[str, Any]) -> str | None:
    """``id:<id>`` or ``origin_id:<origin_id>``, the way a report names a row."""
    for key in ("id", "origin_id"):
        value = row.get(key)
        if value not in (None, ""):
            return f"{key}:{value}"
    return None


def require_keyed(row: Any, number: int) -> Mapping[str, Any]:
    """The row, or the error that refuses the whole import (before anything is sent)."""
    if not isinstance(row, Mapping):
        raise InvalidRequestError(f"import row {number} is not an object")
    if not is_keyed(row):
        raise UnkeyedImportError(
            f"import row {number} has neither 'id' nor 'origin_id': a fleet import is "
            "at least once (a shard whose worker dies is sent again), and only keyed rows "
            "make a second send an update instead of a duplicate. Give every row an "
            "origin_id (your system's id for it), or use client.sync for a one-shot import."
        )
    return row


class FileSource:
    """A ``.csv`` (header row; empty cells left out) or ``.jsonl``/``.ndjson`` file."""

    async def count(self, location: str, params: Mapping[str, Any]) -> int:
        """Count the rows, checking each is an object with a key (the whole file is read)."""

        def scan() -> int:
            number = 0
            with _open(location) as handle:
                for number, row in enumerate(_parse(location, handle), 1):
                    require_keyed(row, number)
            return number

        return await anyio.to_thread.run_sync(scan)

    async def rows(
        self, location: str, params: Mapping[str, Any], start: int, stop: int
    ) -> AsyncIterator[Mapping[str, Any]]:
        handle = await anyio.to_thread.run_sync(_open, location)
        try:
            parsed = _parse(location, handle, skip=start)
            left = stop - start
            while left > 0:
                chunk = await anyio.to_thread.run_sync(_take, parsed, min(_CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                for row in chunk:
                    yield row
        finally:
            # Not awaited: a file opened for reading closes at once, and an await here
            # would not run when the generator is closed by cancellation.
            handle.close()


def _open(location: str) -> IO[str]:
    return Path(location).open(encoding="utf-8", newline="")


def _take(rows: Iterator[Any], count: int) -> list[Any]:
    return list(islice(rows, count))


def _parse(location: str, handle: IO[str], *, skip: int = 0) -> Iterator[Any]:
    """The rows of the file after the first ``skip`` (which are scanned, not parsed, in JSONL).

    Skipping is where a shard near the end of a big file spends its start-up, so a JSONL
    line is only checked for being blank; a CSV row must be parsed (a quoted cell may
    hold a newline), which the csv module does at C speed.
    """
    if location.lower().endswith(".csv"):
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise InvalidRequestError(f"{location}: the CSV file has no header row")
        for _ in islice(reader, skip):
            pass
        for row in reader:
            if None in row:
                raise InvalidRequestError(
                    f"{location} line {reader.line_num}: more cells than columns"
                )
            yield {key: value for key, value in row.items() if value not in ("", None)}
        return
    skipped = 0
    while skip > 0:
        line = handle.readline()
        if not line:
            return
        skipped += 1
        if line.strip():
            skip -= 1
    for number, line in enumerate(handle, skipped + 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:
            raise InvalidRequestError(f"{location} line {number} is not valid JSON") from None
