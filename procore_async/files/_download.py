"""Downloads: stream a file Procore points at to disk, resumable, verified, atomic.

What can be downloaded: a presigned storage URL Procore returned (a file version's
``url``), a file version itself (a mapping with ``url``, or ``prostore_file.url``), an
:class:`IssuedURL`, or a Procore API path that redirects to storage (the redirect is
read without following it, and ``Location`` is fetched with no bearer token).

Bytes go to ``<dest>.part`` as they arrive; a lost connection resumes with ``Range``
from what is already on disk (within the call, up to ``Config.max_retries`` times, and
across calls with ``resume=True``).  When the last byte is in, the size and, where
Procore gives one (``x-amz-meta-sha256``/``x-amz-checksum-sha256``, or ``sha256=``),
the sha256 are checked, and the part file is renamed over ``dest`` in one step.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import httpx

from .._errors import APIConnectionError, Error, InvalidRequestError
from .._urls import Origin
from ._legs import IssuedURL, RequestSpec, requester_for, with_redirect
from ._models import ChecksumMismatchError, DownloadError

__all__ = ["Download", "download_file"]

_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Download:
    """A finished download: where it is, how big, its sha256, and where it resumed."""

    path: str
    size: int
    sha256: str
    resumed_from: int = 0
    verified: bool = False


def _url_of(target: Any) -> tuple[str | IssuedURL, str | None]:
    """The URL (or API path) in ``target`` and the sha256 it declares, if any."""
    if isinstance(target, IssuedURL):
        return target, None
    if isinstance(target, str):
        if not target.strip():
            raise InvalidRequestError("download needs a URL, an API path or a file version")
        return target, None
    if isinstance(target, Mapping):
        url = target.get("url")
        prostore = target.get("prostore_file")
        if not isinstance(url, str) and isinstance(prostore, Mapping):
            url = prostore.get("url")
        if isinstance(url, str) and url:
            sha = target.get("sha256") or target.get("checksum")
            return url, sha if isinstance(sha, str) else None
    raise InvalidRequestError(
        f"download takes a URL, an API path or a file version, not {type(target).__name__}"
    )


def _declared_sha256(headers: httpx.Headers) -> str | None:
    hexed = headers.get("x-amz-meta-sha256")
    if hexed:
        return str(hexed).strip().lower()
    b64 = headers.get("x-amz-checksum-sha256")
    if b64:
        try:
            return base64.b64decode(b64).hex()
        except ValueError:
            return None
    return None


def _total_size(raw: httpx.Response, offset: int) -> int | None:
    if raw.status_code == 206:
        total = raw.headers.get("content-range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = raw.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


async def _resolve(client: Any, target: str | IssuedURL, company_id: Any) -> IssuedURL:
    """An ``IssuedURL`` for ``target``: as given, or the ``Location`` an API path answers."""
    if isinstance(target, IssuedURL):
        return target
    origin = Origin(client.config.host)
    if target.startswith(("http://", "https://")) and not origin.owns(target):
        return IssuedURL(target)
    requester = requester_for(client)
    spec = requester.build("GET", target, company_id=company_id, label="api")
    response = await requester.send(with_redirect(spec))
    location = response.headers.get("location")
    if not (300 <= response.status_code < 400) or not location:
        raise DownloadError(
            f"{target} answered {response.status_code}, not a redirect to the file",
            response=response,
        )
    return IssuedURL(str(httpx.URL(response.url).join(location)))


def _hash_file(path: str, limit: int) -> Any:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        remaining = limit
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
    return digest


def _remove_if_there(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _size_or_zero(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


async def download_file(
    client: Any,
    target: Any,
    dest: str | os.PathLike[str],
    *,
    on_progress: Callable[[int, int | None], Any] | None = None,
    resume: bool = True,
    sha256: str | None = None,
    company_id: int | str | None = None,
) -> Download:
    """Download ``target`` to ``dest``; see ``AsyncClient.download``."""
    url, declared = _url_of(target)
    path = os.fspath(dest)
    if not isinstance(path, str) or not path:
        raise InvalidRequestError(f"not a destination path: {dest!r}")
    if await anyio.to_thread.run_sync(os.path.isdir, path):
        raise InvalidRequestError(f"{path} is a directory; name the file to write")
    parent = os.path.dirname(path) or "."
    if not await anyio.to_thread.run_sync(os.path.isdir, parent):
        raise InvalidRequestError(f"no such directory: {parent}")
    if not await anyio.to_thread.run_sync(os.access, parent, os.W_OK):
        raise InvalidRequestError(f"cannot write to {parent}")
    if on_progress is not None and not callable(on_progress):
        raise InvalidRequestError("on_progress must be callable")
    expected = (sha256 or declared or "").lower() or None
    part = path + ".part"
    if not resume:
        await anyio.to_thread.run_sync(_remove_if_there, part)
    issued = await _resolve(client, url, company_id)
    started_at = await anyio.to_thread.run_sync(_size_or_zero, part)
    attempts = max(1, client.config.max_retries + 1)
    for attempt in range(attempts):
        try:
            result = await _transfer(client, issued, part, expected, on_progress)
            break
        except APIConnectionError:
            if attempt + 1 >= attempts:
                raise
    else:  # pragma: no cover - the loop breaks or raises
        raise AssertionError
    size, digest, verified = result
    await anyio.to_thread.run_sync(os.replace, part, path)
    return Download(path, size, digest, started_at, verified)


async def _transfer(
    client: Any,
    issued: IssuedURL,
    part: str,
    expected: str | None,
    on_progress: Callable[[int, int | None], Any] | None,
) -> tuple[int, str, bool]:
    """One attempt: GET the rest (``Range``) into ``part``; return (size, sha256, verified)."""
    offset = await anyio.to_thread.run_sync(_size_or_zero, part)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    requester = requester_for(client)
    try:
        async with requester.stream(RequestSpec.storage("GET", issued, headers=headers)) as raw:
            if raw.status_code != 206:
                offset = 0  # the server sent the whole file: start over
            total = _total_size(raw, offset)
            declared = expected or _declared_sha256(raw.headers)
            digest = (
                await anyio.to_thread.run_sync(_hash_file, part, offset)
                if offset
                else hashlib.sha256()
            )
            done = offset
            async with await anyio.open_file(part, "ab" if offset else "wb") as out:
                try:
                    async for chunk in raw.aiter_bytes(_CHUNK):
                        await out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if on_progress is not None:
                            on_progress(done, total)
                except httpx.TransportError as exc:
                    raise APIConnectionError(f"the download was cut off at {done} bytes") from exc
    except Error as exc:
        if isinstance(exc, APIConnectionError):
            raise
        if exc.status_code == 416 and offset:
            # What is on disk is not a prefix storage can continue: start over.
            await anyio.to_thread.run_sync(os.remove, part)
            raise APIConnectionError("storage cannot resume this file; starting over") from exc
        raise DownloadError(f"storage refused the download: {exc}", response=exc.response) from exc
    if total is not None and done != total:
        raise APIConnectionError(f"the download ended at {done} of {total} bytes")
    hexdigest = digest.hexdigest()
    if declared is not None and hexdigest != declared:
        await anyio.to_thread.run_sync(os.remove, part)
        raise ChecksumMismatchError(
            f"the downloaded file's sha256 is {hexdigest}, Procore declared {declared}"
        )
    return done, hexdigest, declared is not None
