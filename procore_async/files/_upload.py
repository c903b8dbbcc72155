"""The direct-upload flow: create the upload, send segments to storage, complete it.

Procore's flow (``tutorial_unified_uploads.md``; v1.1 in ``tutorial_uploads.md``):

1. ``POST .../uploads`` declares the file and every segment (size, sha256, md5) and
   answers with one presigned storage URL, and the headers to send with it, per segment;
2. each segment is ``PUT`` to its URL with exactly those headers and **no bearer token**,
   and storage answers with an ``ETag``;
3. ``PATCH .../uploads/{id}`` hands the ETags back, in segment order;
4. (v2.1) ``GET .../uploads/{id}`` until ``status`` is ``available``.

Segments go concurrently behind a limiter, each read from the source when its turn
comes (at most ``concurrency`` segments in memory), each retried on its own by the
pipeline's retry policy.  A URL that expired (before sending, or refused with 403) is
renewed by asking Procore for the upload again, once for every segment that needs it.
v2.1 is tried first; a 404 there (an account without unified uploads) falls back to
v1.1 segmented uploads, which take the same plan.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import anyio
import anyio.abc

from .._errors import APIConnectionError, Error, ForbiddenError, InvalidRequestError, NotFoundError
from .._response import Response
from ._legs import IssuedURL, RequestSpec, requester_for
from ._models import ChecksumMismatchError, Upload, UploadError
from ._plan import Plan, Segment, check_segment_size, choose_segment_size, plan_upload
from ._source import Source, guess_content_type, open_source

__all__ = ["ApiClient", "ProgressCallback", "upload_file"]

ProgressCallback = Callable[[int, int], Any]
_VERSIONS = ("v2.1", "v1.1")
_DEFAULT_CONCURRENCY = 4
#: Renew a URL this many seconds before Procore says it expires.
_EXPIRY_MARGIN = 5.0
_MAX_RENEWALS = 5
_CHECKSUM_CODES = ("BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody", "InvalidDigest")


class ApiClient(Protocol):
    """What the files code needs from a client: its config and the public verbs."""

    @property
    def config(self) -> Any: ...
    async def get(
        self,
        path: str,
        *,
        version: str | None = ...,
        query: Mapping[str, Any] | None = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...
    async def post(
        self,
        path: str,
        *,
        version: str | None = ...,
        body: Any = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...
    async def patch(
        self,
        path: str,
        *,
        version: str | None = ...,
        body: Any = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...


def _check_id(name: str, value: Any, *, required: bool) -> None:
    if value is None and not required:
        return
    if isinstance(value, bool) or not (
        (isinstance(value, int) and value > 0) or (isinstance(value, str) and value.isdigit())
    ):
        raise InvalidRequestError(f"{name} must be a positive integer id, not {value!r}")


class _Session:
    """One upload on Procore's side: its id, its segments' URLs, and their renewal."""

    def __init__(
        self, client: ApiClient, plan: Plan, version: str, company_id: Any, project_id: Any
    ) -> None:
        self.client, self.plan, self.version = client, plan, version
        self.company_id, self.project_id = company_id, project_id
        self.id = ""
        self.urls: list[IssuedURL] = []
        self.generation = 0
        self.sent: set[int] = set()
        self._lock = anyio.Lock()

    @property
    def base(self) -> str:
        if self.version == "v2.1":
            scope = f"companies/{self.company_id}"
            return (
                f"{scope}/projects/{self.project_id}/uploads"
                if self.project_id
                else (f"{scope}/uploads")
            )
        if self.project_id:
            return f"projects/{self.project_id}/uploads"
        return f"companies/{self.company_id}/uploads"

    def _call(self) -> dict[str, Any]:
        return {"version": self.version, "company_id": self.company_id}

    async def _resent(self, verb: Any, path: str, body: Any) -> Response:
        """A create or complete, resent after a lost connection: the client does not
        resend a POST/PATCH that may have arrived, but these two may be resent safely
        (a duplicate upload is never used and expires; completing twice with the same
        ETags is the same completion)."""
        attempts = self.client.config.max_retries + 1
        for attempt in range(attempts):
            try:
                response: Response = await verb(path, body=body, **self._call())
                return response
            except APIConnectionError:
                if attempt + 1 >= attempts:
                    raise
                await anyio.sleep(min(0.05 * 2**attempt, 2.0))
        raise AssertionError("unreachable")  # pragma: no cover

    async def create(self) -> None:
        plan = self.plan
        segments = [s.declared() for s in plan.segments]
        if self.version == "v2.1":
            body: dict[str, Any] = {
                "file_name": plan.name,
                "file_size": plan.size,
                "content_type": plan.content_type,
                "sha256": plan.sha256,
                "segments": segments,
            }
        else:
            body = {
                "response_filename": plan.name,
                "response_content_type": plan.content_type,
                "size": plan.size,
                "segments": segments,
            }
        response = await self._resent(self.client.post, self.base, body)
        data = _data(response)
        self.id = str(data.get("upload_id") or data.get("uuid") or "")
        if not self.id:
            raise UploadError("Procore created the upload but returned no id", response=response)
        self.urls = self._issued(data.get("segments"), response, everything=True)

    def _issued(self, found: Any, response: Response, *, everything: bool) -> list[IssuedURL]:
        """The segments' URLs in an upload body; with ``everything=False`` the body may
        list only the segments still to send (v2.1's status GET)."""
        urls = list(self.urls) if self.urls else [IssuedURL("")] * len(self.plan.segments)
        entries = found if isinstance(found, list) else []
        if everything and len(entries) != len(self.plan.segments):
            raise UploadError(
                f"Procore returned {len(entries)} segment URLs for {len(self.plan.segments)} "
                "segments",
                response=response,
            )
        pending = [s.index for s in self.plan.segments if s.index not in self.sent]
        for position, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("url"), str):
                continue
            if isinstance(entry.get("part_number"), int):
                index = entry["part_number"] - 1
            elif len(entries) == len(urls):
                index = position
            elif position < len(pending):
                index = pending[position]
            else:
                continue
            if 0 <= index < len(urls):
                headers = entry.get("headers")
                expires = entry.get("url_expires_at")
                urls[index] = IssuedURL(
                    entry["url"],
                    {str(k): str(v) for k, v in headers.items()}
                    if isinstance(headers, Mapping)
                    else {},
                    float(expires) if isinstance(expires, (int, float)) else None,
                )
        return urls

    async def renew(self, seen: int) -> None:
        """Fresh URLs from Procore, once for everyone that saw generation ``seen``."""
        async with self._lock:
            if self.generation != seen:
                return
            response = await self.client.get(f"{self.base}/{self.id}", **self._call())
            self.urls = self._issued(_data(response).get("segments"), response, everything=False)
            self.generation += 1

    async def complete(self, etags: list[str]) -> dict[str, Any]:
        if self.version == "v2.1":
            body: dict[str, Any] = {"part_etags": etags}
        else:
            body = {"segments": [{"etag": etag} for etag in etags]}
        response = await self._resent(self.client.patch, f"{self.base}/{self.id}", body)
        return _data(response)

    async def wait_available(self, timeout: float) -> dict[str, Any]:
        """Poll (50 ms, doubling to 2 s) until Procore has processed the upload."""
        delay, data = 0.05, {}
        with anyio.move_on_after(timeout):
            while True:
                response = await self.client.get(f"{self.base}/{self.id}", **self._call())
                data = _data(response)
                if data.get("status") == "available":
                    return data
                await anyio.sleep(delay)
                delay = min(delay * 2, 2.0)
        error = UploadError(
            f"upload {self.id} is complete but was not available after {timeout:g} s "
            f"(status {data.get('status')!r}); poll it later or pass wait=False"
        )
        error.upload_id = self.id
        raise error


def _data(response: Response) -> dict[str, Any]:
    body = response.body
    if isinstance(body, Mapping) and isinstance(body.get("data"), Mapping):
        body = body["data"]
    return dict(body) if isinstance(body, Mapping) else {}


def _etag(response: Response) -> str:
    etag = str(response.headers.get("etag", "")).strip()
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')


def _refusal(exc: Error) -> str:
    return exc.response.text if exc.response is not None else ""


async def _send_segment(session: _Session, segment: Segment, data: bytes) -> str:
    """PUT one segment; renew its URL when it expired; return its ETag."""
    headers = {"Content-Type": "application/octet-stream"} if session.version == "v1.1" else None
    renewals = 0
    while renewals <= _MAX_RENEWALS:
        seen = session.generation
        issued = session.urls[segment.index]
        due = issued.expires_at is not None and issued.expires_at - _EXPIRY_MARGIN <= time.time()
        if due and renewals == 0:
            # About to expire: renew first (once; a URL that short-lived is used as is).
            renewals += 1
            await session.renew(seen)
            continue
        try:
            response = await requester_for(session.client).send(
                RequestSpec.storage("PUT", issued, content=data, headers=headers)
            )
        except ForbiddenError as exc:
            if "expired" not in _refusal(exc).lower():
                raise _upload_error(session, segment, exc) from exc
            renewals += 1
            await session.renew(seen)
            continue
        except Error as exc:
            raise _upload_error(session, segment, exc) from exc
        etag = _etag(response)
        if not etag:
            raise UploadError(
                f"storage returned no ETag for segment {segment.index + 1}", response=response
            )
        session.sent.add(segment.index)
        return etag
    raise UploadError(
        f"segment {segment.index + 1}: its URL kept expiring after {_MAX_RENEWALS} renewals"
    )


def _upload_error(session: _Session, segment: Segment, exc: Error) -> UploadError:
    text = _refusal(exc)
    cls = ChecksumMismatchError if any(code in text for code in _CHECKSUM_CODES) else UploadError
    where = f"segment {segment.index + 1} of {len(session.plan.segments)}"
    error = cls(f"upload {session.id}: storage refused {where}: {exc}", response=exc.response)
    error.upload_id = session.id
    return error


async def upload_file(
    client: ApiClient,
    source: Source,
    *,
    company_id: int | str,
    project_id: int | str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    segment_size: int | None = None,
    concurrency: int | None = None,
    on_progress: ProgressCallback | None = None,
    api_version: str | None = None,
    wait: bool = True,
    wait_timeout: float = 300.0,
) -> Upload:
    """Upload ``source`` with Procore's direct-upload flow; see ``AsyncClient.upload``."""
    _check_id("company_id", company_id, required=True)
    _check_id("project_id", project_id, required=False)
    check_segment_size(segment_size)
    if concurrency is not None and (
        not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
    ):
        raise InvalidRequestError(f"concurrency must be a positive int, not {concurrency!r}")
    if api_version is not None and api_version not in _VERSIONS:
        raise InvalidRequestError(f"api_version must be one of {_VERSIONS}, not {api_version!r}")
    if on_progress is not None and not callable(on_progress):
        raise InvalidRequestError("on_progress must be callable")
    if not (
        isinstance(wait_timeout, (int, float)) and math.isfinite(wait_timeout) and wait_timeout > 0
    ):
        raise InvalidRequestError("wait_timeout must be a positive number of seconds")
    opened = await open_source(source, filename)
    try:
        size = choose_segment_size(opened.size, segment_size)
        ctype = content_type or guess_content_type(filename or opened.name)
        plan = await plan_upload(opened, size, ctype, filename)
        session = await _create(client, plan, api_version, company_id, project_id)
        etags = await _send_all(session, opened, concurrency or _DEFAULT_CONCURRENCY, on_progress)
    finally:
        await opened.aclose()
    data = await session.complete(etags)
    if wait and session.version == "v2.1" and data.get("status") != "available":
        data = await session.wait_available(wait_timeout)
    return Upload(
        session.id,
        plan.size,
        plan.sha256,
        str(data.get("status") or "complete"),
        plan.name,
        plan.content_type,
        session.version,
        company_id,
        project_id,
        len(plan.segments),
        data,
    )


async def _create(
    client: ApiClient, plan: Plan, version: str | None, company_id: Any, project_id: Any
) -> _Session:
    session = _Session(client, plan, version or "v2.1", company_id, project_id)
    try:
        await session.create()
    except NotFoundError:
        if version is not None:
            raise
        session = _Session(client, plan, "v1.1", company_id, project_id)
        await session.create()
    return session


async def _send_all(
    session: _Session, source: Any, concurrency: int, on_progress: ProgressCallback | None
) -> list[str]:
    """Send every segment, at most ``concurrency`` at once; the first failure cancels
    the rest and is raised as it is (not wrapped in an exception group)."""
    segments = session.plan.segments
    etags = [""] * len(segments)
    room = anyio.Semaphore(concurrency)
    sent = 0
    failure: list[Exception] = []

    async def one(segment: Segment, tg: anyio.abc.TaskGroup) -> None:
        nonlocal sent
        try:
            data = await source.read_at(segment.offset, segment.size)
            etags[segment.index] = await _send_segment(session, segment, data)
            del data
            sent += segment.size
            if on_progress is not None:
                on_progress(sent, session.plan.size)
        except Exception as exc:
            if not failure:
                failure.append(exc)
            tg.cancel_scope.cancel()
        finally:
            room.release()

    async with anyio.create_task_group() as tg:
        for segment in segments:
            # A slot before a task: 10,000 parts are never 10,000 tasks (or buffers) at once.
            await room.acquire()
            tg.start_soon(one, segment, tg)
    if failure:
        raise failure[0]
    return etags
