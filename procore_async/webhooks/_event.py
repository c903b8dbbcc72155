"""One typed event for every payload format Procore delivers (v2.0, v3.0, v4.0).

Procore's three formats say the same thing differently (``plan_your_app/webhooks.md``):
v2.0 has integer ids, ``event_type`` and ``resource_name``; v3.0 adds
``related_resources``; v4.0 has string ids, ``reason`` and ``resource_type``, and an
optional ``data`` object.  Handlers should not care which format a hook was created
with, so :func:`parse_event` maps all three onto :class:`WebhookEvent`: ids become
ints where they are numeric (the event id stays a string: in v4.0 it is a ULID),
the two spellings of the resource and of the event type are unified, and the
timestamp becomes an aware ``datetime``.  The payload is kept as ``raw``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Any

__all__ = [
    "PAYLOAD_VERSIONS",
    "PayloadError",
    "RelatedResource",
    "UnknownPayloadVersionError",
    "WebhookEvent",
    "parse_event",
    "parse_timestamp",
]

#: The payload formats Procore documents; anything else is refused, never guessed.
PAYLOAD_VERSIONS = ("v2.0", "v3.0", "v4.0")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_FRACTION = re.compile(r"\.(\d+)")


class PayloadError(ValueError):
    """The body is not a webhook event Procore could have sent (what is wrong is said)."""


class UnknownPayloadVersionError(PayloadError):
    """The payload names a format this library does not know (not v2.0/v3.0/v4.0)."""


@dataclass(frozen=True, slots=True)
class RelatedResource:
    """An entry of v3.0's ``related_resources`` (e.g. the Direct Cost of a line item)."""

    id: int | str
    name: str


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A change in Procore, as one delivery announced it.

    ``id`` is the event id as a string (v2.0/v3.0 integers, v4.0 ULIDs): the key
    deliveries are deduplicated on.  ``event_type`` is lower case (``create``,
    ``update``, ``delete``; v4.0 may add others), also readable as ``reason``;
    ``resource_name`` is also readable as ``resource_type``.  ``raw`` is the payload
    exactly as delivered.
    """

    id: str
    payload_version: str
    resource_name: str
    event_type: str
    resource_id: int | str | None
    timestamp: datetime
    company_id: int | None = None
    project_id: int | None = None
    user_id: int | None = None
    ulid: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
    related_resources: tuple[RelatedResource, ...] = ()
    data: Mapping[str, Any] | None = field(default=None, repr=False)
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    @property
    def reason(self) -> str:
        """v4.0's name for :attr:`event_type`."""
        return self.event_type

    @property
    def resource_type(self) -> str:
        """v4.0's name for :attr:`resource_name`."""
        return self.resource_name

    def to_json(self) -> str:
        """The payload as delivered, serialised again (for queues and logs you own)."""
        return json.dumps(dict(self.raw), separators=(",", ":"))


def parse_timestamp(value: Any) -> datetime:
    """ISO 8601 read generously: ``Z`` or an offset, any number of fraction digits.

    Procore's webhook timestamps carry microseconds (``…12.246562Z``), other parts of
    the API milliseconds; Python 3.10's ``fromisoformat`` accepts neither ``Z`` nor
    every precision, so both are normalised first.  A naive time is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("timestamp must be an ISO 8601 string")
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PayloadError(f"timestamp is not ISO 8601: {value[:40]!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _int_or_none(payload: Mapping[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{key} must be an id, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise PayloadError(f"{key} must be a numeric id")


def _resource_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else text or None


def _required_text(payload: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise PayloadError(f"missing {' or '.join(keys)}")


def _version(payload: Mapping[str, Any]) -> str:
    """Which format this is: named by ``api_version``/``payload_version``, or v4.0's shape."""
    named = payload.get("payload_version", payload.get("api_version"))
    if named is not None:
        text = str(named).strip()
        if text in ("v2", "v3", "v4"):
            text += ".0"
        if text not in PAYLOAD_VERSIONS:
            raise UnknownPayloadVersionError(
                f"unknown payload version {text[:20]!r} (known: {', '.join(PAYLOAD_VERSIONS)})"
            )
        return text
    if "reason" in payload and "resource_type" in payload:
        return "v4.0"
    raise UnknownPayloadVersionError("payload names no version and is not in v4.0's shape")


def _related(payload: Mapping[str, Any]) -> tuple[RelatedResource, ...]:
    items = payload.get("related_resources")
    if items is None:
        return ()
    if not isinstance(items, list):
        raise PayloadError("related_resources must be a list")
    found = []
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            raise PayloadError("each related resource needs an id")
        rid = _resource_id(item["id"])
        found.append(RelatedResource(rid if rid is not None else "", str(item.get("name", ""))))
    return tuple(found)


def parse_event(payload: Any) -> WebhookEvent:
    """The :class:`WebhookEvent` in a decoded JSON payload, or :class:`PayloadError`."""
    if not isinstance(payload, dict):
        raise PayloadError("an event must be a JSON object")
    version = _version(payload)
    raw_id = payload.get("id")
    if raw_id is None or isinstance(raw_id, (bool, dict, list)) or str(raw_id).strip() == "":
        raise PayloadError("missing event id")
    if version == "v4.0":
        resource = _required_text(payload, "resource_type", "resource_name")
        event_type = _required_text(payload, "reason", "event_type")
    else:
        resource = _required_text(payload, "resource_name")
        event_type = _required_text(payload, "event_type")
    metadata = payload.get("metadata")
    data = payload.get("data")
    ulid = payload.get("ulid")
    return WebhookEvent(
        id=str(raw_id).strip(),
        payload_version=version,
        resource_name=resource,
        event_type=event_type.lower(),
        resource_id=_resource_id(payload.get("resource_id")),
        timestamp=parse_timestamp(payload.get("timestamp")),
        company_id=_int_or_none(payload, "company_id"),
        project_id=_int_or_none(payload, "project_id"),
        user_id=_int_or_none(payload, "user_id"),
        ulid=str(ulid) if isinstance(ulid, str) and ulid else None,
        metadata=MappingProxyType(dict(metadata)) if isinstance(metadata, dict) else _EMPTY,
        related_resources=_related(payload) if version == "v3.0" else (),
        data=MappingProxyType(dict(data)) if isinstance(data, dict) else None,
        raw=MappingProxyType(payload),
    )
