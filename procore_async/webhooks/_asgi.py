"""The receiver's bit of ASGI: read a bounded body, send a small JSON reply.

No framework underneath, so the receiver mounts anywhere (Starlette, FastAPI, bare
uvicorn) and costs one dict and two ``send`` calls per delivery.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any

__all__ = ["ASGIReceive", "ASGISend", "Scope", "read_body", "respond"]

Scope = MutableMapping[str, Any]
ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _declared_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            text = value.strip()
            return int(text) if text.isdigit() else None
    return None


async def read_body(
    receive: ASGIReceive, headers: Sequence[tuple[bytes, bytes]], limit: int
) -> bytes | None:
    """The whole body, or None as soon as it is known to be longer than ``limit``.

    A declared ``Content-Length`` over the limit is refused before reading anything;
    a chunked body is counted as it arrives, so an oversized one is never held.
    """
    declared = _declared_length(headers)
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def respond(
    send: ASGISend, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()
) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
