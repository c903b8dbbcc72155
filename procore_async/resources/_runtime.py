"""What the generated resource modules need at run time: a client Protocol and helpers.

Generated methods are one line each: build the path, pick the query values that
were given, call the client's verb.  Everything they share lives here, kept tiny
so a generated call costs no more than the raw call it replaces.  This module
must not import ``procore_async._client``: the resources talk to any object with
the client's public verbs (:class:`Client`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import quote

from .._urls import encode_query

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from .._batch import SyncResult
    from .._pagination import ItemIterator
    from .._response import Response

    T = TypeVar("T", default=Any)
else:
    from typing import TypeVar

    T = TypeVar("T")

__all__ = ["Client", "Resource", "load", "query", "segment", "unwrap", "with_query"]


class Client(Protocol):
    """The part of :class:`procore_async.AsyncClient` the generated resources call."""

    async def get(
        self,
        path: str,
        *,
        version: str | None = ...,
        query: Mapping[str, Any] | None = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...

    async def delete(
        self,
        path: str,
        *,
        version: str | None = ...,
        query: Mapping[str, Any] | None = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...

    async def post(
        self,
        path: str,
        *,
        version: str | None = ...,
        body: Any = ...,
        company_id: int | str | None = ...,
        idempotency_token: str | None = ...,
    ) -> Response: ...

    async def put(
        self,
        path: str,
        *,
        version: str | None = ...,
        body: Any = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...

    async def patch(
        self,
        path: str,
        *,
        version: str | None = ...,
        body: Any = ...,
        company_id: int | str | None = ...,
        idempotency_token: str | None = ...,
    ) -> Response: ...

    def paginate(
        self,
        path: str,
        *,
        version: str | None = ...,
        query: Mapping[str, Any] | None = ...,
        company_id: int | str | None = ...,
        per_page: int | None = ...,
        max_items: int | None = ...,
        concurrency: int | None = ...,
        start_page: int | None = ...,
        item_type: type[T] | None = ...,
    ) -> ItemIterator[T]: ...

    async def sync(
        self,
        path: str,
        *,
        body: Mapping[str, Any],
        version: str | None = ...,
        company_id: int | str | None = ...,
        batch_size: int | None = ...,
        concurrency: int | None = ...,
        method: Literal["PATCH", "POST"] = ...,
        raise_on_error: bool = ...,
        on_progress: Callable[[int, int | None], Any] | None = ...,
    ) -> SyncResult: ...


class Resource:
    """Base of every generated namespace (``client.api.rfis`` is an ``RfisResource``)."""

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def segment(value: int | str) -> str:
    """One path parameter as a URL path segment; a wrong type fails before any I/O.

    A string is percent-encoded whole (``/`` included), so an id cannot climb the path.
    """
    if type(value) is int:  # the common case first; bool is not an id
        return str(value)
    if isinstance(value, str) and value:
        return quote(value, safe="")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    raise TypeError(f"a path parameter must be an int or a non-empty str, not {value!r}")


def query(values: dict[str, Any]) -> dict[str, Any] | None:
    """``values`` without the parameters left at None; None when nothing is left."""
    found = {key: value for key, value in values.items() if value is not None}
    return found or None


def unwrap(response: Response) -> Response:
    """Mark a v2 response whose body is a ``{"data": ...}`` envelope (``response.data``)."""
    response.envelope = True
    return response


def with_query(path: str, values: dict[str, Any]) -> str:
    """``path`` with its query string, for writes whose operation takes query parameters."""
    found = query(values)
    return f"{path}?{encode_query(found)}" if found else path


def load(api: Any, namespace: str, name: str) -> Any:
    """The namespace object ``api.<namespace>``, importing its module on first use only."""
    found = api.__dict__.get(namespace)
    if found is None:
        module = importlib.import_module(f"{__package__}.{namespace}")
        found = api.__dict__[namespace] = getattr(module, name)(api._client)
    return found
