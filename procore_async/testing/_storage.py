"""The fake's storage service: its own origin, presigned expiring URLs, S3's manners.

Procore hands out URLs on a storage host (S3 today, "multi-cloud" tomorrow) that are
pre-authenticated by a signature in the query; a client sends the bytes there with
the headers Procore returned and nothing else.  This service:

* checks the signature (``sig`` over method, path, expiry and user) and the expiry,
  and answers 403 ``AccessDenied: Request has expired`` when it passed;
* refuses any request carrying ``Authorization`` (400, as S3 does for two auth
  mechanisms; Procore: "including an Authorization header in the PUT will cause an
  error") and records every request so a test can assert none carried one;
* checks each part's size (``IncompleteBody``), ``Content-MD5`` (``BadDigest``) and
  sha256 (``XAmzContentSHA256Mismatch``) against what was declared, and answers an
  S3-style quoted md5 ``ETag``;
* refuses a first part sent more than an hour after the upload was created;
* serves objects with ``Range`` (206, ``Content-Range``; 416 when unsatisfiable);
* injects the fake's fault plan: statuses, dropped connections (a GET drops half way
  through its body), latency, ``"slow"`` segments and ``"expired"`` URLs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

import anyio

from ._faults import ConnectionDropped, FaultDecision, Faults
from ._http import ASGISend, Reply, Request
from ._uploads import FakeUpload, UploadStore, md5_base64

__all__ = ["STORAGE_HOST", "Storage", "StorageRequest"]

STORAGE_HOST = "https://storage.procore.test"
#: How long a "slow" segment takes to be answered.
SLOW_SECONDS = 0.2
_PART = re.compile(r"/uploads/([0-9A-Za-z]+)/parts/(\d+)")
_OBJECT = re.compile(r"/objects/([0-9A-Za-z]+)")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_NO_FAULT = FaultDecision(None, 0.0)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    host = (parts.hostname or "").lower()
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


@dataclass(frozen=True, slots=True)
class StorageRequest:
    """One request that reached storage (metadata only, never a header's value)."""

    method: str
    path: str
    authorization: bool
    status: int | None = None


@dataclass
class _Log:
    requests: list[StorageRequest] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)


def _xml_error(status: int, code: str, message: str) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return Reply(status, body.encode(), [], "application/xml")


class Storage:
    """The storage origin of one :class:`FakeProcore` (``fake.storage``)."""

    def __init__(self, uploads: UploadStore, clock: Callable[[], float]) -> None:
        self.uploads = uploads
        self._clock = clock
        self._secret = os.urandom(32)
        #: The origin URLs point at; set it to a second ``serving()`` URL over real HTTP.
        self.origin = STORAGE_HOST
        #: Seconds a presigned URL stays valid.
        self.url_lifetime = 3600.0
        #: Seconds after its creation within which an upload must start (Procore: 1 hour).
        self.start_window = 3600.0
        #: False: check and count parts but drop their bytes (benchmarks of huge files).
        self.keep_bytes = True
        self.log = _Log()

    @property
    def requests(self) -> list[StorageRequest]:
        """Every request that reached storage, in order."""
        return self.log.requests

    def owns(self, request: Request) -> bool:
        return _origin(request.base_url) == _origin(self.origin)

    # -- URLs ---------------------------------------------------------------------------

    def _sign(self, method: str, path: str, expires: int, user: str) -> str:
        message = f"{method}\n{path}\n{expires}\n{user}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _url(self, method: str, path: str, user: str) -> tuple[str, int]:
        expires = int(self._clock() + self.url_lifetime)
        query = {
            "expires_at": expires,
            "user_id": user,
            "sig": self._sign(method, path, expires, user),
        }
        return f"{self.origin.rstrip('/')}{path}?{urlencode(query)}", expires

    def part_url(self, upload: FakeUpload, index: int) -> dict[str, Any]:
        """The presigned PUT of one part, as the create (or status) response lists it."""
        part = upload.parts[index]
        url, expires = self._url(
            "PUT", f"/uploads/{upload.id}/parts/{index + 1}", str(upload.user_id)
        )
        if upload.version == "v2.1":
            headers = {"Content-Length": str(part.size)}
            return {
                "part_number": index + 1,
                "url": url,
                "url_expires_at": expires,
                "headers": headers,
            }
        headers = {"x-amz-content-sha256": part.sha256, "content-length": str(part.size)}
        if part.md5:
            headers["content-md5"] = md5_base64(part.md5)
        return {"url": url, "url_expires_at": expires, "headers": headers}

    def object_url(self, upload_id: str) -> str:
        """A presigned GET of an upload's bytes (a file version's download URL)."""
        return self._url("GET", f"/objects/{upload_id}", "any")[0]

    # -- serving ------------------------------------------------------------------------

    async def serve(self, request: Request, send: ASGISend, faults: Faults | None) -> None:
        decision = _NO_FAULT
        if faults is not None:
            decision = faults.draw(request.method, idempotent=True, oauth=False, storage=True)
        if decision.delay > 0:
            await anyio.sleep(decision.delay)
        kind = decision.kind
        if kind == "slow":
            self.log.faults[kind] += 1
            await anyio.sleep(SLOW_SECONDS)
            kind = None
        authorization = "authorization" in request.headers
        try:
            reply = self._reply(request, kind, authorization)
        except ConnectionDropped:
            # Start a response that never completes: the peer sees a hang-up.
            self.log.requests.append(StorageRequest(request.method, request.path, authorization))
            start = [(b"content-length", b"64")]
            await send({"type": "http.response.start", "status": 200, "headers": start})
            raise
        self.log.requests.append(
            StorageRequest(request.method, request.path, authorization, reply.status)
        )
        self.log.by_status[reply.status] += 1
        headers = reply.encoded_headers(())
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if kind == "drop_after" and request.method == "GET" and reply.status < 300:
            self.log.faults[kind] += 1
            half = reply.body[: len(reply.body) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            raise ConnectionDropped(True)
        await send({"type": "http.response.body", "body": reply.body})

    def _reply(self, request: Request, kind: str | None, authorization: bool) -> Reply:
        if authorization:
            return _xml_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed: the URL is presigned; "
                "send no Authorization header",
            )
        part = _PART.fullmatch(request.path)
        found = _OBJECT.fullmatch(request.path)
        method = "PUT" if part else "GET"
        if (part is None and found is None) or request.method != method:
            return _xml_error(
                405 if (part or found) else 404,
                "MethodNotAllowed" if (part or found) else "NoSuchKey",
                "No such resource",
            )
        problem = self._check_signature(request, method)
        if problem is not None:
            return problem
        if kind == "expired":
            self.log.faults[kind] += 1
            return _xml_error(403, "AccessDenied", "Request has expired")
        if kind in ("500", "502", "503", "429"):
            self.log.faults[kind] += 1
            return _fault(kind)
        if kind == "drop_before":
            self.log.faults[kind] += 1
            _drop(applied=False)
        if part is not None:
            reply = self._put_part(request, part.group(1), int(part.group(2)))
            if kind == "drop_after":
                self.log.faults[kind] += 1
                _drop(applied=True)
            return reply
        assert found is not None
        return self._get_object(request, found.group(1))

    def _check_signature(self, request: Request, method: str) -> Reply | None:
        expires, user, sig = (request.param(n) for n in ("expires_at", "user_id", "sig"))
        if expires is None or user is None or sig is None or not expires.isdigit():
            return _xml_error(403, "AccessDenied", "Query-string authentication is required")
        wanted = self._sign(method, request.path, int(expires), user)
        if not hmac.compare_digest(wanted, sig):
            return _xml_error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match"
            )
        if self._clock() > int(expires):
            return _xml_error(403, "AccessDenied", "Request has expired")
        return None

    def _put_part(self, request: Request, upload_id: str, number: int) -> Reply:
        upload = self.uploads.find(upload_id)
        if upload is None:
            return _xml_error(404, "NoSuchUpload", "The specified upload does not exist")
        if not 1 <= number <= len(upload.parts):
            return _xml_error(400, "InvalidPart", f"Part {number} is not part of this upload")
        if upload.status not in ("ready", "receiving"):
            return _xml_error(400, "InvalidRequest", f"The upload is already {upload.status}")
        if not upload.started and self._clock() > upload.created_at + self.start_window:
            return _xml_error(
                403,
                "AccessDenied",
                "The upload was not started within 1 hour of its creation; create a new upload",
            )
        part = upload.parts[number - 1]
        body = request.body
        if len(body) != part.size:
            return _xml_error(
                400, "IncompleteBody", f"Expected {part.size} bytes, received {len(body)}"
            )
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        sent_md5 = request.headers.get("content-md5")
        if sent_md5 is not None and sent_md5 != md5_base64(md5):
            return _xml_error(400, "BadDigest", "The Content-MD5 you specified did not match")
        sent_sha = request.headers.get("x-amz-content-sha256")
        if hashlib.sha256(body).hexdigest() != part.sha256 or (
            sent_sha is not None and sent_sha != part.sha256
        ):
            return _xml_error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided sha256 does not match what was computed",
            )
        part.etag = f'"{md5}"'
        part.data = body if self.keep_bytes else None
        upload.started = True
        if upload.status == "ready":
            upload.status = "receiving"
        return Reply(200, b"", [("ETag", part.etag)], None)

    def _get_object(self, request: Request, upload_id: str) -> Reply:
        upload = self.uploads.uploads.get(upload_id)
        if upload is None or upload.status not in ("complete", "available"):
            return _xml_error(404, "NoSuchKey", "The specified key does not exist")
        content = upload.content()
        size = len(content)
        sha = hashlib.sha256(content).hexdigest()
        etag = hashlib.md5(content, usedforsecurity=False).hexdigest()
        headers = [("Accept-Ranges", "bytes"), ("ETag", f'"{etag}"'), ("x-amz-meta-sha256", sha)]
        wanted = request.headers.get("range")
        if wanted is None:
            headers.append(("x-amz-checksum-sha256", base64.b64encode(bytes.fromhex(sha)).decode()))
            return Reply(200, content, headers, upload.content_type)
        match = _RANGE.fullmatch(wanted.strip())
        start: int | None = None
        if match and (match.group(1) or match.group(2)):
            first, last = match.group(1), match.group(2)
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:
                start, end = max(0, size - int(last)), size - 1
        if start is None or start >= size or start > end:
            return Reply(416, b"", [("Content-Range", f"bytes */{size}")], None)
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
        return Reply(206, content[start : end + 1], headers, upload.content_type)


def _fault(kind: str) -> Reply:
    if kind == "500":
        return _xml_error(500, "InternalError", "We encountered an internal error")
    if kind == "502":
        return Reply(502, b"Bad Gateway", [], "text/plain")
    return Reply(
        503,
        _xml_error(503, "SlowDown", "Please reduce your request rate").body,
        [("Retry-After", "0")],
        "application/xml",
    )


def _drop(*, applied: bool) -> NoReturn:
    raise ConnectionDropped(applied)
