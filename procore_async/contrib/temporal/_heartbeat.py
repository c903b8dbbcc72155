"""Heartbeats that carry progress, so a retried activity resumes where the last one stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
from temporalio import activity

__all__ = ["Heartbeat", "resumed_details", "take", "with_heartbeat"]

T = TypeVar("T")


class Heartbeat:
    """Keeps the last confirmed progress and re-sends it while a slow step runs.

    Temporal declares an activity dead when no heartbeat arrives within its
    heartbeat timeout; a window of rate-limited batches can take longer than that,
    so a background task repeats the latest details every third of the timeout.
    """

    def __init__(self, details: Mapping[str, Any]) -> None:
        self.details = dict(details)

    def beat(self, details: Mapping[str, Any]) -> None:
        self.details = dict(details)
        activity.heartbeat(self.details)

    async def keep_alive(self) -> None:
        timeout = activity.info().heartbeat_timeout
        interval = timeout.total_seconds() / 3 if timeout else 10.0
        while True:
            await anyio.sleep(interval)
            activity.heartbeat(self.details)


def resumed_details() -> dict[str, Any] | None:
    """The last heartbeat of the previous attempt of this activity, if any."""
    details = activity.info().heartbeat_details
    if details and isinstance(details[0], Mapping):
        return dict(details[0])
    return None


async def with_heartbeat(heartbeat: Heartbeat, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work()`` while ``heartbeat`` keeps the activity alive; return its result."""
    result: list[T] = []
    failure: list[BaseException] = []

    async def run(scope: anyio.CancelScope) -> None:
        try:
            result.append(await work())
        except Exception as exc:  # raised below as is, not inside an ExceptionGroup
            failure.append(exc)
        scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(heartbeat.keep_alive)
        tg.start_soon(run, tg.cancel_scope)
    if failure:
        raise failure[0]
    return result[0]


async def take(rows: AsyncIterator[Mapping[str, Any]], count: int) -> list[Mapping[str, Any]]:
    """Up to ``count`` rows from ``rows``."""
    chunk: list[Mapping[str, Any]] = []
    async for row in rows:
        chunk.append(row)
        if len(chunk) >= count:
            break
    return chunk
