"""The fake's webhook delivery: a queue per hook, Procore's retry schedule, a log.

Procore POSTs each event to the hook's destination with the hook's headers and
expects a 2xx within 5 seconds; on a failure the hook's deliveries pause and the
event is retried with exponential backoff from 1 second up to 1 hour, and after 12
hours of continuous failure the queue is discarded (``plan_your_app/webhooks.md``).
This engine does the same, one queue per hook, in the background so the API request
that caused an event never waits for its delivery.  ``time_scale`` shrinks every
wait (0.001 turns the 12 hours into 43 seconds), ``fail_rate`` fails that share of
first attempts before they are sent, ``duplicate_rate`` sends that share of
delivered events a second time.  The bearer token of the API caller is never sent:
only the destination headers the hook was created with.

Delivery runs on the asyncio loop the fake is serving on (tasks start on first use).
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx

__all__ = ["Deliverer", "DeliveryPlan", "Outbox", "micro_stamp"]

_ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def micro_stamp(epoch: float) -> str:
    """Webhook timestamps: ISO 8601 UTC with microseconds, as Procore sends them."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """How the fake delivers: Procore's schedule, compressible, with injected trouble."""

    time_scale: float = 1.0
    fail_rate: float = 0.0
    duplicate_rate: float = 0.0
    seed: int | None = None
    timeout: float = 5.0
    first_retry: float = 1.0
    max_retry: float = 3600.0
    discard_after: float = 12 * 3600.0
    max_queue: int = 100_000

    def __post_init__(self) -> None:
        if self.time_scale < 0 or self.timeout <= 0 or self.max_queue < 1:
            raise ValueError("need time_scale >= 0, timeout > 0 and max_queue >= 1")
        for name in ("fail_rate", "duplicate_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")


class Outbox:
    """One event on its way to one hook: the entry the deliveries endpoint serves."""

    __slots__ = ("attempts", "event_id", "hook_id", "payload", "status")

    def __init__(self, hook_id: int, event_id: str, payload: dict[str, Any]) -> None:
        self.hook_id = hook_id
        self.event_id = event_id
        self.payload = payload
        self.status = "enqueued"
        self.attempts: list[dict[str, Any]] = []

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
            "status": self.status,
            "payload": self.payload,
            "delivery_attempts": list(self.attempts),
        }


class Deliverer:
    """Queues per hook and the tasks that drain them."""

    def __init__(self, destination: Callable[[int], tuple[str, dict[str, str]] | None]) -> None:
        self._destination = destination
        self.plan = DeliveryPlan()
        self._rng = random.Random()
        self.log: dict[int, list[Outbox]] = {}
        self._queues: dict[int, deque[Outbox]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._apps: dict[str, _ASGIApp] = {}
        self._ssl: ssl.SSLContext | None = None
        self.sent = 0

    def configure(self, plan: DeliveryPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)

    def route(self, prefix: str, app: _ASGIApp) -> None:
        """Deliver URLs starting with ``prefix`` to ``app`` in process, not over HTTP."""
        self._apps[prefix] = app

    # -- queueing (synchronous: called from inside an API request) -----------------------

    def enqueue(self, hook_id: int, event_id: str, payload: dict[str, Any]) -> Outbox:
        entry = Outbox(hook_id, event_id, payload)
        self.log.setdefault(hook_id, []).append(entry)
        queue = self._queues.setdefault(hook_id, deque())
        if len(queue) >= self.plan.max_queue:
            entry.status = "discarded"
            entry.attempts.append(_record(time.time(), None, "queue full (discarded)"))
            return entry
        queue.append(entry)
        self._start(hook_id)
        return entry

    def forget(self, hook_id: int) -> None:
        """A deleted hook: stop its deliveries; its log goes with it."""
        task = self._tasks.pop(hook_id, None)
        if task is not None:
            task.cancel()
        self._queues.pop(hook_id, None)
        self.log.pop(hook_id, None)

    def _start(self, hook_id: int) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test helper outside async code): delivered by drain()
        if loop is not self._loop:
            self._loop = loop
            self._tasks.clear()
        task = self._tasks.get(hook_id)
        if task is None or task.done():
            self._tasks[hook_id] = loop.create_task(self._work(hook_id))

    @property
    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def drain(self, timeout: float = 30.0, hook_id: int | None = None) -> None:
        """Wait until every queue (or ``hook_id``'s) is empty: delivered or discarded."""
        queues = self._queues if hook_id is None else {hook_id: self._queues.get(hook_id, deque())}
        for key, queue in queues.items():
            if queue:
                self._start(key)
        with anyio.fail_after(timeout):
            while any(queues.values()):
                await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        """Stop delivering; undelivered events stay in the log (``failed`` if tried).

        A later change, or :meth:`drain`, starts delivering again."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for queue in self._queues.values():
            for entry in queue:
                if entry.attempts:
                    entry.status = "failed"

    # -- delivering ---------------------------------------------------------------------

    async def _work(self, hook_id: int) -> None:
        queue = self._queues.get(hook_id)
        wait = self.plan.first_retry
        failing_for = 0.0
        while queue:
            entry = queue[0]
            first = not entry.attempts
            ok = await self._attempt(entry, inject=first and self._draw(self.plan.fail_rate))
            if ok:
                queue.popleft()
                entry.status = "delivered"
                wait, failing_for = self.plan.first_retry, 0.0
                if self._draw(self.plan.duplicate_rate):
                    await self._attempt(entry, inject=False)
                continue
            entry.status = "retrying"
            if failing_for >= self.plan.discard_after:
                for doomed in queue:
                    doomed.status = "discarded"
                queue.clear()
                break
            await asyncio.sleep(wait * self.plan.time_scale)
            failing_for += wait
            wait = min(wait * 2, self.plan.max_retry)

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    async def _attempt(self, entry: Outbox, *, inject: bool) -> bool:
        started = time.time()
        if inject:
            entry.attempts.append(_record(started, None, "connection reset (injected)"))
            return False
        target = self._destination(entry.hook_id)
        if target is None:
            entry.attempts.append(_record(started, None, "hook has no destination"))
            return False
        url, headers = target
        body = json.dumps(entry.payload, separators=(",", ":")).encode()
        sent_headers = {
            **headers,
            "Content-Type": "application/json",
            "User-Agent": "Procore-Webhooks (FakeProcore)",
        }
        try:
            async with self._client(url) as client:
                response = await client.post(url, content=body, headers=sent_headers)
        except httpx.HTTPError as exc:
            entry.attempts.append(_record(started, None, f"{type(exc).__name__}: {exc}"[:200]))
            return False
        self.sent += 1
        ok = 200 <= response.status_code < 300
        record = _record(started, response.status_code, None if ok else "non-2xx response")
        record["response_body"] = response.text[:1000]
        record["response_headers"] = dict(response.headers)
        entry.attempts.append(record)
        return ok

    def _client(self, url: str) -> httpx.AsyncClient:
        """A client for one attempt: nothing stays open between deliveries, so a fake
        nobody closes leaks no sockets (Procore opens a connection per delivery too)."""
        timeout = httpx.Timeout(self.plan.timeout)
        prefix = next((p for p in self._apps if url.startswith(p)), None)
        if prefix is not None:
            transport = httpx.ASGITransport(app=self._apps[prefix])
            return httpx.AsyncClient(transport=transport, timeout=timeout)
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()  # built once: it costs tens of ms
        return httpx.AsyncClient(timeout=timeout, trust_env=False, verify=self._ssl)


def _record(started: float, status: int | None, error: str | None) -> dict[str, Any]:
    return {
        "started_at": micro_stamp(started),
        "completed_at": micro_stamp(time.time()),
        "response_status": status,
        "response_error": error,
        "outcome": "ok" if error is None else "retried",
    }
