"""Lazy iteration over Procore's paginated collections, fetching pages ahead concurrently.

Procore pages with ``page``/``per_page`` query parameters and says where to go
next in a ``Link`` header; most endpoints also send ``Total`` and ``Per-Page``.
The walk is defined by the server's links: page after page follows ``rel="next"``
and ends when there is none, or at an empty page.  When the first page tells us
how many pages there are (``Total``/``Per-Page``, or a ``last`` link), the pages
between are *predicted* by rewriting the ``page`` parameter of the first ``next``
link (so the server's URL shape, API version and ``per_page`` are kept) and
fetched ahead, at most ``concurrency`` at a time.  The sequence handed out is
still exactly what following the links yields; a prediction the links contradict
is dropped and the links are followed again.

Fetching ahead must not outlive the caller, and an async generator that yields
inside a task group breaks cancel scopes (asyncio and trio alike).  So there are
two ways to run it, and neither leaves a task running between two ``__anext__``
calls that the caller cannot see:

* plain ``async for``: each time the buffer runs dry, one ``__anext__`` fetches
  the next ``concurrency`` pages in a task group that closes before it returns.
  Breaking out of the loop, or cancelling the task, leaves nothing running.
* ``async with client.paginate(...) as items``: a producer in a task group owned
  by the ``async with`` keeps ``concurrency`` pages in flight while the caller
  works on earlier ones; leaving the block cancels it at once.

Either way at most ``concurrency`` pages wait in memory, plus the one in use, and
no page past the last one, or past what ``max_items`` needs, is requested.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic
from urllib.parse import parse_qsl, urljoin, urlsplit

import anyio
from anyio.abc import TaskGroup

from ._errors import Error, InvalidRequestError
from ._urls import Origin, encode_query

if TYPE_CHECKING:  # a TypeVar default (PEP 696): a bare ``ItemIterator`` means ``[Any]``
    from typing_extensions import TypeVar

    from ._request import Requester
    from ._response import Response

    T = TypeVar("T", default=Any)
else:
    from typing import TypeVar

    T = TypeVar("T")

__all__ = [
    "ItemIterator",
    "PageIterator",
    "items_of",
    "iterate_items",
    "iterate_pages",
    "next_link",
    "page_number",
    "with_page",
]


def items_of(body: Any) -> list[Any] | None:
    """The items of one page: a list body, or the ``data`` list of a v2 body.

    ``{}`` (an empty response body) counts as no items; anything else is not a
    collection page and gives None.
    """
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        data = body.get("data")
        if isinstance(data, list):
            return data
        if not body:
            return []
    return None


def page_number(url: str | None, name: str = "page") -> int | None:
    """The ``page`` (or ``name``) query parameter of ``url`` as a positive int, or None."""
    if not url:
        return None
    value = None
    for key, found in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key == name:
            value = found
    if value is None or not (value.isascii() and value.isdigit()) or int(value) < 1:
        return None
    return int(value)


def with_page(url: str, number: int) -> str:
    """``url`` with its ``page`` parameter set to ``number``; the rest is kept verbatim."""
    head, _, fragment = url.partition("#")
    base, _, query = head.partition("?")
    pairs = [pair for pair in query.split("&") if pair and pair.partition("=")[0] != "page"]
    pairs.append(f"page={number}")
    return f"{base}?{'&'.join(pairs)}" + (f"#{fragment}" if fragment else "")


def next_link(response: Response, origin: Origin) -> str | None:
    """The ``next`` URL of ``response``, or None on the last page.

    ``Response.pagination`` drops links to other hosts, which alone would end
    the walk silently, with part of the collection missing.  A ``next`` link off
    the API host raises :class:`InvalidRequestError` instead; nothing is sent there.
    """
    found = response.pagination.get("next")
    if found is not None:
        return found
    link = next(
        (link for link in response.raw.links.values() if _rel(link) == "next"),
        None,
    )
    if link is None:
        return None
    try:
        url = urljoin(str(response.request.url), link.get("url", "").strip(" <>'\""))
        urlsplit(url).port  # noqa: B018 - raises ValueError on a garbled port
    except ValueError:  # malformed, not hostile; Response.pagination has warned about it
        return None
    if not origin.owns(url):
        raise InvalidRequestError(
            f"the next-page link points to {urlsplit(url).hostname!r}, not the API host "
            f"{origin.host!r}; refusing to follow it with your credentials",
            response=response,
        )
    return None


def _rel(link: Mapping[str, str]) -> str:
    return link.get("rel", "").strip(" \"',")


class _Slot:
    """One page fetched ahead: its outcome, and an event set when it is known."""

    __slots__ = ("done", "error", "number", "response")

    def __init__(self, number: int) -> None:
        self.number = number
        self.done = anyio.Event()
        self.response: Response | None = None
        self.error: Exception | None = None


class PageIterator(Generic[T]):
    """Every page of a collection as a :class:`Response`, in order (``client.pages``).

    ``T`` is the item type of the pages (for :class:`ItemIterator`); a page's body
    may be a list or a v2 ``{"data": [...]}`` envelope, so pages stay ``Response``.

    An async iterator; also an async context manager, under which pages are
    fetched ahead in the background while the caller works (see the module
    docstring).  ``aclose()`` stops it early.  Not reusable: iterate it once.
    """

    def __init__(
        self,
        client: Requester,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | str | None = None,
        company_id: int | str | None = None,
        per_page: int | None = None,
        max_items: int | None = None,
        concurrency: int | None = None,
        start_page: int | None = None,
    ) -> None:
        for name, value, low in (
            ("per_page", per_page, 1),
            ("max_items", max_items, 0),
            ("concurrency", concurrency, 1),
            ("start_page", start_page, 1),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < low
            ):
                raise ValueError(f"{name} must be an integer >= {low}, not {value!r}")
        if isinstance(query, str):
            # An already-encoded query string (as for ``get``): checked now, before any
            # I/O, and kept on the path so repeated keys survive; page/per_page follow.
            text = encode_query(query)
            path = f"{path}{'&' if '?' in path else '?'}{text}" if text else path
            query = None
        params = dict(query or {})
        if start_page is not None:
            params["page"] = start_page
        if per_page is not None:
            params["per_page"] = per_page
        self._client = client
        self._origin = Origin(client.config.host)
        self._path = path
        self._query = params
        self._version = version
        self._company_id = company_id
        self._max_items = max_items
        self._concurrency = concurrency or client.config.max_concurrency
        self._previous: Response | None = None  # the page handed out last
        self._count = 0  # items handed out so far
        self._closed = False
        # Fetching ahead: the page numbers still to come, the URL they are built from,
        # pages requested but not handed out yet, and (under ``async with``) the producer.
        self._plan = range(0)
        self._template = ""
        self._slots: dict[int, _Slot] = {}
        self._group: TaskGroup | None = None
        self._room: anyio.Semaphore | None = None
        self._stop: anyio.CancelScope | None = None

    def __aiter__(self) -> PageIterator[T]:
        return self

    async def __anext__(self) -> Response:
        if self._closed:
            raise StopAsyncIteration
        try:
            response = await self._advance()
        except BaseException:
            await self.aclose()
            raise
        if response is None:
            await self.aclose()
            raise StopAsyncIteration
        self._previous = response
        return response

    async def __aenter__(self) -> PageIterator[T]:
        if self._group is not None or self._previous is not None or self._closed:
            raise RuntimeError("enter a paginator once, before iterating it")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
        group, self._group = self._group, None
        if group is not None:
            await group.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Stop: cancel pages in flight and drop the ones waiting.  Safe to call twice."""
        self._closed = True
        self._drop_plan()

    # -- the walk ------------------------------------------------------------

    async def _advance(self) -> Response | None:
        if self._max_items is not None and self._count >= self._max_items:
            return None
        previous = self._previous
        if previous is None:
            response = await self._get(self._path, self._query)
            self._count = len(items_of(response.body) or ())
            self._plan_ahead(response)
            return response
        if items_of(previous.body) == []:
            return None  # an empty page ends the walk, whatever its links say
        url = next_link(previous, self._origin)
        if url is None:
            return None
        if self._plan and page_number(url) != self._plan[0]:
            self._drop_plan()  # the server's links disagree with the prediction
        found = await self._take() if self._plan else await self._get(url)
        if found is not None:
            self._count += len(items_of(found.body) or ())
        return found

    async def _get(self, url: str, query: Mapping[str, Any] | None = None) -> Response:
        client = self._client
        spec = client.build(
            "GET", url, version=self._version, query=query, company_id=self._company_id,
            label="page",
        )  # fmt: skip
        return await client.send(spec)

    def _plan_ahead(self, first: Response) -> None:
        """Predict the remaining pages from the first one, if it says how many there are."""
        first_items = items_of(first.body)
        if self._concurrency < 2 or self._closed or not first_items:
            return
        template = first.pagination.get("next")
        start = page_number(template)
        if template is None or start is None:
            return
        size = first.per_page or page_number(template, "per_page") or len(first_items)
        last = page_number(first.pagination.get("last"))
        if last is None and first.total is not None and size:
            last = math.ceil(first.total / size)
        if last is None:
            return
        if self._max_items is not None:
            needed = math.ceil(max(self._max_items - self._count, 0) / size)
            last = min(last, start + needed - 1)
        if last <= start:
            return  # at most one page left: nothing to overlap
        self._template = template
        self._plan = range(start, last + 1)
        if self._group is not None:
            self._room = anyio.Semaphore(self._concurrency)
            self._stop = anyio.CancelScope()
            self._group.start_soon(self._produce, self._plan, self._room, self._stop)

    def _drop_plan(self) -> None:
        self._plan = range(0)
        for slot in self._slots.values():
            slot.done.set()  # wakes a consumer waiting in another task; it then ends
        self._slots.clear()
        if self._stop is not None:
            self._stop.cancel()
            self._stop = None

    def _slot(self, number: int) -> _Slot:
        slot = self._slots.get(number)
        if slot is None:
            slot = self._slots[number] = _Slot(number)
        return slot

    async def _take(self) -> Response | None:
        """The next predicted page, in order; fetches a burst first unless a producer runs."""
        number = self._plan[0]
        self._plan = self._plan[1:]
        slot = self._slot(number)
        if self._room is None and not slot.done.is_set():
            async with anyio.create_task_group() as burst:
                for ahead in range(number, min(number + self._concurrency, self._plan.stop)):
                    burst.start_soon(self._fetch, self._slot(ahead))
        await slot.done.wait()
        self._slots.pop(number, None)
        if self._room is not None:
            self._room.release()
        if slot.error is not None:
            raise slot.error
        return slot.response  # None only if it was cancelled by aclose()

    async def _produce(self, plan: range, room: anyio.Semaphore, stop: anyio.CancelScope) -> None:
        with stop:
            async with anyio.create_task_group() as fetches:
                for number in plan:
                    await room.acquire()  # released when the consumer takes a page
                    fetches.start_soon(self._fetch, self._slot(number))

    async def _fetch(self, slot: _Slot) -> None:
        try:
            slot.response = await self._get(with_page(self._template, slot.number))
        except Exception as exc:  # handed to the consumer in page order
            slot.error = exc
        finally:
            slot.done.set()


class ItemIterator(Generic[T]):
    """Every item of a collection, in order (``client.paginate``); see :class:`PageIterator`.

    ``ItemIterator[RFI]`` when the item type is known (generated operations,
    ``paginate(..., item_type=RFI)``); the type is for checkers only, items are dicts.
    """

    def __init__(self, pages: PageIterator[T]) -> None:
        self._pages = pages
        self._left = pages._max_items
        self._items: list[Any] = []
        self._index = 0

    def __aiter__(self) -> ItemIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._left == 0:
            await self.aclose()
            raise StopAsyncIteration
        while self._index >= len(self._items):
            page = await self._pages.__anext__()
            items = items_of(page.body)
            if items is None:
                await self.aclose()
                raise Error(
                    f"{page.request.method} {page.request.url.path} did not return a list of "
                    "items (nor a {'data': [...]} body); use client.get() for a single resource",
                    response=page,
                )
            self._items, self._index = items, 0
        item = self._items[self._index]
        self._index += 1
        if self._left is not None:
            self._left -= 1
        return item  # type: ignore[no-any-return]

    async def __aenter__(self) -> ItemIterator[T]:
        await self._pages.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._pages.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Stop early; see :meth:`PageIterator.aclose`."""
        self._items = []
        await self._pages.aclose()


#: ``client.pages(...)``.
iterate_pages = PageIterator


def iterate_items(client: Requester, path: str, **arguments: Any) -> ItemIterator:
    """``client.paginate(...)``: the items of the pages ``iterate_pages`` would walk."""
    return ItemIterator(PageIterator(client, path, **arguments))
