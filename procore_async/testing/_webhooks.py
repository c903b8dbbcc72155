"""The fake's webhooks: hooks and triggers, the events a change makes, and delivery.

Every create, update and delete of a record in the fake's :class:`State` (through
the REST API, a sync, or ``add_records``) becomes one event, delivered to every hook
whose scope and triggers match: a company hook hears its whole company, a project
hook its project.  The event is written in the hook's payload format (v2.0, v3.0 or
v4.0, as ``plan_your_app/webhooks.md`` shows them) and queued on the hook's
:class:`Deliverer`.  ``fake.webhooks`` is this object.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._delivery import Deliverer, DeliveryPlan, Outbox, micro_stamp
from ._state import Key, Record, State

__all__ = ["RESOURCE_NAMES", "FakeWebhooks"]

#: Collection names as Procore's webhook resources name them (others: title case).
RESOURCE_NAMES = {
    "rfis": "RFIs",
    "projects": "Projects",
    "submittals": "Submittals",
    "vendors": "Vendors",
    "users": "Users",
    "observations": "Observations",
    "items": "Items",
    "daily_logs": "Daily Logs",
    "budget_line_items": "Budget Line Items",
    "commitments": "Commitments",
    "change_orders": "Change Orders",
    "direct_costs": "Direct Costs",
    "line_items": "Line Items",
    "timecard_entries": "Timecard Entries",
    "folders": "Folders",
    "files": "Files",
    "documents": "Documents",
}

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def resource_name(key: Key) -> str:
    segment = key[-1]
    return RESOURCE_NAMES.get(segment) or segment.replace("_", " ").title()


def _ulid(millis: int, rng: random.Random) -> str:
    value = (millis << 80) | rng.getrandbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class FakeWebhooks:
    """Hooks, triggers and deliveries of one fake, and the switches tests turn."""

    def __init__(self, state: State, *, user_id: int, seed: int | None = None) -> None:
        self._state = state
        self._user_id = user_id
        self._rng = random.Random(seed)
        self.hooks: dict[int, Record] = {}
        self.triggers: dict[int, Record] = {}
        self._ids = itertools.count(700_001)
        self._event_ids = itertools.count(900_000_001)
        self.events = 0
        self.deliverer = Deliverer(self._destination)
        state.listeners.append(self._changed)

    # -- test helpers -------------------------------------------------------------------

    def configure(
        self,
        *,
        time_scale: float = 1.0,
        fail_rate: float = 0.0,
        duplicate_rate: float = 0.0,
        seed: int | None = None,
        timeout: float = 5.0,
        max_queue: int = 100_000,
    ) -> DeliveryPlan:
        """How deliveries go from now on (see :mod:`._delivery`); no arguments: Procore's."""
        plan = DeliveryPlan(
            time_scale=time_scale,
            fail_rate=fail_rate,
            duplicate_rate=duplicate_rate,
            seed=seed,
            timeout=timeout,
            max_queue=max_queue,
        )
        self.deliverer.configure(plan)
        return plan

    def route(self, url_prefix: str, app: _ASGIApp) -> None:
        """Deliver to ``app`` in process for destination URLs starting with ``url_prefix``."""
        self.deliverer.route(url_prefix, app)

    def deliveries(self, hook_id: int) -> list[dict[str, Any]]:
        """The delivery log of a hook: one entry per event, attempts included (copies)."""
        return [entry.as_json() for entry in self.deliverer.log.get(hook_id, [])]

    @property
    def sent(self) -> int:
        """Deliveries POSTed so far (retries and duplicates included)."""
        return self.deliverer.sent

    async def drain(self, timeout: float = 30.0, *, hook_id: int | None = None) -> None:
        """Wait until every event (of ``hook_id`` only, if given) is delivered or discarded.

        Raises ``TimeoutError`` after ``timeout`` seconds: a failing hook retries for 12
        hours of (scaled) time before its queue is discarded."""
        await self.deliverer.drain(timeout, hook_id)

    async def aclose(self) -> None:
        """Stop the delivery tasks and close their HTTP clients."""
        await self.deliverer.aclose()

    # -- the store (used by the API routes) -----------------------------------------------

    def new_id(self) -> int:
        return next(self._ids)

    def add_hook(self, company_id: int, project_id: int | None, attrs: dict[str, Any]) -> Record:
        now = self._state.now()
        hook: Record = {
            "id": self.new_id(),
            "status": "active",
            "payload_version": attrs["payload_version"],
            "namespace": attrs["namespace"],
            "destination_url": attrs["destination_url"],
            "destination_headers": dict(attrs.get("destination_headers") or {}),
            "company_id": company_id,
            "project_id": project_id,
            "owned_by_user_id": self._user_id,
            "created_at": now,
            "updated_at": now,
        }
        self.hooks[hook["id"]] = hook
        return hook

    def delete_hook(self, hook_id: int) -> None:
        self.hooks.pop(hook_id, None)
        for trigger_id in [t for t, r in self.triggers.items() if r["webhook_hook_id"] == hook_id]:
            del self.triggers[trigger_id]
        self.deliverer.forget(hook_id)

    def hook_triggers(self, hook_id: int) -> list[Record]:
        return [t for t in self.triggers.values() if t["webhook_hook_id"] == hook_id]

    def add_trigger(self, hook: Record, resource: str, event_type: str) -> Record:
        trigger: Record = {
            "id": self.new_id(),
            "webhook_hook_id": hook["id"],
            "resource_name": resource,
            "event_type": event_type.lower(),
            "company_id": hook["company_id"],
            "project_id": hook["project_id"],
        }
        self.triggers[trigger["id"]] = trigger
        return trigger

    def log(self, hook_id: int) -> list[Outbox]:
        return self.deliverer.log.get(hook_id, [])

    # -- events -------------------------------------------------------------------------

    def _destination(self, hook_id: int) -> tuple[str, dict[str, str]] | None:
        hook = self.hooks.get(hook_id)
        if hook is None or hook["status"] != "active":
            return None
        return hook["destination_url"], dict(hook["destination_headers"])

    def _changed(self, kind: str, company_id: int, key: Key, record: Record) -> None:
        """State's listener: one event per change, to every matching hook."""
        if not self.triggers:
            return
        name = resource_name(key)
        if key == ("projects",):
            project_id: int | None = record["id"]
        elif len(key) >= 2 and key[0] == "projects" and key[1].isdigit():
            project_id = int(key[1])
        else:
            project_id = None
        hooks = []
        for trigger in self.triggers.values():
            if trigger["resource_name"] != name or trigger["event_type"] != kind:
                continue
            hook = self.hooks.get(trigger["webhook_hook_id"])
            if hook is None or hook["status"] != "active" or hook["company_id"] != company_id:
                continue
            if hook["project_id"] is not None and hook["project_id"] != project_id:
                continue
            if hook not in hooks:
                hooks.append(hook)
        if not hooks:
            return
        self.events += 1
        now = time.time()
        fields = {
            "number": next(self._event_ids),
            "ulid": _ulid(int(now * 1000), self._rng),
            "timestamp": micro_stamp(now),
            "kind": kind,
            "resource": name,
            "resource_id": record["id"],
            "company_id": company_id,
            "project_id": project_id,
        }
        for hook in hooks:
            payload = self._payload(hook["payload_version"], fields)
            self.deliverer.enqueue(hook["id"], str(payload["id"]), payload)

    def _payload(self, version: str, f: dict[str, Any]) -> dict[str, Any]:
        if version == "v4.0":
            return {
                "id": f["ulid"],
                "timestamp": f["timestamp"],
                "reason": f["kind"],
                "company_id": str(f["company_id"]),
                "project_id": None if f["project_id"] is None else str(f["project_id"]),
                "user_id": str(self._user_id),
                "resource_type": f["resource"],
                "resource_id": str(f["resource_id"]),
            }
        payload: dict[str, Any] = {
            "id": f["number"],
            "ulid": f["ulid"],
            "timestamp": f["timestamp"],
            "metadata": {
                "source_user_id": self._user_id,
                "source_project_id": f["project_id"],
                "source_operation_id": None,
                "source_company_id": f["company_id"],
                "source_application_id": None,
            },
            "user_id": self._user_id,
            "company_id": f["company_id"],
            "project_id": f["project_id"],
            "api_version": version,
            "event_type": f["kind"],
            "resource_name": f["resource"],
            "resource_id": f["resource_id"],
        }
        if version == "v3.0":
            payload["related_resources"] = []
        return payload
