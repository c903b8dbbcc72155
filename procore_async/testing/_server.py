"""Serve a FakeProcore over real HTTP with uvicorn (the ``cli`` extra).

``procore-async fake-server`` runs :func:`serve`; tests that need a real socket use
:func:`serving`.  A dropped connection over a socket is the app raising after the
response started, which uvicorn answers by closing the connection; the log filter
below keeps those deliberate drops out of uvicorn's error log.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from ._faults import ConnectionDropped

if TYPE_CHECKING:
    from ._fake import FakeProcore

__all__ = ["DEFAULT_PORT", "run_server", "serve", "serving"]

#: Where ``procore-async fake-server`` listens by default: not uvicorn's 8000 (where the
#: app under test runs) nor 8765 (the ``login`` command's callback).
DEFAULT_PORT = 8070


class _HideDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def _server(fake: FakeProcore | None, host: str, port: int, **options: Any) -> Any:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "serving FakeProcore over HTTP needs uvicorn: pip install 'procore-async[cli]'"
        ) from exc
    if fake is None:
        from ._fake import FakeProcore

        fake = FakeProcore()
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDrops) for f in error_log.filters):
        error_log.addFilter(_HideDrops())
    config = uvicorn.Config(
        fake, host=host, port=port, interface="asgi3", lifespan="off", **options
    )
    return uvicorn.Server(config)


async def serve(
    fake: FakeProcore | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    log_level: str = "info",
    configure_logging: bool = False,
    storage_port: int | None = None,
) -> None:
    """Serve ``fake`` (a fresh one when None) until interrupted (Ctrl-C or SIGTERM).

    uvicorn runs on asyncio only, so call this from an asyncio event loop.  Your
    logging setup is left alone unless ``configure_logging`` asks for uvicorn's
    own (which replaces every handler in the process: fine for a process of its own).
    ``storage_port`` also serves the fake's storage origin (where uploads go) on a
    second socket of the same server, and points ``fake.storage.origin`` at it.
    """
    extra: dict[str, Any] = {} if configure_logging else {"log_config": None}
    server = _server(fake, host, port, log_level=log_level, **extra)
    if storage_port is None:
        await server.serve()
        return
    # files (#14): one server, two sockets (so one Ctrl-C stops both).
    storage = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sockets = [storage]
    try:
        storage.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        storage.bind((host, storage_port))
        server.config.app.storage.origin = f"http://{host}:{storage.getsockname()[1]}"
        sockets.insert(0, server.config.bind_socket())
        await server.serve(sockets=sockets)
    finally:
        for sock in sockets:
            sock.close()


def run_server(
    fake: FakeProcore | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    log_level: str = "info",
    storage_port: int | None = None,
) -> None:
    """Blocking :func:`serve` for a command-line entry point, with uvicorn's logging."""
    asyncio.run(
        serve(
            fake, host, port, log_level=log_level, configure_logging=True, storage_port=storage_port
        )
    )


@asynccontextmanager
async def serving(
    fake: FakeProcore | None = None, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Run ``fake`` on a real socket for the duration of the block; yields its base URL.

    ``port=0`` picks a free port.  The server shuts down cleanly on exit, and your
    logging setup is left as it was.
    """
    server = _server(fake, host, port, log_level="warning", access_log=False, log_config=None)
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
