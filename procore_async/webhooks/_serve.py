"""Serve a :class:`WebhookReceiver` over real HTTP with uvicorn (the ``cli`` extra).

``procore-async listen`` runs :func:`serve_receiver`; tests and benchmarks that need a
real socket use :func:`listening`.  The receiver's lifespan runs with the server, so
its workers start before the first delivery and drain on shutdown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from .._lazy import require_extra

if TYPE_CHECKING:
    from ._receiver import WebhookReceiver

__all__ = ["listening", "serve_receiver"]


def _server(receiver: WebhookReceiver, host: str, port: int, **options: Any) -> Any:
    require_extra("uvicorn", "cli", "serving a WebhookReceiver")
    import uvicorn

    config = uvicorn.Config(
        receiver, host=host, port=port, interface="asgi3", lifespan="on", **options
    )
    return uvicorn.Server(config)


async def serve_receiver(
    receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 8001, **options: Any
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); uvicorn needs an asyncio loop."""
    await _server(receiver, host, port, **options).serve()


@asynccontextmanager
async def listening(
    receiver: WebhookReceiver, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run ``receiver`` on a real socket for the block; yields its base URL.

    ``port=0`` picks a free port.  Leaving the block shuts the server down the way
    SIGTERM would: new deliveries are refused and acknowledged ones are handled.
    """
    server = _server(receiver, host, port, log_level="warning", access_log=False, log_config=None)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve)
        with anyio.fail_after(10):
            while not server.started:
                await anyio.sleep(0.005)
        bound = server.servers[0].sockets[0].getsockname()
        try:
            yield f"http://{host}:{bound[1]}"
        finally:
            server.should_exit = True
