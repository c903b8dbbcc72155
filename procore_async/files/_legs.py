"""TEMPORARY adapter: the pipeline interface (``IssuedURL``, ``RequestSpec``, a requester's
``build``/``send``/``stream``) for the storage legs, on top of today's ``AsyncClient``.

At merge this module is replaced by ``procore_async._request`` and the client itself
(which implements ``Requester``); nothing else in ``procore_async.files`` touches the
client's internals.  It serves exactly these calls:

* ``requester_for(client)``: the requester the files code talks to;
* ``RequestSpec.storage(method, issued, content=..., headers=...)`` + ``send(spec)``: one
  storage PUT (a segment) with the headers Procore returned, never ``Authorization``,
  retried on its own by the client's ``RetryPolicy`` (a PUT of the same bytes is idempotent);
* ``stream(spec)``: a storage GET whose body is left for the caller to stream (downloads);
* ``build("GET", path, ...)`` + ``send(replace(spec, expect_redirect=True))``: an API call
  whose 3xx is returned, not raised, so a download can follow ``Location`` without the token.

One thing the real pipeline must keep for the memory figures in docs/benchmarks.md: a
storage PUT's ``content`` goes to httpx as views of the one copy (:class:`_Chunks`), and
is released when the attempt ends (see its docstring); sent as plain ``bytes``, a 1 GiB
upload grows by ~200 MiB instead of ~45.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._config import Config
from .._errors import Error, InvalidRequestError, error_for_response
from .._response import Response
from .._retry import connection_error
from .._urls import Origin, build_url

__all__ = ["IssuedURL", "RequestSpec", "requester_for", "with_redirect"]


@dataclass(frozen=True, slots=True)
class IssuedURL:
    """A URL Procore itself returned; the only kind a request may leave the API origin for."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expires_at: float | None = None

    def __repr__(self) -> str:
        # The query is the credential (a signature); header values may be too.
        return (
            f"IssuedURL(url={self.url.partition('?')[0]!r}, headers={sorted(self.headers)!r}, "
            f"expires_at={self.expires_at!r})"
        )


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """The frozen description of one request (the subset the files code uses)."""

    method: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    content: bytes | None = field(default=None, repr=False)
    idempotent: bool = False
    timeout: float | httpx.Timeout | None = None
    authenticated: bool = True
    paced: bool = True
    issued: IssuedURL | None = None
    expect_redirect: bool = False
    label: str = "api"

    @classmethod
    def storage(
        cls,
        method: str,
        issued: IssuedURL,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> RequestSpec:
        merged = {**issued.headers, **(headers or {})}
        return cls(
            method.upper(),
            issued.url,
            merged,
            content,
            True,
            timeout,
            False,
            False,
            issued,
            False,
            "storage",
        )


class _Requester:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._http: httpx.AsyncClient = client._http
        self._policy = client.retry_policy

    @property
    def config(self) -> Config:
        config: Config = self._client.config
        return config

    def build(
        self,
        method: str,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        label: str = "api",
    ) -> RequestSpec:
        url = build_url(
            Origin(self.config.host), path, version or self.config.default_version, query
        )
        headers = {} if company_id is None else {"Procore-Company-Id": str(company_id)}
        return RequestSpec(method.upper(), url, headers, idempotent=True, label=label)

    async def send(self, spec: RequestSpec) -> Response:
        if spec.issued is None:
            company = spec.headers.get("Procore-Company-Id")
            try:
                response: Response = await self._client.request(
                    spec.method, spec.url, company_id=company, timeout=spec.timeout
                )
            except Error as exc:
                status = exc.status_code or 0
                if spec.expect_redirect and 300 <= status < 400 and exc.response is not None:
                    return exc.response
                raise
            return response
        headers = _storage_headers(spec)

        if spec.content is not None and not any(k.lower() == "content-length" for k in headers):
            headers["Content-Length"] = str(len(spec.content))

        async def attempt() -> Response:
            content = None if spec.content is None else _Chunks(spec.content)
            try:
                raw = await self._http.request(
                    spec.method,
                    spec.url,
                    headers=headers,
                    content=content,
                    timeout=_timeout(spec),
                )
            except httpx.TransportError as exc:
                raise connection_error(exc) from exc
            finally:
                if content is not None:
                    content.release()
            return _checked(raw)

        result: Response = await self._policy.call(
            attempt, idempotent=spec.idempotent, what=f"{spec.method} storage"
        )
        return result

    @asynccontextmanager
    async def stream(self, spec: RequestSpec) -> AsyncIterator[httpx.Response]:
        headers = _storage_headers(spec)

        async def attempt() -> httpx.Response:
            request = self._http.build_request(
                spec.method, spec.url, headers=headers, timeout=_timeout(spec)
            )
            try:
                raw = await self._http.send(request, stream=True)
            except httpx.TransportError as exc:
                raise connection_error(exc) from exc
            if raw.is_success:
                return raw
            try:
                await raw.aread()
            finally:
                await raw.aclose()
            _checked(raw)
            raise AssertionError("unreachable")  # pragma: no cover

        raw: httpx.Response = await self._policy.call(
            attempt, idempotent=True, what=f"{spec.method} storage"
        )
        try:
            yield raw
        finally:
            await raw.aclose()


class _Chunks:
    """A segment as 1 MiB views, not one ``bytes``: h11 joins what it is given into a new
    ``bytes`` and asyncio copies what the socket did not take, so one 8 MiB piece costs
    8 MiB twice more per segment in flight; views of the one copy cost nothing."""

    __slots__ = ("_data",)
    _STEP = 1024 * 1024

    def __init__(self, data: bytes) -> None:
        self._data = data

    def release(self) -> None:
        """Let go of the segment: httpx's response and request stay alive in a reference
        cycle until the garbage collector runs, and would keep 8 MiB each with them."""
        self._data = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        view = memoryview(self._data)
        for start in range(0, len(view), self._STEP):
            # A memoryview is what h11 and the socket take; typed as bytes for httpx.
            yield view[start : start + self._STEP]  # type: ignore[misc]


def _storage_headers(spec: RequestSpec) -> dict[str, str]:
    """The headers of a storage leg: exactly the spec's, and never a credential."""
    if spec.issued is None or spec.issued.url != spec.url:
        raise InvalidRequestError("a storage request needs the URL Procore issued for it")
    headers = dict(spec.headers)
    if any(name.lower() == "authorization" for name in headers):
        raise InvalidRequestError("a storage request must not carry an Authorization header")
    return headers


def _timeout(spec: RequestSpec) -> Any:
    return httpx.USE_CLIENT_DEFAULT if spec.timeout is None else spec.timeout


def _checked(raw: httpx.Response) -> Response:
    response = Response(raw)
    if not raw.is_success:
        raise error_for_response(response)
    return response


def requester_for(client: Any) -> _Requester:
    """The requester the files code sends through (at merge: the client itself)."""
    return _Requester(client)


def with_redirect(spec: RequestSpec) -> RequestSpec:
    """``spec`` asking for a 3xx to be returned rather than raised."""
    return dataclasses.replace(spec, expect_redirect=True)
