"""Files: peak memory of a 1 GiB upload, upload throughput vs bare httpx, resumed downloads.

Three measurements, over loopback HTTP against FakeProcore served by uvicorn in a
separate process (API and storage on two ports: storage is its own origin), so the
client process measured holds the client only:

* ``memory``: upload a 1 GiB sparse file with the defaults (8 MiB segments, 4 in
  flight) and sample the process's RSS every 5 ms from a thread.  Target: peak
  growth < 64 MiB (the file is never in memory, only the segments in flight).
* ``throughput``: the same file (``--size`` MiB, default 128) uploaded by
  ``client.upload`` and by bare httpx doing the same work by hand (hash the
  segments, create the upload, PUT every segment to its presigned URL behind a
  semaphore, complete it), at concurrency 1, 4 and 8, interleaved, medians of
  ``--rounds``.  Target: ``client.upload`` >= 0.9x bare httpx at each concurrency.
* ``resume``: a download whose connection drops half way, resumed: the second
  request asks (``Range``) for, and receives, only the bytes the first did not.

    python benchmarks/bench_files.py [--size 128] [--rounds 3] [--skip-memory]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import anyio
import anyio.to_thread
import httpx
from _results import record

from procore_async import AsyncClient, Config

MiB = 1024 * 1024
SEGMENT = 8 * MiB


def serve_forever() -> None:
    """The server process: a FakeProcore on two sockets that keeps no bytes."""
    from procore_async.testing import FakeProcore, serving

    async def main() -> None:
        fake = FakeProcore(projects=1, rate_limit=None)
        fake.storage.keep_bytes = False
        project = fake.records(fake.company_id, "projects")[0]["id"]
        async with serving(fake) as api, serving(fake) as storage:
            fake.storage.origin = storage
            info = {
                "api": api,
                "id": fake.client_id,
                "secret": fake.client_secret,
                "company": fake.company_id,
                "project": project,
            }
            print(json.dumps(info), flush=True)
            await anyio.to_thread.run_sync(sys.stdin.read)  # until the parent closes it

    anyio.run(main)


def _client(info: dict[str, Any]) -> AsyncClient:
    config = Config(host=info["api"], login_host=info["api"], max_connections=16)
    return AsyncClient(info["id"], info["secret"], config=config, grant_type="client_credentials")


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


async def measure_memory(info: dict[str, Any], folder: str) -> float:
    path = os.path.join(folder, "sparse-1gib.bin")
    with open(path, "wb") as handle:
        handle.truncate(1024 * MiB)
    peak = baseline = _rss()
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss())
            time.sleep(0.005)

    async with _client(info) as client:
        await client.refresh()
        baseline = peak = _rss()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            upload = await client.upload(
                path, company_id=info["company"], project_id=info["project"]
            )
        finally:
            done.set()
            sampler.join()
    os.remove(path)
    assert upload.size == 1024 * MiB and upload.segments == 128
    return (peak - baseline) / MiB


def _hash_segments(path: str, size: int) -> tuple[list[dict[str, Any]], str]:
    segments, whole = [], hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(SEGMENT):
            whole.update(chunk)
            segments.append(
                {
                    "size": len(chunk),
                    "sha256": hashlib.sha256(chunk).hexdigest(),
                    "md5": hashlib.md5(chunk).hexdigest(),
                }
            )
    return segments, whole.hexdigest()


async def bare_httpx(info: dict[str, Any], token: str, path: str, concurrency: int) -> float:
    """The flow by hand with httpx: what a careful user would write without this library."""
    size = (await anyio.Path(path).stat()).st_size
    started = time.perf_counter()
    segments, sha = await anyio.to_thread.run_sync(_hash_segments, path, size)
    base = f"{info['api']}/rest/v2.1/companies/{info['company']}/projects/{info['project']}"
    headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(info["company"])}
    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        body = {
            "file_name": "f.bin",
            "file_size": size,
            "content_type": "application/pdf",
            "sha256": sha,
            "segments": segments,
        }
        created = (await http.post(f"{base}/uploads", json=body, headers=headers)).json()["data"]
        etags = [""] * len(segments)
        room = anyio.Semaphore(concurrency)
        fd = os.open(path, os.O_RDONLY)

        async def put(index: int, part: dict[str, Any]) -> None:
            async with room:
                data = await anyio.to_thread.run_sync(os.pread, fd, SEGMENT, index * SEGMENT)
                reply = await http.put(part["url"], content=data, headers=part["headers"])
                reply.raise_for_status()
                etags[index] = reply.headers["etag"].strip('"')

        try:
            async with anyio.create_task_group() as tg:
                for index, part in enumerate(created["segments"]):
                    tg.start_soon(put, index, part)
        finally:
            os.close(fd)
        url = f"{base}/uploads/{created['upload_id']}"
        done = await http.patch(url, json={"part_etags": etags}, headers=headers)
        done.raise_for_status()
    return time.perf_counter() - started


async def library(client: AsyncClient, info: dict[str, Any], path: str, concurrency: int) -> float:
    started = time.perf_counter()
    await client.upload(
        path,
        company_id=info["company"],
        project_id=info["project"],
        concurrency=concurrency,
        content_type="application/pdf",
    )
    return time.perf_counter() - started


async def measure_throughput(
    info: dict[str, Any], folder: str, size_mib: int, rounds: int, levels: tuple[int, ...]
) -> dict[int, tuple[float, float]]:
    path = os.path.join(folder, "throughput.bin")
    with open(path, "wb") as handle:
        for i in range(size_mib):
            handle.write(i.to_bytes(8, "big") * (MiB // 8))
    results: dict[int, tuple[float, float]] = {}
    async with _client(info) as client:
        token = (await client.refresh()).access_token
        for concurrency in levels:
            ours, bare = [], []
            for _ in range(rounds):
                bare.append(await bare_httpx(info, token, path, concurrency))
                ours.append(await library(client, info, path, concurrency))
            results[concurrency] = (statistics.median(ours), statistics.median(bare))
    os.remove(path)
    return results


async def measure_resume(folder: str) -> tuple[int, int, int]:
    """(size, bytes got before the drop, bytes the resumed request asked for and got)."""
    from procore_async import APIConnectionError
    from procore_async.testing import FakeProcore, serving

    fake = FakeProcore(projects=1, rate_limit=None)
    project = fake.records(fake.company_id, "projects")[0]["id"]
    source = os.path.join(folder, "drop.bin")
    with open(source, "wb") as handle:
        handle.write(os.urandom(24 * MiB))
    async with serving(fake) as api, serving(fake) as storage:
        fake.storage.origin = storage
        config = Config(host=api, login_host=api, max_retries=0)
        async with AsyncClient(
            fake.client_id, fake.client_secret, config=config, grant_type="client_credentials"
        ) as client:
            record = await client.documents.upload_file(
                project, None, source, company_id=fake.company_id
            )
            version = record["file_versions"][0]
            dest = os.path.join(folder, "drop-copy.bin")
            fake.faults(error_rate=1.0, kinds=("drop_after",), oauth=False)
            try:
                await client.download(version, dest)
                raise AssertionError("the first download should have been cut off")
            except APIConnectionError:
                pass
            fake.faults()
            first = (await anyio.Path(dest + ".part").stat()).st_size
            got: list[int] = []
            done = await client.download(version, dest, on_progress=lambda d, _t: got.append(d))
    with open(source, "rb") as a, open(dest, "rb") as b:
        assert a.read() == b.read(), "the resumed file differs"
    assert done.resumed_from == first and done.verified
    return done.size, first, got[-1] - first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="MiB for the throughput file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-resume", action="store_true")
    parser.add_argument(
        "--concurrency", type=int, action="append", help="levels to measure (1, 4 and 8)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever()
        return 0
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    info = json.loads(server.stdout.readline())
    ok = True
    try:
        with tempfile.TemporaryDirectory(prefix="bench-files-") as folder:
            if not args.skip_memory:
                growth = anyio.run(measure_memory, info, folder)
                verdict = "target met" if growth < 64 else "MISSED"
                print(
                    f"memory     1 GiB sparse upload: peak RSS growth {growth:.1f} MiB "
                    f"(target < 64 MiB): {verdict}"
                )
                ok &= growth < 64
            levels = tuple(args.concurrency or (1, 4, 8))
            results = anyio.run(measure_throughput, info, folder, args.size, args.rounds, levels)
            print(f"throughput {args.size} MiB, 8 MiB segments, median of {args.rounds}:")
            print(f"  {'concurrency':>11} {'client.upload':>14} {'bare httpx':>11} {'ratio':>6}")
            for concurrency, (ours, bare) in results.items():
                ratio = bare / ours
                ok &= ratio >= 0.9
                print(
                    f"  {concurrency:>11} {args.size / ours:>10.0f} MiB/s {args.size / bare:>7.0f}"
                    f" MiB/s {ratio:>5.2f}x{'' if ratio >= 0.9 else '  MISSED'}"
                )
            figures: dict[str, float] = {}
            for concurrency, (ours, bare) in results.items():
                figures[f"bare httpx, concurrency {concurrency}"] = round(args.size / bare, 1)
                figures[f"client.upload, concurrency {concurrency}"] = round(args.size / ours, 1)
            record(
                "files",
                f"Upload throughput, {args.size} MiB in 8 MiB segments (higher is better)",
                "MiB/s (median of rounds)",
                figures,
                baseline=[label for label in figures if label.startswith("bare httpx")],
            )
            if args.skip_resume:
                return 0 if ok else 1
            size, first, rest = anyio.run(measure_resume, folder)
            resumed_ok = first + rest == size and 0 < first < size
            ok &= resumed_ok
            print(
                f"resume     {size / MiB:.0f} MiB download dropped at {first:,} bytes; the "
                f"resumed request fetched {rest:,} bytes (the rest: "
                f"{'yes' if resumed_ok else 'NO'})"
            )
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
