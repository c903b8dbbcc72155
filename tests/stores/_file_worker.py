"""Child process for the FileStore tests: ``python _file_worker.py PATH PREFIX COUNT PAD``.

Saves COUNT tokens (forever when COUNT is -1), each under a new key ``PREFIX-<n>``,
so that a lost update shows up as a missing key.  PAD characters added to each
access token make a write big enough for a ``kill -9`` to land in the middle of it.
"""

from __future__ import annotations

import sys

import anyio

from procore_async.auth import Token
from procore_async.stores import FileStore


async def main(path: str, prefix: str, count: int, pad: int) -> None:
    padding = "x" * pad
    n = 0
    while count < 0 or n < count:
        store = FileStore(path=path, key=f"{prefix}-{n}")
        await store.save(Token(f"{prefix}-{n}-{padding}", "refresh", 1_700_000_000 + n))
        n += 1


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
