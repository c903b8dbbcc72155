"""A one-shot HTTP listener on 127.0.0.1 that catches the OAuth redirect.

RFC 8252 (OAuth for native apps) recommends exactly this: the browser is sent back to
``http://127.0.0.1:PORT/callback?code=...&state=...`` and the command line reads the
code off that request.  It is a few dozen lines of HTTP/1.0 on an anyio listener, not
a web framework: one GET, one small page back, done.  A request whose ``state`` does
not match is refused and the wait goes on, so another page cannot inject its own code.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from .._errors import OAuthError

__all__ = ["CallbackListener"]

_MAX_HEAD = 16 * 1024
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>procore-async</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p>"
)


class CallbackListener:
    """Listens on ``127.0.0.1:port`` (0 picks a free port) for the authorization redirect."""

    def __init__(
        self, listener: anyio.abc.Listener[anyio.abc.SocketStream], path: str = "/callback"
    ) -> None:
        self._listener = listener
        self.path = path
        self.port: int = listener.extra(SocketAttribute.local_port)
        self._state = ""
        self._code: str | None = None
        self._error: OAuthError | None = None
        self._done = anyio.Event()

    @classmethod
    async def open(cls, port: int, path: str = "/callback") -> CallbackListener:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port)
        return cls(listener, path)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def wait(self, state: str) -> str:
        """Serve until a request brings a code with ``state``; return the code."""
        self._state = state
        async with self._listener, anyio.create_task_group() as tg:
            tg.start_soon(self._listener.serve, self._handle)
            await self._done.wait()
            tg.cancel_scope.cancel()
        if self._error is not None:
            raise self._error
        assert self._code is not None
        return self._code

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            with anyio.move_on_after(10):
                head = await _read_head(stream)
                status, title, text, finished = self._answer(head)
                body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
                await stream.send(
                    f"HTTP/1.0 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n"
                    "Cache-Control: no-store\r\n\r\n".encode()
                    + body
                )
            if finished:
                # Only now: stopping the listener earlier could cut the page short.
                self._done.set()

    def _answer(self, head: bytes) -> tuple[str, str, str, bool]:
        """Decide what this request means and what the browser is told."""
        line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(line) < 2 or line[0] != "GET":
            return "400 Bad Request", "Bad request", "Expected the sign-in redirect.", False
        target = urlsplit(line[1])
        if target.path != self.path or self._code is not None or self._error is not None:
            return "404 Not Found", "Not found", "Nothing here.", False
        params = {key: values[0] for key, values in parse_qs(target.query).items()}
        if params.get("state") != self._state:
            return "400 Bad Request", "Sign-in not accepted", "The state did not match.", False
        if "error" in params:
            reason = params["error"]
            detail = params.get("error_description", "")
            self._error = OAuthError(
                f"authorization refused: {reason}" + (f": {detail}" if detail else ""),
                error=reason,
                error_description=detail or None,
            )
            return "200 OK", "Sign-in refused", f"Procore said: {reason}. {detail}", True
        code = params.get("code")
        if not code:
            return "400 Bad Request", "Sign-in not accepted", "The redirect had no code.", False
        self._code = code
        return "200 OK", "Signed in", "procore-async has the code; you can close this tab.", True


async def _read_head(stream: anyio.abc.SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < _MAX_HEAD:
        try:
            data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            break
    return data
