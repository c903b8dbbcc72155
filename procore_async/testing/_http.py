"""Just enough ASGI plumbing for the fake: read a request, build and send a reply.

The fake deliberately has no web framework under it: every header it emits is written
here, byte for byte, so the tests that pin Procore's wire format test this code and not
a framework's defaults.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "ASGIReceive",
    "ASGISend",
    "BodyError",
    "Reply",
    "Request",
    "json_reply",
    "read_request",
    "text_reply",
]

ASGIReceive = Callable[[], Awaitable[MutableMapping[str, Any]]]
ASGISend = Callable[[MutableMapping[str, Any]], Awaitable[None]]

JSON_TYPE = "application/json; charset=utf-8"


class BodyError(ValueError):
    """The request body could not be parsed as the content type it claims."""


@dataclass(slots=True)
class Request:
    """One HTTP request as the fake sees it: decoded once, read many times."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    scheme: str
    host: str
    _params: dict[str, str] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        """``scheme://host`` as the client named it, so Link URLs point back at the caller."""
        return f"{self.scheme}://{self.host}"

    def param(self, name: str) -> str | None:
        """The first query value of ``name`` (Rack keeps the last; nobody sends two)."""
        if self._params is None:
            self._params = {}
            for key, value in self.query:
                self._params.setdefault(key, value)
        return self._params.get(name)

    def parse_body(self) -> dict[str, Any]:
        """The body as a dict, from JSON, urlencoded or multipart form; {} when empty."""
        if not self.body.strip():
            return {}
        ctype = self.headers.get("content-type", "").lower()
        if ctype.startswith("application/x-www-form-urlencoded"):
            try:
                return dict(parse_qsl(self.body.decode(), keep_blank_values=True))
            except UnicodeDecodeError as exc:
                raise BodyError("form body is not UTF-8") from exc
        if ctype.startswith("multipart/form-data"):
            return _parse_multipart(self.body, ctype)
        try:
            data = json.loads(self.body)
        except ValueError as exc:
            raise BodyError("body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise BodyError("JSON body must be an object")
        return data

    def basic_auth(self) -> tuple[str, str] | None:
        """HTTP Basic credentials, which some clients use on the token endpoint."""
        value = self.headers.get("authorization", "")
        if value[:6].lower() != "basic ":
            return None
        try:
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, password

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        if value[:7].lower() != "bearer ":
            return None
        return value[7:].strip() or None


def _parse_multipart(body: bytes, ctype: str) -> dict[str, Any]:
    """Text fields of a multipart form (``curl -F``, as Procore's OAuth docs use)."""
    boundary = ""
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise BodyError("multipart body without a boundary")
    fields: dict[str, Any] = {}
    for chunk in body.split(b"--" + boundary.encode()):
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        name = None
        for line in head.decode("latin-1").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for item in line.split(";")[1:]:
                    key, _, value = item.strip().partition("=")
                    if key == "name":
                        name = value.strip('"')
        if name is not None:
            fields[name] = content.removesuffix(b"\r\n").decode("utf-8", "replace")
    return fields


@dataclass(slots=True)
class Reply:
    """A response before the per-request headers (request id, rate limits) are added."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = JSON_TYPE

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        lname = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lname]
        self.headers.append((name, value))

    def encoded_headers(self, extra: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
        raw = [(b"content-length", str(len(self.body)).encode())]
        if self.content_type is not None and self.status != 204:
            raw.append((b"content-type", self.content_type.encode()))
        for key, value in (*self.headers, *extra):
            raw.append((key.lower().encode(), value.encode("latin-1")))
        return raw


def json_reply(status: int, data: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Reply(status, body, list(headers))


def text_reply(status: int, text: str, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    return Reply(status, text.encode(), list(headers), "text/plain; charset=utf-8")


async def read_request(scope: MutableMapping[str, Any], receive: ASGIReceive) -> Request:
    """Collect the whole body; the fake never streams, and bodies are small."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    headers: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        headers[key.decode("latin-1").lower()] = value.decode("latin-1")
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    query_string = scope.get("query_string", b"").decode("latin-1")
    return Request(
        method=scope["method"].upper(),
        path=scope["path"],
        query=parse_qsl(query_string, keep_blank_values=True),
        headers=headers,
        body=b"".join(chunks),
        scheme=scope.get("scheme", "http"),
        host=host,
    )
