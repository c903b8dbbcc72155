"""``sync`` over real HTTP: the pool against the concurrency asked for, and two transports.

200 batches x 50 records, each batch held 100 ms by a loopback HTTP/1.1 server
(keep-alive, in its own process, so its CPU is not on the client's loop).  The
ideal is ``ceil(batches / concurrency) * latency``: 0.40 s at concurrency 64,
2.50 s at concurrency 8.  Rows, measured side by side (interleaved rounds,
medians):

* ``httpx, pool 32``: httpx's transport with the old fixed pool of 32
  (``Config(max_connections=32)``): 64 batches in flight queue on 32 connections;
* ``httpx, pool grows``: the default (``max_connections=None``): the pool grows
  to the requests in flight;
* ``aiohttp``: ``Config(http_transport="aiohttp")`` (extra ``aiohttp``).

Targets: concurrency 64 <= 1.5x ideal (goal 1.2x); concurrency 8 <= 1.2x.

    python benchmarks/bench_pool.py [--batches 200] [--batch-size 50] [--latency 0.1]
                                    [--rounds 3] [--concurrency 64 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import socket
import statistics
import sys
import time
from typing import Any

from _results import record

from procore_async import AsyncClient, Config, Token
from procore_async.stores import MemoryStore


def _serve(port: int, latency: float, batch_size: int, ready: Any) -> None:
    entities = [{"id": i, "origin_id": f"o-{i}", "name": f"V {i}"} for i in range(batch_size)]
    body = json.dumps({"entities": entities, "errors": []}).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                headers = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(latency)
                writer.write(head + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def one_sync(config: Config, port: int, args: argparse.Namespace, limit: int) -> float:
    store = MemoryStore()
    await store.save(Token("token", "refresh", time.time() + 3600))
    config = config.replace(host=f"http://127.0.0.1:{port}", max_retries=0)
    updates = [
        {"origin_id": f"o-{i}", "name": f"V {i}"} for i in range(args.batches * args.batch_size)
    ]
    async with AsyncClient("id", "secret", store, config=config) as client:
        await client.get("warm")  # open one connection: the TLS-free handshake is not the point
        started = time.perf_counter()
        result = await client.sync(
            "vendors/sync", body={"updates": updates}, company_id=1,
            batch_size=args.batch_size, concurrency=limit,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    assert result.ok and len(result.entities) == len(updates), result.failures[:1]
    return elapsed


SIDES = {
    "httpx, pool 32": Config(max_connections=32),
    "httpx, pool grows": Config(),
    "aiohttp": Config(http_transport="aiohttp"),
}


async def run(port: int, args: argparse.Namespace) -> bool:
    ok = True
    for limit in args.concurrency:
        ideal = math.ceil(args.batches / limit) * args.latency
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        for _ in range(args.rounds):
            for side, config in SIDES.items():
                times[side].append(await one_sync(config, port, args, limit))
        target = 1.5 if limit > 8 else 1.2
        print(f"concurrency {limit}: ideal {ideal:.2f} s (target <= {target}x)")
        medians: dict[str, float] = {}
        for side, measured in times.items():
            median = medians[side] = statistics.median(measured)
            ratio = median / ideal
            print(f"  {side:<20}{median:7.3f} s  {ratio:5.2f}x ideal")
            if side == "httpx, pool grows":
                ok = ok and ratio <= target
        if limit == 64:
            record(
                "pool",
                f"sync over loopback HTTP, {args.batches} batches at concurrency {limit} "
                "(lower is better)",
                "seconds (median of rounds)",
                {**{side: round(m, 3) for side, m in medians.items()}, "ideal": round(ideal, 3)},
            )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 8])
    args = parser.parse_args()
    port = _free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=_serve, args=(port, args.latency, args.batch_size, ready), daemon=True
    )
    server.start()
    try:
        if not ready.wait(10):
            print("the loopback server did not start")
            return 2
        print(
            f"{args.batches} batches x {args.batch_size} records, {args.latency * 1000:.0f} ms "
            f"per batch at a loopback server, median of {args.rounds} interleaved rounds"
        )
        ok = asyncio.run(run(port, args))
    finally:
        server.terminate()
        server.join()
    print("PASS" if ok else "FAIL: the default transport missed a target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
