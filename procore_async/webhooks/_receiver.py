"""WebhookReceiver: an ASGI app that takes Procore's deliveries and runs your handlers.

Procore gives a receiver 5 seconds to answer 2xx and retries otherwise
(``plan_your_app/webhooks_api.md``), so a delivery is acknowledged as soon as it is
verified, parsed, deduplicated and queued; handlers run afterwards on ``concurrency``
workers.  The queue holds at most ``max_pending`` events: when it is full a delivery
gets ``503`` with ``Retry-After`` (Procore will send it again) instead of a 2xx the
receiver could not honour, so an acknowledged event is never dropped while the
process lives.

Shutdown (``aclose()``, the end of ``async with``, or the ASGI lifespan): new
deliveries get ``503`` from then on (Procore retries them later), the events already
acknowledged are handled to the end for up to ``shutdown_timeout`` seconds, and any
still waiting after that are logged by id and released from the dedupe store, so a
replay (``catch_up``) or a retry can bring them back.  A process killed outright
loses what it had queued; catch-up from deliveries covers what Procore could not
deliver, not what it delivered to a process that died.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._asgi import ASGIReceive, ASGISend, Scope, read_body, respond
from ._dedupe import DedupeStore, MemoryDedupeStore
from ._dispatch import Handler, HandlerTable
from ._event import PayloadError, UnknownPayloadVersionError, WebhookEvent, parse_event

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = ["ReceiverStats", "WebhookReceiver"]

_log = logging.getLogger("procore_async.webhooks")


@dataclass(slots=True)
class ReceiverStats:
    """Counters since the receiver was built (no ids, no payloads)."""

    acknowledged: int = 0
    duplicates: int = 0
    refused: int = 0
    busy: int = 0
    handled: int = 0
    handler_errors: int = 0
    replayed: int = 0
    abandoned: int = 0


class WebhookReceiver:
    """Receives Procore webhook deliveries (ASGI) and dispatches them to handlers.

    ``authorization`` is the value Procore must echo in the ``header`` (the hook's
    ``destination_headers``); a sequence accepts any of several values, for rotating a
    secret without downtime.  ``None`` turns the check off (only for trying things
    locally).  ``dedupe`` remembers event ids (default: a :class:`MemoryDedupeStore`);
    use a :class:`RedisDedupeStore` for a fleet of receivers.
    """

    def __init__(
        self,
        *,
        authorization: str | Sequence[str] | None,
        dedupe: DedupeStore | None = None,
        header: str = "Authorization",
        concurrency: int = 8,
        max_pending: int = 10_000,
        max_body_size: int = 256 * 1024,
        shutdown_timeout: float = 30.0,
        on_error: Callable[[WebhookEvent, BaseException], Any] | None = None,
    ) -> None:
        if isinstance(authorization, str):
            authorization = (authorization,)
        if authorization is not None:
            if not authorization or not all(isinstance(a, str) and a for a in authorization):
                raise ValueError("authorization must be a non-empty string (or several)")
            # Digests, so the comparison takes the same time whatever the lengths.
            self._secrets: tuple[bytes, ...] | None = tuple(
                hashlib.sha256(a.encode()).digest() for a in authorization
            )
        else:
            self._secrets = None
        if concurrency < 1 or max_pending < 1 or max_body_size < 256 or shutdown_timeout < 0:
            raise ValueError(
                "need concurrency >= 1, max_pending >= 1, max_body_size >= 256 and "
                "shutdown_timeout >= 0"
            )
        self.dedupe: DedupeStore = dedupe if dedupe is not None else MemoryDedupeStore()
        self._header = header.lower().encode("latin-1")
        self.concurrency = concurrency
        self.max_pending = max_pending
        self.max_body_size = max_body_size
        self.shutdown_timeout = shutdown_timeout
        self.stats = ReceiverStats()
        self._handlers = HandlerTable()
        self._on_error = on_error
        self._send: MemoryObjectSendStream[WebhookEvent] | None = None
        self._recv: MemoryObjectReceiveStream[WebhookEvent] | None = None
        self._tg: TaskGroup | None = None
        self._accepting = False
        # Every acknowledged event until its handlers have finished, keyed by identity
        # and in acknowledgement order: added before the event is queued, removed by the
        # worker after it ran.  The queue alone cannot tell: an event handed straight to
        # a waiting worker is in neither its buffer nor, until that worker runs, in any
        # worker's hands.
        self._unhandled: dict[int, WebhookEvent] = {}
        self._idle = anyio.Event()
        self._idle.set()

    # -- handlers -----------------------------------------------------------------------

    def on(self, resource: str = "*", event_type: str = "*") -> Callable[[Handler], Handler]:
        """Decorator: run the handler for events matching ``resource`` and ``event_type``.

        ``@receiver.on("RFIs", "create")``; ``@receiver.on("RFIs")`` for every RFI
        event; ``@receiver.on("Direct Cost*")`` or ``@receiver.on("*", "delete")`` with
        wildcards.  Matching ignores case.  Every matching handler runs, in order.
        """

        HandlerTable.check_pattern(resource, event_type)

        def register(handler: Handler) -> Handler:
            self._handlers.add(handler, resource, event_type)
            return handler

        return register

    def catch_all(self, handler: Handler) -> Handler:
        """Decorator: run the handler for events no :meth:`on` handler matched."""
        self._handlers.add_fallback(handler)
        return handler

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._accepting

    @property
    def pending(self) -> int:
        """Events acknowledged and not yet handled (queued plus being handled)."""
        return len(self._unhandled)

    async def __aenter__(self) -> WebhookReceiver:
        """Start the workers.  Enter and leave in one task (an anyio task group runs
        them): ``async with receiver:``, or an ASGI/FastAPI/Starlette lifespan."""
        if self._tg is not None:
            raise RuntimeError("this receiver is already running")
        send, recv = anyio.create_memory_object_stream[WebhookEvent](self.max_pending)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._send, self._recv, self._tg = send, recv, tg
        for _ in range(self.concurrency):
            tg.start_soon(self._worker, recv.clone())
        self._accepting = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop taking deliveries, finish the acknowledged ones (see the module docs)."""
        tg, send, recv = self._tg, self._send, self._recv
        if tg is None or send is None or recv is None:
            return
        self._accepting = False
        send.close()
        with anyio.move_on_after(self.shutdown_timeout) as waited:
            await self.join()
        if waited.cancelled_caught:
            tg.cancel_scope.cancel()
        try:
            await tg.__aexit__(None, None, None)
        finally:
            # Queued, handed to a worker that never ran, or cut off mid-handler.
            left = list(self._unhandled.values())
            self._unhandled.clear()
            recv.close()
            self._tg = self._send = self._recv = None
            self._idle.set()
            if left:
                await self._abandon(left)

    async def _abandon(self, events: list[WebhookEvent]) -> None:
        self.stats.abandoned += len(events)
        _log.error(
            "webhook receiver stopped with %d acknowledged events unhandled: %s",
            len(events),
            ", ".join(e.id for e in events[:50]),
        )
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            for event in events:
                await self.dedupe.release(event.id)

    def lifespan(self, app: object = None) -> AbstractAsyncContextManager[None]:
        """``FastAPI(lifespan=receiver.lifespan)`` / ``Starlette(lifespan=...)``."""
        return self._lifespan()

    @asynccontextmanager
    async def _lifespan(self) -> Any:
        async with self:
            yield

    async def join(self) -> None:
        """Wait until every acknowledged event has been handled."""
        while self.pending:
            if self._idle.is_set():
                self._idle = anyio.Event()
            if not self.pending:
                break
            await self._idle.wait()

    # -- dispatch -----------------------------------------------------------------------

    async def _worker(self, recv: MemoryObjectReceiveStream[WebhookEvent]) -> None:
        async with recv:
            async for event in recv:
                await self._run(event)  # cancelled at shutdown: stays in _unhandled
                self._unhandled.pop(id(event), None)
                if not self._unhandled:
                    self._idle.set()

    async def _run(self, event: WebhookEvent) -> None:
        for handler in self._handlers.for_event(event):
            try:
                await handler(event)
            except Exception as exc:
                self.stats.handler_errors += 1
                _log.error(
                    "webhook handler %s failed on event %s (%s %s): %s",
                    getattr(handler, "__qualname__", "handler"),
                    event.id,
                    event.resource_name,
                    event.event_type,
                    type(exc).__name__,
                )
                if self._on_error is not None:
                    self._on_error(event, exc)
        self.stats.handled += 1

    async def replay(self, event: WebhookEvent) -> bool:
        """Dedupe ``event`` and, if it is new, run its handlers now (for catch-up).

        Returns whether the handlers ran.  Works whether or not the receiver is serving.
        """
        if not await self.dedupe.claim(event.id):
            self.stats.duplicates += 1
            return False
        self.stats.replayed += 1
        await self._run(event)
        return True

    # -- HTTP ---------------------------------------------------------------------------

    def authorized(self, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """Whether the raw ASGI ``headers`` carry an accepted value (constant time)."""
        if self._secrets is None:
            return True
        given = b""
        for name, value in headers:
            if name.lower() == self._header:
                given = value
                break
        # Every accepted value is compared, so timing says nothing of which one matched.
        digest = hashlib.sha256(given).digest()
        ok = False
        for secret in self._secrets:
            ok |= hmac.compare_digest(digest, secret)
        return ok

    async def handle_request(
        self, headers: Sequence[tuple[bytes, bytes]], body: bytes | None
    ) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """Status, JSON body and headers for one delivery (``body`` None: too large)."""
        if not self.authorized(headers):
            self.stats.refused += 1
            return 401, {"error": "unauthorized"}, []
        if body is None:
            self.stats.refused += 1
            return 413, {"error": f"body larger than {self.max_body_size} bytes"}, []
        try:
            event = parse_event(_json(body))
        except UnknownPayloadVersionError as exc:
            self.stats.refused += 1
            return 422, {"error": str(exc)}, []
        except PayloadError as exc:
            self.stats.refused += 1
            return 400, {"error": str(exc)}, []
        send = self._send
        if not self._accepting or send is None:
            self.stats.busy += 1
            return 503, {"error": "receiver is not running"}, [("Retry-After", "5")]
        try:
            fresh = await self.dedupe.claim(event.id)
        except Exception as exc:  # the store is down: let Procore retry later
            self.stats.busy += 1
            _log.error("webhook dedupe store failed: %s", type(exc).__name__)
            return 503, {"error": "dedupe store unavailable"}, [("Retry-After", "5")]
        if not fresh:
            self.stats.duplicates += 1
            return 200, {"status": "duplicate"}, []
        # Pending from here on, before a waiting worker can be handed the event.
        self._unhandled[id(event)] = event
        try:
            send.send_nowait(event)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            del self._unhandled[id(event)]
            if not self._unhandled:
                self._idle.set()
            await self.dedupe.release(event.id)
            self.stats.busy += 1
            return 503, {"error": "receiver is busy"}, [("Retry-After", "1")]
        self.stats.acknowledged += 1
        return 200, {"status": "accepted"}, []

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"WebhookReceiver serves HTTP only, not {scope['type']!r}")
        if scope["method"] != "POST":
            await respond(send, 405, {"error": "deliveries are POSTed"}, [("Allow", "POST")])
            return
        headers = scope.get("headers", ())
        if not self.authorized(headers):
            self.stats.refused += 1
            await respond(send, 401, {"error": "unauthorized"})
            return
        body = await read_body(receive, headers, self.max_body_size)
        status, payload, extra = await self.handle_request(headers, body)
        await respond(send, status, payload, extra)

    async def _serve_lifespan(self, receive: ASGIReceive, send: ASGISend) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        async with self:
            await send({"type": "lifespan.startup.complete"})
            while (await receive())["type"] != "lifespan.shutdown":
                pass
        await send({"type": "lifespan.shutdown.complete"})

    def router(self, path: str = "/procore/webhooks") -> APIRouter:
        """A FastAPI ``APIRouter`` with one POST route at ``path``, for ``include_router``.

        The router carries this receiver's lifespan, which FastAPI merges into the app's.
        """
        from ._fastapi import make_router

        return make_router(self, path)


def _json(body: bytes) -> Any:
    import json

    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("body is not valid JSON") from None
