"""The frozen description of one request, and the ``Requester`` every feature sends through.

A feature (pagination, ``sync``, uploads, webhooks, the typed resources) never
builds an ``httpx`` request itself: it asks a :class:`Requester` (the client) to
``build`` a :class:`RequestSpec`, adjusts it with ``dataclasses.replace`` if it
must (a keyed sync batch is idempotent), and hands it to ``send`` or ``stream``.
The pipeline reads nothing but the spec, so what a request is allowed to do
(carry the bearer token, be paced, be resent after a failure that may have been
applied, leave the API origin) is written down in one place and visible to hooks.

This is a low layer: it imports config, errors, payloads, responses and URLs,
never the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx

from ._urls import redact_url

if TYPE_CHECKING:
    from ._config import Config
    from ._payload import Payload
    from ._response import Response

__all__ = ["Content", "IssuedURL", "RequestSpec", "Requester"]

#: Raw request bytes: ``bytes``, or a re-iterable async iterable of chunks (each
#: ``__aiter__`` starts over, so a retry resends the same bytes).  Storage legs send a
#: segment as views of one copy this way; the headers must then give Content-Length.
Content = bytes | AsyncIterable[bytes]


@dataclass(frozen=True, slots=True)
class IssuedURL:
    """A URL that Procore itself returned (a presigned storage URL, a download URL).

    The only kind of URL a request may leave the API origin for; it never gets
    the bearer token.  ``headers`` are the ones Procore said to send with it;
    ``expires_at`` (epoch seconds) is when Procore said it stops working.
    """

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expires_at: float | None = None

    def __repr__(self) -> str:
        # A presigned URL's query is a credential, and header values may be: show the
        # host and path, and the header names only.
        return (
            f"IssuedURL({self.url.partition('?')[0]!r}, headers={sorted(self.headers)!r}, "
            f"expires_at={self.expires_at!r})"
        )


@dataclass(frozen=True, init=False)
class RequestSpec:
    """The frozen description of one request; the pipeline reads nothing else.

    ``idempotent`` says the request may be resent after a failure that may have
    been applied (a lost reply, a 5xx); failures that certainly were not applied
    (refused before sending, 429, 503 with ``Retry-After``) are retried for every
    request.  ``authenticated`` adds the bearer token, ``paced`` puts the request
    through the rate pacer.  ``issued`` is set exactly when the request may leave
    the API origin, and then it is never authenticated.  ``request_body`` is the
    Python body, kept for ``Response.request_body``.  ``content`` is raw bytes
    (see :data:`Content`) for requests without a ``payload``.

    One is built per call, so construction is on the hot path: the dataclass's
    own ``__init__`` (frozen: one ``object.__setattr__`` per field, 13 of them)
    cost about as much as a tenth of httpx's own work per request; this one fills
    the instance dict in one update, and there are no slots so that it can.
    Frozen all the same, and ``dataclasses.replace`` works as usual.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    payload: Payload | None = None
    content: Content | None = None
    idempotent: bool = False
    timeout: float | httpx.Timeout | None = None
    authenticated: bool = True
    paced: bool = True
    issued: IssuedURL | None = None
    expect_redirect: bool = False
    label: str = "api"
    request_body: Any = None

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        payload: Payload | None = None,
        content: Content | None = None,
        idempotent: bool = False,
        timeout: float | httpx.Timeout | None = None,
        authenticated: bool = True,
        paced: bool = True,
        issued: IssuedURL | None = None,
        expect_redirect: bool = False,
        label: str = "api",
        request_body: Any = None,
    ) -> None:
        self.__dict__.update(
            method=method, url=url, headers=headers, payload=payload, content=content,
            idempotent=idempotent, timeout=timeout, authenticated=authenticated, paced=paced,
            issued=issued, expect_redirect=expect_redirect, label=label,
            request_body=request_body,
        )  # fmt: skip

    def __repr__(self) -> str:
        # Never the headers (the token, signatures) nor the query (secrets, signatures).
        return f"<RequestSpec {self.label} {self.method} {self.url.partition('?')[0]}>"

    def __str__(self) -> str:
        """``METHOD url`` for log lines: secret-looking query values masked, and no
        query at all for an issued URL (a presigned URL's query is its signature)."""
        url = self.url.partition("?")[0] if self.issued is not None else redact_url(self.url)
        return f"{self.method} {url}"

    @classmethod
    def storage(
        cls,
        method: str,
        issued: IssuedURL,
        *,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> RequestSpec:
        """A storage leg: ``issued.url`` with Procore's headers, no token, no pacing.

        Idempotent: it sends the same bytes to the same presigned URL, so it may
        be resent after a lost reply.
        """
        merged = dict(issued.headers)
        if headers:
            merged.update(headers)
        return cls(
            method=method.upper(),
            url=issued.url,
            headers=merged,
            content=content,
            idempotent=True,
            timeout=timeout,
            authenticated=False,
            paced=False,
            issued=issued,
            label="storage",
        )


@runtime_checkable
class Requester(Protocol):
    """What pagination, sync, files, webhooks and resources need from a client."""

    @property
    def config(self) -> Config: ...

    def build(
        self,
        method: str,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | str | None = None,
        body: Any = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        label: str = "api",
    ) -> RequestSpec:
        """The spec of one API call (URL rules and validation, before any I/O)."""
        ...

    async def send(self, spec: RequestSpec) -> Response:
        """Send ``spec`` through the whole pipeline: a 2xx ``Response`` or a typed error."""
        ...

    def stream(self, spec: RequestSpec) -> AbstractAsyncContextManager[httpx.Response]:
        """The pipeline up to a 2xx status line; the body is left for the caller to read."""
        ...
