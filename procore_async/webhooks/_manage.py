"""``client.webhooks``: hooks, triggers, resources and deliveries, on the generic verbs.

Every call is one of the catalog's v2.0 Webhooks operations under
``/rest/v2.0/companies/{company_id}[/projects/{project_id}]/webhooks/``, sent with
``Procore-Company-Id``.  :meth:`Webhooks.ensure` is the one most apps need: it makes
the configuration match what the app wants, whatever state it starts from, and says
what it changed, so it can run at every deploy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._models import (
    DELIVERY_STATUSES,
    CatchUpResult,
    Delivery,
    EnsureResult,
    Hook,
    Scope,
    Trigger,
    check_payload_version,
)

if TYPE_CHECKING:
    from .._response import Response
    from ._receiver import WebhookReceiver

__all__ = ["MAX_BULK_TRIGGERS", "ClientLike", "Webhooks"]

#: Procore's limit on one bulk trigger call.
MAX_BULK_TRIGGERS = 500
_VERSION = "v2.0"
_NAMESPACE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
ScopeLike = Scope | Mapping[str, int]


class ClientLike(Protocol):
    """The part of :class:`~procore_async.AsyncClient` these calls use."""

    async def get(
        self, path: str, *, version: str | None = ..., query: Mapping[str, Any] | None = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...  # fmt: skip

    async def post(
        self, path: str, *, version: str | None = ..., body: Any = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...  # fmt: skip

    async def patch(
        self, path: str, *, version: str | None = ..., body: Any = ...,
        company_id: int | str | None = ...,
    ) -> Response: ...  # fmt: skip

    async def delete(
        self, path: str, *, version: str | None = ..., company_id: int | str | None = ...
    ) -> Response: ...

    def paginate(
        self, path: str, *, version: str | None = ..., query: Mapping[str, Any] | None = ...,
        company_id: int | str | None = ..., per_page: int | None = ...,
    ) -> Any: ...  # fmt: skip


def _data(response: Response) -> Any:
    body = response.body
    return body.get("data", body) if isinstance(body, dict) else body


def _namespace(namespace: str) -> str:
    if not namespace or not set(namespace) <= _NAMESPACE_CHARS:
        raise ValueError("namespace must be lowercase a-z, digits and dashes (Procore's rule)")
    return namespace


def _pairs(triggers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    wanted: list[tuple[str, str]] = []
    for item in triggers:
        if isinstance(item, str) or len(item) != 2:
            raise TypeError("each trigger is a (resource_name, event_type) pair")
        resource, event_type = item
        if not isinstance(resource, str) or not resource.strip():
            raise ValueError("a trigger's resource_name must be a non-empty string")
        if not isinstance(event_type, str) or not event_type.strip():
            raise ValueError("a trigger's event_type must be a non-empty string")
        pair = (resource.strip(), event_type.strip().lower())
        if pair not in wanted:
            wanted.append(pair)
    return wanted


def _mask_matches(shown: str | None, secret: str) -> bool:
    """Procore shows a header masked to its last 5 characters; compare what it shows."""
    return shown is not None and shown[-5:] == secret[-5:]


class Webhooks:
    """Manage Procore webhooks for one client (``client.webhooks``)."""

    __slots__ = ("_client",)

    def __init__(self, client: ClientLike) -> None:
        self._client = client

    # -- hooks --------------------------------------------------------------------------

    async def hooks(self, scope: ScopeLike, *, namespace: str | None = None) -> list[Hook]:
        """Every hook of the scope (only ``namespace``'s when given)."""
        where = Scope.of(scope)
        query = {"namespace": namespace} if namespace else None
        items = self._client.paginate(
            f"{where.base}/hooks", version=_VERSION, query=query, company_id=where.company_id
        )
        return [Hook.from_api(item) async for item in items]

    async def hook(self, scope: ScopeLike, hook_id: int) -> Hook:
        where = Scope.of(scope)
        response = await self._client.get(
            f"{where.base}/hooks/{int(hook_id)}", version=_VERSION, company_id=where.company_id
        )
        return Hook.from_api(_data(response))

    async def create_hook(
        self,
        scope: ScopeLike,
        *,
        namespace: str,
        destination_url: str,
        headers: Mapping[str, str] | None = None,
        payload_version: str = "v4.0",
    ) -> Hook:
        """A new hook.  ``headers`` are what Procore sends back on every delivery."""
        where = Scope.of(scope)
        body: dict[str, Any] = {
            "namespace": _namespace(namespace),
            "destination_url": _url(destination_url),
            "payload_version": check_payload_version(payload_version),
        }
        if headers:
            body["destination_headers"] = dict(headers)
        response = await self._client.post(
            f"{where.base}/hooks", version=_VERSION, body=body, company_id=where.company_id
        )
        return Hook.from_api(_data(response))

    async def update_hook(self, scope: ScopeLike, hook_id: int, **changes: Any) -> Hook:
        """Change ``destination_url``, ``destination_headers``, ``payload_version``,
        ``namespace`` or ``status`` (``"active"``/``"disabled"``) of a hook."""
        allowed = {"destination_url", "destination_headers", "payload_version", "namespace"}
        unknown = set(changes) - allowed - {"status"}
        if unknown:
            raise TypeError(f"update_hook() got unknown fields: {', '.join(sorted(unknown))}")
        if "payload_version" in changes:
            check_payload_version(changes["payload_version"])
        if "destination_url" in changes:
            _url(changes["destination_url"])
        if "namespace" in changes:
            _namespace(changes["namespace"])
        if changes.get("status", "active") not in ("active", "disabled"):
            raise ValueError("status must be 'active' or 'disabled'")
        where = Scope.of(scope)
        response = await self._client.patch(
            f"{where.base}/hooks/{int(hook_id)}",
            version=_VERSION,
            body=changes,
            company_id=where.company_id,
        )
        return Hook.from_api(_data(response))

    async def delete_hook(self, scope: ScopeLike, hook_id: int) -> None:
        where = Scope.of(scope)
        await self._client.delete(
            f"{where.base}/hooks/{int(hook_id)}", version=_VERSION, company_id=where.company_id
        )

    # -- triggers -----------------------------------------------------------------------

    async def triggers(self, scope: ScopeLike, hook_id: int) -> list[Trigger]:
        where = Scope.of(scope)
        items = self._client.paginate(
            f"{where.base}/hooks/{int(hook_id)}/triggers",
            version=_VERSION,
            company_id=where.company_id,
        )
        return [Trigger.from_api(item) async for item in items]

    async def create_trigger(
        self, scope: ScopeLike, hook_id: int, resource_name: str, event_type: str
    ) -> Trigger:
        ((resource, kind),) = _pairs([(resource_name, event_type)])
        where = Scope.of(scope)
        response = await self._client.post(
            f"{where.base}/hooks/{int(hook_id)}/triggers",
            version=_VERSION,
            body={"resource_name": resource, "event_type": kind},
            company_id=where.company_id,
        )
        return Trigger.from_api(_data(response))

    async def create_triggers(
        self, scope: ScopeLike, hook_id: int, triggers: Iterable[tuple[str, str]]
    ) -> list[Trigger]:
        """Bulk create, :data:`MAX_BULK_TRIGGERS` per call (Procore's limit)."""
        wanted = _pairs(triggers)
        where = Scope.of(scope)
        created: list[Trigger] = []
        for start in range(0, len(wanted), MAX_BULK_TRIGGERS):
            chunk = wanted[start : start + MAX_BULK_TRIGGERS]
            response = await self._client.post(
                f"{where.base}/hooks/{int(hook_id)}/triggers/bulk",
                version=_VERSION,
                body=[{"resource_name": r, "event_type": e} for r, e in chunk],
                company_id=where.company_id,
            )
            data = _data(response)
            items = data if isinstance(data, list) else []
            created += [Trigger.from_api(item) for item in items if isinstance(item, dict)]
        return created

    async def delete_trigger(self, scope: ScopeLike, hook_id: int, trigger_id: int) -> None:
        where = Scope.of(scope)
        await self._client.delete(
            f"{where.base}/hooks/{int(hook_id)}/triggers/{int(trigger_id)}",
            version=_VERSION,
            company_id=where.company_id,
        )

    async def delete_triggers(
        self, scope: ScopeLike, hook_id: int, trigger_ids: Iterable[int]
    ) -> None:
        """Delete several triggers, one ``DELETE`` each.

        Procore's bulk delete carries its ids in a DELETE body, which the generic
        verbs (like most HTTP tooling) do not send; one call per trigger is what
        works through every proxy, and ``ensure`` rarely deletes many.
        """
        for trigger_id in trigger_ids:
            await self.delete_trigger(scope, hook_id, trigger_id)

    # -- resources and deliveries --------------------------------------------------------

    async def resources(
        self, scope: ScopeLike, *, payload_version: str = "v4.0"
    ) -> list[dict[str, Any]]:
        """The resources this scope can subscribe to, with their actions."""
        where = Scope.of(scope)
        items = self._client.paginate(
            f"{where.base}/resources",
            version=_VERSION,
            query={"payload_version": check_payload_version(payload_version)},
            company_id=where.company_id,
        )
        return [dict(item) async for item in items]

    async def deliveries(
        self, scope: ScopeLike, hook_id: int, *, status: str | None = None
    ) -> AsyncIterator[Delivery]:
        """The hook's deliveries, newest last; ``status`` filters on one of
        ``delivered``, ``failed``, ``discarded``, ``enqueued``, ``retrying``."""
        if status is not None and status not in DELIVERY_STATUSES:
            raise ValueError(f"status must be one of {', '.join(DELIVERY_STATUSES)}")
        where = Scope.of(scope)
        query = {"filter": {"status": status}} if status else None
        items = self._client.paginate(
            f"{where.base}/hooks/{int(hook_id)}/deliveries",
            version=_VERSION,
            query=query,
            company_id=where.company_id,
        )
        async for item in items:
            yield Delivery.from_api(item)

    # -- the high-level calls ---------------------------------------------------------------

    async def ensure(
        self,
        scope: ScopeLike,
        *,
        namespace: str,
        destination_url: str,
        triggers: Iterable[tuple[str, str]],
        headers: Mapping[str, str] | None = None,
        payload_version: str = "v4.0",
    ) -> EnsureResult:
        """Make the scope's hook for ``namespace`` match, idempotently.

        The hook of ``namespace`` with this ``destination_url`` is kept (exact
        duplicates of it are deleted); failing that the namespace's first hook is
        pointed here; failing that one is created.  Its payload version and headers
        are set if they differ (headers are compared on the last five characters
        Procore shows), missing triggers are created in bulk and triggers not asked
        for are deleted.  Hooks of other namespaces or other URLs are not touched.
        """
        _namespace(namespace)
        _url(destination_url)
        check_payload_version(payload_version)
        wanted = _pairs(triggers)
        where = Scope.of(scope)
        found = await self.hooks(where, namespace=namespace)
        found = [h for h in found if h.namespace == namespace]
        exact = [h for h in found if h.destination_url == destination_url]
        deleted_hooks = tuple(exact[1:])
        for extra in deleted_hooks:
            await self.delete_hook(where, extra.id)
        keep = exact[0] if exact else found[0] if found else None
        created = keep is None
        updated: list[str] = []
        if keep is None:
            keep = await self.create_hook(
                where,
                namespace=namespace,
                destination_url=destination_url,
                headers=headers,
                payload_version=payload_version,
            )
        else:
            changes = _hook_changes(keep, destination_url, headers, payload_version)
            if changes:
                updated = sorted(changes)
                keep = await self.update_hook(where, keep.id, **changes)
        existing = [] if created else await self.triggers(where, keep.id)
        seen: set[tuple[str, str]] = set()
        doomed: list[Trigger] = []
        for trigger in existing:
            if trigger.key in wanted and trigger.key not in seen:
                seen.add(trigger.key)
            else:
                doomed.append(trigger)
        missing = [pair for pair in wanted if pair not in seen]
        made = await self.create_triggers(where, keep.id, missing) if missing else []
        await self.delete_triggers(where, keep.id, [t.id for t in doomed])
        return EnsureResult(
            hook=keep,
            created_hook=created,
            updated_fields=tuple(updated),
            deleted_hooks=deleted_hooks,
            created_triggers=tuple(made),
            deleted_triggers=tuple(doomed),
        )

    async def catch_up(
        self,
        scope: ScopeLike,
        hook_id: int,
        receiver: WebhookReceiver,
        *,
        statuses: Sequence[str] = ("enqueued", "retrying", "failed", "discarded"),
    ) -> CatchUpResult:
        """Replay the events Procore has not delivered into ``receiver``'s handlers.

        The default statuses cover everything not yet delivered: queued behind a
        failing one (``enqueued``), being retried, failed, or discarded for good.

        Reads the hook's deliveries of each status (all pages first, so statuses
        changing meanwhile cannot make pages shift under the reader), then hands each
        event to :meth:`WebhookReceiver.replay`, which dedupes it exactly like a live
        delivery: an event that also arrives by Procore's own retry runs once.
        """
        from ._catchup import catch_up

        return await catch_up(self, Scope.of(scope), hook_id, receiver, statuses)


def _url(url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError("destination_url must be an http(s) URL (Procore requires https)")
    return url


def _hook_changes(
    hook: Hook, url: str, headers: Mapping[str, str] | None, version: str
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if hook.destination_url != url:
        changes["destination_url"] = url
    if hook.payload_version != version:
        changes["payload_version"] = version
    wanted = dict(headers or {})
    shown = {k.lower(): v for k, v in hook.destination_headers.items()}
    if set(shown) != {k.lower() for k in wanted} or not all(
        _mask_matches(shown.get(k.lower()), v) for k, v in wanted.items()
    ):
        changes["destination_headers"] = wanted
    return changes
