"""Catch-up: replay the events Procore failed to deliver, into the live handlers.

A receiver that was down (a deploy, a crash) misses deliveries; Procore keeps
retrying them with backoff and after 12 hours discards them.  The deliveries
endpoint lists them, payload included, so the receiver can take them straight away
instead of waiting for the next retry, and get back the discarded ones that no retry
will bring.  Replayed events go through the receiver's dedupe store, so an event
that Procore's retry also brings runs its handlers once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._event import PayloadError, WebhookEvent
from ._models import DELIVERY_STATUSES, CatchUpResult, Scope

if TYPE_CHECKING:
    from ._manage import Webhooks
    from ._receiver import WebhookReceiver

__all__ = ["catch_up"]

_log = logging.getLogger("procore_async.webhooks")


async def catch_up(
    webhooks: Webhooks,
    scope: Scope,
    hook_id: int,
    receiver: WebhookReceiver,
    statuses: Sequence[str],
) -> CatchUpResult:
    for status in statuses:
        if status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {', '.join(DELIVERY_STATUSES)}")
    events: dict[str, WebhookEvent] = {}
    read = unreadable = 0
    for status in dict.fromkeys(statuses):
        async for delivery in webhooks.deliveries(scope, hook_id, status=status):
            read += 1
            try:
                event = delivery.event
            except PayloadError as exc:
                unreadable += 1
                _log.warning("catch-up skipped delivery %s: %s", delivery.event_id, exc)
                continue
            events.setdefault(event.id, event)
    replayed = duplicates = 0
    for event in sorted(events.values(), key=lambda e: e.timestamp):
        if await receiver.replay(event):
            replayed += 1
        else:
            duplicates += 1
    return CatchUpResult(
        deliveries=read, replayed=replayed, duplicates=duplicates, unreadable=unreadable
    )
