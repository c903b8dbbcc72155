"""``Response``: a parsed Procore response that never raises when read."""

from __future__ import annotations

import json
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic
from urllib.parse import urljoin

import httpx

from ._ratelimit import RateLimit, parse_rate_limit
from ._urls import Origin

__all__ = ["Response"]

if TYPE_CHECKING:  # a TypeVar default (PEP 696): a bare ``Response`` means ``Response[Any]``
    from typing_extensions import TypeVar

    T = TypeVar("T", default=Any)
else:
    from typing import TypeVar

    T = TypeVar("T")

_RELS = ("first", "prev", "next", "last")


class Response(Generic[T]):
    """One Procore response; ``Response[Project]`` when a generated operation knows the body.

    ``body`` is the parsed JSON (``{}`` for an empty body, the text when the body
    is not JSON: reading it never raises, unlike the gem's).  ``pagination`` holds
    absolute ``first``/``prev``/``next``/``last`` URLs that ``client.get`` accepts
    as they are, so the API version of the original request is kept.
    """

    __slots__ = ("__dict__", "_logger", "_origin", "raw", "request_body")

    def __init__(
        self,
        raw: httpx.Response,
        *,
        request_body: Any = None,
        origin: Origin | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        #: The underlying ``httpx.Response``.
        self.raw = raw
        #: The Python body that was sent (None for GET/DELETE).
        self.request_body = request_body
        self._origin = origin
        self._logger = logger

    @property
    def status_code(self) -> int:
        return self.raw.status_code

    @property
    def code(self) -> int:
        """Alias of ``status_code``, the gem's name."""
        return self.raw.status_code

    @property
    def reason_phrase(self) -> str:
        return self.raw.reason_phrase

    @property
    def headers(self) -> httpx.Headers:
        """Case-insensitive response headers."""
        return self.raw.headers

    @property
    def request(self) -> httpx.Request:
        return self.raw.request

    @property
    def url(self) -> str:
        return str(self.raw.request.url)

    @property
    def is_success(self) -> bool:
        return 200 <= self.raw.status_code < 300

    @property
    def text(self) -> str:
        return self.raw.text

    @cached_property
    def body(self) -> Any:
        content = self.raw.content
        if not content.strip():
            return {}
        try:
            return json.loads(content)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            return self.raw.text

    def json(self) -> Any:
        """The parsed body (same as ``body``)."""
        return self.body

    #: Set by generated v2 operations whose body is a ``{"data": ...}`` envelope.
    envelope = False

    @property
    def data(self) -> T:
        """The typed result: ``body``, or its ``data`` when the operation wraps it (v2)."""
        body = self.body
        if self.envelope and isinstance(body, dict) and "data" in body:
            return body["data"]  # type: ignore[no-any-return]
        return body  # type: ignore[no-any-return]

    @cached_property
    def pagination(self) -> dict[str, str]:
        header = self.raw.headers.get("link")
        if not header:
            return {}
        base = str(self.raw.request.url)
        links: dict[str, str] = {}
        for link in self.raw.links.values():
            rel = link.get("rel", "").strip(" \"',")
            target = link.get("url", "").strip(" <>'\"")
            if rel not in _RELS or not target:
                continue
            try:
                url = urljoin(base, target)
                foreign = self._origin is not None and not self._origin.owns(url)
            except ValueError:  # a bad port or IPv6 literal: skip it, never crash a read
                self._warn("ignoring a malformed %s link", rel)
                continue
            if foreign:
                self._warn("ignoring a %s link to another host", rel)
                continue
            links[rel] = url
        if not links and self._logger is not None:
            self._warn("ignoring a Link header with no usable links (status %s)", self.status_code)
        return links

    @property
    def total(self) -> int | None:
        """The ``Total`` header: how many items the whole collection has."""
        return _int_header(self.raw.headers, "total")

    @property
    def per_page(self) -> int | None:
        """The ``Per-Page`` header: the page size the server used."""
        return _int_header(self.raw.headers, "per-page")

    @property
    def request_id(self) -> str | None:
        value: str | None = self.raw.headers.get("x-request-id")
        return value

    @cached_property
    def rate_limit(self) -> RateLimit | None:
        """The parsed ``X-Rate-Limit-*`` headers, or None when the server sent none."""
        return parse_rate_limit(self.raw.headers)

    def _warn(self, message: str, *args: object) -> None:
        if self._logger is not None:
            self._logger.warning(message, *args)

    def __repr__(self) -> str:
        request = self.raw.request
        return f"<Response [{self.status_code}] {request.method} {request.url.path}>"


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    # Plain ASCII digits only: int() would also take "-3", "1_000" and other scripts' digits.
    value = (headers.get(name) or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None
