"""Webhook deliveries acknowledged per second under uvicorn, and the p99 time to ack.

Side by side, each in its own uvicorn process on this machine:

* ``receiver``: :class:`procore_async.webhooks.WebhookReceiver`, which verifies,
  parses, dedupes and queues a delivery, answers 200, and runs the handler after;
* ``inline``: the usual first attempt, an endpoint that runs the handler and then
  answers (same header check, same JSON parsing).

The load generator (this process) keeps ``--connections`` deliveries in flight, like
Procore's parallel deliveries, with unique event ids.  Two handler costs: 10 ms (a
quick database write) and 1 s (a fetch back to Procore on a slow day).  Procore gives
up on a delivery after 5 s.  Targets: the receiver's p99 stays under Procore's 5 s
whatever the handler costs, and with 1 s handlers its median ack is at least 2x faster
than the inline endpoint's (whose ack can never be faster than the handler).  On a
shared machine the absolute figures follow its load (the load average is printed).

    python benchmarks/bench_webhooks.py
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx
from _results import record

SECRET = "Bearer bench-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _payload(n: int) -> bytes:
    return json.dumps(
        {
            "id": 10_000_000 + n,
            "ulid": f"01BENCH{n:019d}",
            "timestamp": "2025-02-06T23:34:12.246562Z",
            "user_id": 5447,
            "company_id": 8089,
            "project_id": 6778,
            "api_version": "v2.0",
            "event_type": "update",
            "resource_name": "RFIs",
            "resource_id": 54321 + n,
        }
    ).encode()


# -- the two servers (run in a subprocess: ``--serve``) ------------------------------------


def _receiver_app(work: float) -> Any:
    from procore_async.webhooks import WebhookEvent, WebhookReceiver

    receiver = WebhookReceiver(
        authorization=SECRET, concurrency=8, max_pending=100_000, shutdown_timeout=0
    )

    @receiver.on("RFIs")
    async def handle(event: WebhookEvent) -> None:
        await asyncio.sleep(work)

    return receiver


def _inline_app(work: float) -> Any:
    from procore_async.webhooks import parse_event

    secret = SECRET.encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status = 401
        if hmac.compare_digest(given, secret):
            parse_event(json.loads(body))
            await asyncio.sleep(work)  # the handler, before the answer
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def serve(kind: str, work: float, port: int) -> None:
    import uvicorn

    app = _receiver_app(work) if kind == "receiver" else _inline_app(work)
    lifespan = "on" if kind == "receiver" else "off"
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", lifespan=lifespan)


# -- the load -------------------------------------------------------------------------------


async def _load(url: str, events: int, connections: int) -> tuple[float, list[float]]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    times: list[float] = []
    counter = iter(range(events))
    headers = {"Authorization": SECRET, "Content-Type": "application/json"}

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def sender() -> None:
            for n in counter:
                started = time.perf_counter()
                reply = await http.post(url, content=_payload(n), headers=headers)
                times.append(time.perf_counter() - started)
                assert reply.status_code == 200, reply.status_code

        # Warm up: open every connection first, so no TCP handshake (or SYN retry on a
        # loaded machine) lands in the measured times.
        await asyncio.gather(
            *(http.post(url, content=_payload(-1 - i), headers=headers) for i in range(connections))
        )
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(connections)))
        return time.perf_counter() - started, times


def _p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def _run_side(kind: str, work: float, events: int, connections: int) -> tuple[float, float, float]:
    port = _free_port()
    cmd = [sys.executable, __file__, "--serve", kind, "--work", str(work), "--port", str(port)]
    with subprocess.Popen(cmd) as proc:
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), 0.2):
                        break
                except OSError:
                    time.sleep(0.05)
            elapsed, times = asyncio.run(_load(f"http://127.0.0.1:{port}/", events, connections))
        finally:
            proc.terminate()
            proc.wait(20)
    return events / elapsed, statistics.median(times), _p99(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", choices=("receiver", "inline"))
    parser.add_argument("--work", type=float, default=0.01)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--events", type=int, default=1500, help="with 10 ms handlers")
    parser.add_argument("--slow-events", type=int, default=320, help="with 1 s handlers")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.work, args.port)
        return 0
    ok = True
    print(f"{args.connections} deliveries in flight; uvicorn, one process per side")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for work, events in ((0.01, args.events), (1.0, args.slow_events)):
        rx = _run_side("receiver", work, events, args.connections)
        inline = _run_side("inline", work, events, args.connections)
        print(f"[handler {work * 1000:.0f} ms, {events} events]")
        for name, (rate, p50, p99) in (("WebhookReceiver", rx), ("inline handler", inline)):
            print(
                f"  {name:16}: {rate:7.0f} acked/s   p50 {p50 * 1000:7.1f} ms   "
                f"p99 {p99 * 1000:7.1f} ms"
            )
        ok &= rx[2] < 5.0
        if work >= 1.0:
            ok &= inline[1] >= 2 * rx[1]
            print(f"  inline / receiver median ack: {inline[1] / rx[1]:.1f}x (target >= 2x)")
            print(f"  receiver / inline acked/s   : {rx[0] / inline[0]:.1f}x")
            record(
                "webhooks",
                f"Webhooks: deliveries acknowledged per second, {work:.0f} s handlers, "
                f"{args.connections} in flight (higher is better)",
                "acknowledged/s",
                {
                    "inline handler (answers after it)": round(inline[0]),
                    "WebhookReceiver (queues, then answers)": round(rx[0]),
                },
            )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("targets met:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
