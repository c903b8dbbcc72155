"""Procore's ``…/sync`` batch upsert: match by ``id``, else ``origin_id``, else create.

Per-item failures never fail the call: the response is always 200 with ``entities`` and
``errors`` in input order, each error being the caller's item plus an ``errors`` hash
(procore-api.md §7).  Only a malformed envelope or more than 1000 updates is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._http import Reply, json_reply
from ._state import Collection, Key, Record, State

__all__ = ["MAX_SYNC_UPDATES", "run_sync"]

MAX_SYNC_UPDATES = 1000
_NOT_FOUND = {"id": ["Entity with this ID not found"]}


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def run_sync(state: State, company_id: int, key: Key, body: Mapping[str, Any]) -> Reply:
    """Apply one sync call to the collection ``key`` of ``company_id``."""
    updates = body.get("updates")
    if not isinstance(updates, list):
        return json_reply(400, {"errors": "param is missing or the value is empty: updates"})
    if len(updates) > MAX_SYNC_UPDATES:
        message = f"is too long (maximum is {MAX_SYNC_UPDATES} items)"
        return json_reply(422, {"errors": {"updates": [message]}})
    coll = state.collection(company_id, key)
    entities: list[Record] = []
    errors: list[dict[str, Any]] = []
    for item in updates:
        if not isinstance(item, dict):
            errors.append({"item": item, "errors": {"base": ["must be an object"]}})
            continue
        record, problems = _upsert(state, company_id, key, coll, item)
        if record is not None:
            entities.append(record)
        else:
            errors.append({**item, "errors": problems})
    return json_reply(200, {"entities": entities, "errors": errors})


def _upsert(
    state: State, company_id: int, key: Key, coll: Collection, item: dict[str, Any]
) -> tuple[Record | None, dict[str, list[str]]]:
    """The stored record, or None and the per-field errors that rejected the item."""
    attrs = {k: v for k, v in item.items() if k != "id"}
    target: Record | None = None
    if item.get("id") is not None:
        record_id = _as_id(item["id"])
        target = coll.by_id.get(record_id) if record_id is not None else None
        if target is None:
            return None, dict(_NOT_FOUND)
    elif item.get("origin_id") is not None:
        target = coll.by_origin(item["origin_id"])
    problems = state.validate(coll, attrs, None if target is None else target["id"])
    if problems:
        return None, problems
    if target is None:
        return state.create(company_id, key, attrs), {}
    return state.update(coll, target, attrs), {}
