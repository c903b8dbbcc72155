"""The FastAPI adapter: one POST route and the receiver's lifespan, as an APIRouter.

``app.include_router(receiver.router("/procore/webhooks"))`` is all an app needs;
FastAPI merges a router's lifespan into the app's, so the receiver's workers start
and stop with the app.  The route reads the body itself, bounded, so an oversized
delivery is refused without being held in memory.
"""

from typing import TYPE_CHECKING

from .._lazy import require_extra

if TYPE_CHECKING:
    from fastapi import APIRouter

    from ._receiver import WebhookReceiver

__all__ = ["make_router"]


def make_router(receiver: "WebhookReceiver", path: str) -> "APIRouter":
    require_extra("fastapi", "webhooks", "WebhookReceiver.router()")
    from fastapi import APIRouter, Request
    from fastapi.responses import JSONResponse

    router = APIRouter(lifespan=lambda _app: receiver.lifespan())

    async def deliver(request: Request) -> JSONResponse:
        headers = request.scope.get("headers", [])
        if not receiver.authorized(headers):
            receiver.stats.refused += 1
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await _bounded(request, receiver.max_body_size)
        status, payload, extra = await receiver.handle_request(headers, body)
        return JSONResponse(payload, status_code=status, headers=dict(extra))

    router.add_api_route(
        path, deliver, methods=["POST"], include_in_schema=False, name="procore_webhooks"
    )
    return router


async def _bounded(request: object, limit: int) -> bytes | None:
    from fastapi import Request

    assert isinstance(request, Request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
