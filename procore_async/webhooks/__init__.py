"""Procore webhooks: manage hooks and triggers, receive and dispatch events, catch up.

``client.webhooks`` (a :class:`Webhooks`) configures Procore; a
:class:`WebhookReceiver` is the ASGI app Procore delivers to; every payload format
becomes one :class:`WebhookEvent`.  See docs/webhooks.md.  Names load lazily, so
importing this package costs nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._dedupe import DedupeStore, MemoryDedupeStore, RedisDedupeStore
    from ._event import (
        PAYLOAD_VERSIONS,
        PayloadError,
        RelatedResource,
        UnknownPayloadVersionError,
        WebhookEvent,
        parse_event,
    )
    from ._manage import Webhooks
    from ._models import CatchUpResult, Delivery, EnsureResult, Hook, Scope, Trigger
    from ._receiver import ReceiverStats, WebhookReceiver
    from ._serve import listening, serve_receiver

__all__ = [
    "PAYLOAD_VERSIONS",
    "CatchUpResult",
    "DedupeStore",
    "Delivery",
    "EnsureResult",
    "Hook",
    "MemoryDedupeStore",
    "PayloadError",
    "ReceiverStats",
    "RedisDedupeStore",
    "RelatedResource",
    "Scope",
    "Trigger",
    "UnknownPayloadVersionError",
    "WebhookEvent",
    "WebhookReceiver",
    "Webhooks",
    "listening",
    "parse_event",
    "serve_receiver",
]

_HOME = {
    "PAYLOAD_VERSIONS": "._event",
    "CatchUpResult": "._models",
    "DedupeStore": "._dedupe",
    "Delivery": "._models",
    "EnsureResult": "._models",
    "Hook": "._models",
    "MemoryDedupeStore": "._dedupe",
    "PayloadError": "._event",
    "ReceiverStats": "._receiver",
    "RedisDedupeStore": "._dedupe",
    "RelatedResource": "._event",
    "Scope": "._models",
    "Trigger": "._models",
    "UnknownPayloadVersionError": "._event",
    "WebhookEvent": "._event",
    "WebhookReceiver": "._receiver",
    "Webhooks": "._manage",
    "listening": "._serve",
    "parse_event": "._event",
    "serve_receiver": "._serve",
}

__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__, public_module=True)
