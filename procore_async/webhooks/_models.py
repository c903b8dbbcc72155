"""Typed views of Procore's webhook configuration: scope, hook, trigger, delivery.

The management calls use the v2.0 Webhooks API (the catalog's
``/rest/v2.0/companies/{company_id}[/projects/{project_id}]/webhooks/...``), whose
ids are strings; these classes turn them back into ints and keep the object as
``raw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._event import PAYLOAD_VERSIONS, WebhookEvent, parse_event

__all__ = [
    "DELIVERY_STATUSES",
    "CatchUpResult",
    "Delivery",
    "EnsureResult",
    "Hook",
    "Scope",
    "Trigger",
    "check_payload_version",
]

#: ``filter[status]`` values of the v2.0 deliveries endpoint.
DELIVERY_STATUSES = ("delivered", "failed", "discarded", "enqueued", "retrying")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def check_payload_version(version: str) -> str:
    if version not in PAYLOAD_VERSIONS:
        raise ValueError(f"payload_version must be one of {', '.join(PAYLOAD_VERSIONS)}")
    return version


def _id(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer id")
    return value


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a hook lives: a company, or one project of it.

    Procore scopes hooks to a company or to a project.  A project scope still names
    its company, which every call sends as ``Procore-Company-Id``.
    """

    company_id: int
    project_id: int | None = None

    def __post_init__(self) -> None:
        _positive(self.company_id, "company_id")
        if self.project_id is not None:
            _positive(self.project_id, "project_id")

    @classmethod
    def company(cls, company_id: int) -> Scope:
        return cls(company_id)

    @classmethod
    def project(cls, project_id: int, *, company_id: int) -> Scope:
        return cls(company_id, project_id)

    @classmethod
    def of(cls, value: Scope | Mapping[str, int]) -> Scope:
        """A Scope, or a mapping with ``company_id`` (and optionally ``project_id``)."""
        if isinstance(value, Scope):
            return value
        if isinstance(value, Mapping) and "company_id" in value:
            return cls(value["company_id"], value.get("project_id"))
        raise TypeError("scope must be a Scope or a mapping with company_id (and project_id)")

    @property
    def base(self) -> str:
        """The v2.0 path prefix of this scope's webhook endpoints."""
        if self.project_id is None:
            return f"companies/{self.company_id}/webhooks"
        return f"companies/{self.company_id}/projects/{self.project_id}/webhooks"


@dataclass(frozen=True, slots=True)
class Hook:
    """A hook: where Procore sends events, with which headers and payload format.

    ``destination_headers`` are as Procore returns them: masked to their last five
    characters, never the secret itself.
    """

    id: int
    namespace: str
    destination_url: str
    payload_version: str
    status: str | None = None
    company_id: int | None = None
    project_id: int | None = None
    destination_headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY, repr=False)
    trigger_count: int | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Hook:
        headers = data.get("destination_headers")
        count = data.get("trigger_count")
        return cls(
            id=_id(data.get("id")) or 0,
            namespace=str(data.get("namespace") or ""),
            destination_url=str(data.get("destination_url") or ""),
            payload_version=str(data.get("payload_version") or data.get("api_version") or ""),
            status=data.get("status"),
            company_id=_id(data.get("company_id", data.get("owned_by_company_id"))),
            project_id=_id(data.get("project_id", data.get("owned_by_project_id"))),
            destination_headers=MappingProxyType(
                {str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {}
            ),
            trigger_count=count if isinstance(count, int) else None,
            raw=MappingProxyType(dict(data)),
        )


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger: one resource and event type a hook subscribes to."""

    id: int
    hook_id: int | None
    resource_name: str
    event_type: str
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.resource_name, self.event_type)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Trigger:
        return cls(
            id=_id(data.get("id")) or 0,
            hook_id=_id(data.get("webhook_hook_id")),
            resource_name=str(data.get("resource_name") or ""),
            event_type=str(data.get("event_type") or "").lower(),
            raw=MappingProxyType(dict(data)),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event of a hook and how delivering it went (``status``, ``attempts``)."""

    event_id: str
    status: str
    payload: Mapping[str, Any]
    attempts: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    @property
    def event(self) -> WebhookEvent:
        """The payload as a :class:`WebhookEvent` (raises ``PayloadError`` if it is not one)."""
        return parse_event(dict(self.payload))

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Delivery:
        payload = data.get("payload") or data.get("event") or {}
        attempts = data.get("delivery_attempts") or ()
        return cls(
            event_id=str(data.get("id") or data.get("event_id") or ""),
            status=str(data.get("status") or data.get("outcome") or ""),
            payload=MappingProxyType(dict(payload)) if isinstance(payload, dict) else _EMPTY,
            attempts=tuple(MappingProxyType(dict(a)) for a in attempts if isinstance(a, dict)),
            raw=MappingProxyType(dict(data)),
        )


@dataclass(frozen=True, slots=True)
class EnsureResult:
    """What :meth:`Webhooks.ensure` changed to make Procore match the wanted setup."""

    hook: Hook
    created_hook: bool = False
    updated_fields: tuple[str, ...] = ()
    deleted_hooks: tuple[Hook, ...] = ()
    created_triggers: tuple[Trigger, ...] = ()
    deleted_triggers: tuple[Trigger, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(
            self.created_hook
            or self.updated_fields
            or self.deleted_hooks
            or self.created_triggers
            or self.deleted_triggers
        )


@dataclass(frozen=True, slots=True)
class CatchUpResult:
    """What a catch-up found: deliveries read, events replayed, duplicates skipped."""

    deliveries: int = 0
    replayed: int = 0
    duplicates: int = 0
    unreadable: int = 0
