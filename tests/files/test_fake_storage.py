"""FakeProcore's storage origin and upload endpoints, spoken to with bare httpx."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from procore_async.testing import FakeProcore

MiB = 1024 * 1024
API = "https://api.procore.test"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeProcore:
    return FakeProcore(projects=2, seed=3, clock=clock)


@pytest.fixture
async def http(fake: FakeProcore) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport(), base_url=API) as client:
        yield client


def _auth(fake: FakeProcore, **token: Any) -> dict[str, str]:
    access = fake.issue_token(**token).access_token
    return {"Authorization": f"Bearer {access}", "Procore-Company-Id": str(fake.company_id)}


def _segments(*parts: bytes) -> list[dict[str, Any]]:
    return [
        {"size": len(p), "sha256": hashlib.sha256(p).hexdigest(), "md5": hashlib.md5(p).hexdigest()}
        for p in parts
    ]


async def _create(
    http: httpx.AsyncClient,
    fake: FakeProcore,
    headers: dict[str, str],
    *parts: bytes,
    version: str = "v2.1",
) -> dict[str, Any]:
    whole = b"".join(parts)
    if version == "v2.1":
        body = {
            "file_name": "f.bin",
            "file_size": len(whole),
            "content_type": "x/y",
            "sha256": hashlib.sha256(whole).hexdigest(),
            "segments": _segments(*parts),
        }
        url = f"/rest/v2.1/companies/{fake.company_id}/uploads"
    else:
        body = {"response_filename": "f.bin", "segments": _segments(*parts)}
        url = f"/rest/v1.1/companies/{fake.company_id}/uploads"
    response = await http.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data.get("data", data)


async def test_v21_create_put_complete_available(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = _auth(fake)
    part = b"x" * 1000
    data = await _create(http, fake, headers, part)
    assert data["status"] == "ready" and data["total_parts"] == 1
    seg = data["segments"][0]
    assert seg["url"].startswith("https://storage.procore.test/")
    assert seg["headers"] == {"Content-Length": "1000"}
    put = await http.put(seg["url"], content=part, headers=seg["headers"])
    assert put.status_code == 200 and put.content == b""
    assert put.headers["etag"] == f'"{hashlib.md5(part).hexdigest()}"'
    url = f"/rest/v2.1/companies/{fake.company_id}/uploads/{data['upload_id']}"
    done = await http.patch(url, json={"part_etags": [put.headers["etag"]]}, headers=headers)
    assert done.json() == {"data": {"upload_id": data["upload_id"], "status": "available"}}
    assert fake.upload_content(data["upload_id"]) == part


async def test_partial_completion_with_nulls_is_receiving(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = _auth(fake)
    first, last = b"a" * (5 * MiB), b"b" * 10
    data = await _create(http, fake, headers, first, last)
    seg = data["segments"][0]
    put = await http.put(seg["url"], content=first, headers=seg["headers"])
    url = f"/rest/v2.1/companies/{fake.company_id}/uploads/{data['upload_id']}"
    partial = await http.patch(
        url, json={"part_etags": [put.headers["etag"], None]}, headers=headers
    )
    assert partial.json()["data"]["status"] == "receiving"
    shown = (await http.get(url, headers=headers)).json()["data"]
    assert [s["part_number"] for s in shown["segments"]] == [2]  # fresh URLs: the rest only
    wrong = await http.patch(url, json={"part_etags": ['"nope"', None]}, headers=headers)
    assert wrong.status_code == 422


async def test_storage_refuses_authorization_and_records_it(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    headers = _auth(fake)
    data = await _create(http, fake, headers, b"abc")
    seg = data["segments"][0]
    refused = await http.put(seg["url"], content=b"abc", headers={**seg["headers"], **headers})
    assert refused.status_code == 400
    assert b"InvalidArgument" in refused.content
    assert [r.authorization for r in fake.storage.requests] == [True]


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"abd", b"XAmzContentSHA256Mismatch"), (b"ab", b"IncompleteBody")],
)
async def test_storage_checks_size_and_sha256(
    http: httpx.AsyncClient, fake: FakeProcore, body: bytes, code: bytes
) -> None:
    data = await _create(http, fake, _auth(fake), b"abc")
    seg = data["segments"][0]
    refused = await http.put(seg["url"], content=body)
    assert refused.status_code == 400 and code in refused.content


async def test_v11_headers_and_content_md5(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    data = await _create(http, fake, _auth(fake), b"abc", version="v1.1")
    seg = data["segments"][0]
    assert seg["headers"]["x-amz-content-sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert seg["headers"]["content-md5"] == base64.b64encode(hashlib.md5(b"abc").digest()).decode()
    bad = await http.put(seg["url"], content=b"abc", headers={"Content-MD5": "AAAA"})
    assert bad.status_code == 400 and b"BadDigest" in bad.content
    ok = await http.put(seg["url"], content=b"abc", headers=seg["headers"])
    assert ok.status_code == 200


async def test_signature_and_expiry(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    data = await _create(http, fake, _auth(fake), b"abc")
    url = data["segments"][0]["url"]
    forged = url.replace("parts/1", "parts/2")
    assert (await http.put(forged, content=b"abc")).status_code == 403
    unsigned = url.split("?")[0]
    assert (await http.put(unsigned, content=b"abc")).status_code == 403
    clock.now += 3601
    expired = await http.put(url, content=b"abc")
    assert expired.status_code == 403 and b"Request has expired" in expired.content


async def test_upload_must_start_within_an_hour(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    headers = _auth(fake, expires_in=10**6)
    data = await _create(http, fake, headers, b"abc")
    clock.now += 3700
    url = f"/rest/v2.1/companies/{fake.company_id}/uploads/{data['upload_id']}"
    fresh = (await http.get(url, headers=headers)).json()["data"]["segments"][0]
    late = await http.put(fresh["url"], content=b"abc", headers=fresh["headers"])
    assert late.status_code == 403 and b"within 1 hour" in late.content


async def test_unattached_upload_is_gone_after_its_window(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    headers = _auth(fake, expires_in=10**6)
    data = await _create(http, fake, headers, b"abc")
    clock.now += 24 * 3600 + 1
    url = f"/rest/v2.1/companies/{fake.company_id}/uploads/{data['upload_id']}"
    assert (await http.get(url, headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([{"size": 10, "sha256": "0" * 64}, {"size": 10, "sha256": "0" * 64}], "between"),
        ([{"size": 101 * MiB, "sha256": "0" * 64}], "between"),
        ([{"size": 10, "sha256": "xyz"}], "sha256"),
        ([], "non-empty"),
    ],
)
async def test_create_enforces_procores_part_rules(
    http: httpx.AsyncClient, fake: FakeProcore, segments: list[Any], message: str
) -> None:
    body = {
        "file_name": "f",
        "file_size": sum(s["size"] for s in segments),
        "sha256": "0" * 64,
        "segments": segments,
    }
    response = await http.post(
        f"/rest/v2.1/companies/{fake.company_id}/uploads", json=body, headers=_auth(fake)
    )
    assert response.status_code == 422
    assert message in response.json()["error"]["message"]


async def test_range_downloads(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    headers = _auth(fake)
    part = bytes(range(256)) * 4
    data = await _create(http, fake, headers, part)
    seg = data["segments"][0]
    put = await http.put(seg["url"], content=part, headers=seg["headers"])
    url = f"/rest/v2.1/companies/{fake.company_id}/uploads/{data['upload_id']}"
    await http.patch(url, json={"part_etags": [put.headers["etag"]]}, headers=headers)
    get_url = fake.storage.object_url(data["upload_id"])
    whole = await http.get(get_url)
    assert whole.status_code == 200 and whole.content == part
    assert whole.headers["x-amz-meta-sha256"] == hashlib.sha256(part).hexdigest()
    tail = await http.get(get_url, headers={"Range": "bytes=1000-"})
    assert tail.status_code == 206 and tail.content == part[1000:]
    assert tail.headers["content-range"] == "bytes 1000-1023/1024"
    middle = await http.get(get_url, headers={"Range": "bytes=10-19"})
    assert middle.content == part[10:20]
    last = await http.get(get_url, headers={"Range": "bytes=-4"})
    assert last.content == part[-4:]
    beyond = await http.get(get_url, headers={"Range": "bytes=5000-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == "bytes */1024"
    assert (await http.put(get_url, content=b"x")).status_code == 405
