"""The storage legs' side of the pipeline: segment bodies that cost no copies, and the
two small spec helpers the upload and download flows share.

Every storage request goes through the client's one pipeline
(:meth:`~procore_async.AsyncClient.send` / :meth:`~procore_async.AsyncClient.stream`)
as a :meth:`RequestSpec.storage <procore_async._request.RequestSpec.storage>` spec:
Procore's headers only, never the bearer token, never paced, retried on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .._request import IssuedURL, RequestSpec

if TYPE_CHECKING:
    from .._request import Requester

__all__ = ["IssuedURL", "RequestSpec", "SegmentBody", "requester_for", "with_redirect"]


class SegmentBody:
    """A segment as 1 MiB views, not one ``bytes``: h11 joins what it is given into a new
    ``bytes`` and asyncio copies what the socket did not take, so one 8 MiB piece costs
    8 MiB twice more per segment in flight; views of the one copy cost nothing.

    Re-iterable (each ``__aiter__`` starts over), so the pipeline's retries resend the
    same bytes.  :meth:`release` lets go of the segment once its PUT is settled:
    httpx's request and response stay alive in a reference cycle until the garbage
    collector runs, and would keep the segment with them.
    """

    __slots__ = ("_data",)
    _STEP = 1024 * 1024

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def release(self) -> None:
        self._data = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        view = memoryview(self._data)
        for start in range(0, len(view), self._STEP):
            # A memoryview is what h11 and the socket take; typed as bytes for httpx.
            yield view[start : start + self._STEP]  # type: ignore[misc]


def requester_for(client: Any) -> Requester:
    """The requester the files code sends through: the client itself (it implements
    :class:`~procore_async._request.Requester`); typed here once for the flows."""
    requester: Requester = client
    return requester


def with_redirect(spec: RequestSpec) -> RequestSpec:
    """``spec`` asking for a 3xx to be returned rather than raised."""
    return dataclasses.replace(spec, expect_redirect=True)
