"""Which handlers an event goes to: ``on("RFIs", "create")``, wildcards, a catch-all.

Patterns are shell-style (``fnmatch``: ``*``, ``?``, ``[abc]``) and compared without
regard to case, because Procore spells event types ``create`` in payloads and
``CREATE`` in trigger listings, and resource names are easy to mis-case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ._event import WebhookEvent

__all__ = ["Handler", "HandlerTable"]

Handler = Callable[[WebhookEvent], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class _Route:
    resource: str
    event_type: str
    handler: Handler

    def matches(self, resource: str, event_type: str) -> bool:
        return fnmatchcase(resource, self.resource) and fnmatchcase(event_type, self.event_type)


class HandlerTable:
    """Handlers in registration order; the catch-all ones get what nobody else matched."""

    __slots__ = ("_cache", "_fallback", "_routes")

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._fallback: list[Handler] = []
        self._cache: dict[tuple[str, str], tuple[Handler, ...]] = {}

    @staticmethod
    def check_pattern(resource: str, event_type: str) -> None:
        for name, value in (("resource", resource), ("event_type", event_type)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty pattern (use '*' for any)")

    def add(self, handler: Handler, resource: str = "*", event_type: str = "*") -> None:
        if not callable(handler):
            raise TypeError("a handler must be an async callable taking a WebhookEvent")
        self.check_pattern(resource, event_type)
        self._routes.append(_Route(resource.strip().lower(), event_type.strip().lower(), handler))
        self._cache.clear()

    def add_fallback(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("a handler must be an async callable taking a WebhookEvent")
        self._fallback.append(handler)
        self._cache.clear()

    def __bool__(self) -> bool:
        return bool(self._routes or self._fallback)

    def for_event(self, event: WebhookEvent) -> tuple[Handler, ...]:
        """The handlers for this event, in registration order (cached per name pair)."""
        key = (event.resource_name.lower(), event.event_type.lower())
        found = self._cache.get(key)
        if found is None:
            matched = tuple(r.handler for r in self._routes if r.matches(*key))
            found = matched or tuple(self._fallback)
            if len(self._cache) < 4096:
                self._cache[key] = found
        return found
