"""Event hooks: see every request the pipeline sends, every answer and every retry.

Three kinds of event, each a small frozen record handed to every hook of its
kind (a plain function or a coroutine function)::

    client = AsyncClient(..., event_hooks={"request": [on_request], "retry": [on_retry]})
    client.hooks.response.append(on_response)

* :class:`RequestEvent`: an attempt is about to be sent, after pacing and the
  token; says whether it was paced, whether it carries the bearer token, and
  whether it is the replay after a 401;
* :class:`ResponseEvent`: the attempt ended, with a status or a transport
  failure, and how the pipeline classified it (``error`` is None for success);
* :class:`RetryEvent`: the retry policy will sleep ``wait`` seconds and try again.

The bearer token is never in an event (the pipeline adds it to a copy of the
headers at send time; ``header_names`` says what was sent): hooks are where
spans and metrics live, and they must not become a place tokens leak to.  A
storage spec's URL and headers are Procore-issued credentials: do not log them.  A hook that raises
aborts the request with its exception (not retried).  With no hooks the
pipeline builds no events at all.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._request import RequestSpec

__all__ = ["HOOK_KINDS", "Hooks", "RequestEvent", "ResponseEvent", "RetryEvent", "emit"]

E = TypeVar("E")
Hook = Callable[[E], Any]
HOOK_KINDS = ("request", "response", "retry")


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """Attempt ``attempt`` (1-based) of ``spec`` is about to go out."""

    spec: RequestSpec
    attempt: int
    paced: bool
    authenticated: bool
    replay: bool
    header_names: frozenset[str]


@dataclass(frozen=True, slots=True)
class ResponseEvent:
    """Attempt ``attempt`` of ``spec`` ended: ``status_code`` (None: no answer) and
    ``error``, the typed error it was classified as (None: success)."""

    spec: RequestSpec
    attempt: int
    status_code: int | None
    error: BaseException | None
    elapsed: float
    request_id: str | None


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """``spec`` failed with ``error``; retry ``retry`` follows after ``wait`` seconds."""

    spec: RequestSpec
    error: BaseException
    retry: int
    wait: float


class Hooks:
    """The client's hooks, by kind; mutable lists, shared by ``with_options`` views."""

    __slots__ = ("request", "response", "retry")

    def __init__(self, hooks: Mapping[str, Iterable[Callable[[Any], Any]]] | None = None) -> None:
        self.request: list[Hook[RequestEvent]] = []
        self.response: list[Hook[ResponseEvent]] = []
        self.retry: list[Hook[RetryEvent]] = []
        for kind, functions in (hooks or {}).items():
            if kind not in HOOK_KINDS:
                raise ValueError(f"event_hooks keys must be among {HOOK_KINDS}, not {kind!r}")
            for function in functions:
                if not callable(function):
                    raise TypeError(f"event hook {function!r} is not callable")
                getattr(self, kind).append(function)

    def __repr__(self) -> str:
        counts = ", ".join(f"{kind}={len(getattr(self, kind))}" for kind in HOOK_KINDS)
        return f"<Hooks {counts}>"


async def emit(hooks: list[Hook[E]], event: E) -> None:
    """Call every hook with ``event``, awaiting the ones that return an awaitable."""
    for hook in hooks:
        outcome = hook(event)
        if inspect.isawaitable(outcome):
            await outcome
