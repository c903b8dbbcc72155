"""The first release's routing, kept for ``FakeProcore(strict=False)``.

Any resource name works: a path names a collection by its segments, ids included
(``projects/5/rfis``), so paths the catalog lacks can still be tested.  v1.x paths answer
bare JSON with integer ids; v2.x paths (``/rest/v2.x/companies/{id}/...``) wrap bodies in
``{"data": ...}`` with string ids.  Sync answers on any collection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._call import Call
from ._generic import invalid, list_reply, query_filters, singular
from ._http import Reply
from ._state import Key
from ._sync import run_sync

if TYPE_CHECKING:
    from ._api import Api

__all__ = ["legacy_route"]


def legacy_route(api: Api, call: Call, rest: list[str]) -> Reply:
    """Route a ``/rest/v1.x|v2.x/...`` call (``rest`` is the path after the version)."""
    state = api.state
    method = call.request.method
    if call.v2:
        if len(rest) < 3 or rest[0] != "companies" or not rest[1].isdigit():
            return call.error(404, "Not Found")
        company = int(rest[1])
        if company not in state.companies or "sync" in rest:
            return call.error(404, "Not Found")
        return _resource(api, call, company, (), rest[2:])
    head = rest[0]
    if rest == ["me"] and method == "GET":
        return call.ok(200, api.me(call.grant))
    if rest == ["companies"] and method == "GET":
        return list_reply(
            call,
            list(state.companies.values()),
            default_per_page=api.default_per_page,
            max_per_page=api.max_per_page,
        )
    if head == "companies":
        if len(rest) < 3 or not rest[1].isdigit() or int(rest[1]) not in state.companies:
            return call.error(404, "Not Found")
        if rest[2:] == ["me"] and method == "GET":
            return call.ok(200, api.me(call.grant))
        return _resource(api, call, int(rest[1]), (), rest[2:])
    if head == "projects" and len(rest) > 2 and rest[1].isdigit():
        owner = state.project_company(int(rest[1]))
        if owner is None or owner != call.header_company:
            return call.error(404, "Not Found")
        return _resource(api, call, owner, ("projects", rest[1]), rest[2:])
    if head == "projects":
        named = call.scope_param("company_id")
        if named is None and (len(rest) == 1 or rest[1] == "sync"):
            return call.error(400, "param is missing or the value is empty: company_id")
        scoped = named if named is not None else call.header_company
        if scoped is None or scoped not in state.companies:
            return call.error(404, "Not Found")
        return _resource(api, call, scoped, (), rest)
    project = call.scope_param("project_id")
    if project is not None:
        owner = state.project_company(project)
        if owner is None or owner != call.header_company:
            return call.error(404, "Not Found")
        return _resource(api, call, owner, ("projects", str(project)), rest)
    scoped = call.scope_param("company_id") or call.header_company
    if scoped is None or scoped not in state.companies:
        return call.error(404, "Not Found")
    return _resource(api, call, scoped, (), rest)


def _resource(api: Api, call: Call, company: int, prefix: Key, tail: list[str]) -> Reply:
    """Dispatch ``tail`` (``rfis``, ``rfis/9``, ``rfis/sync``) under ``prefix``."""
    state = api.state
    method = call.request.method
    last = tail[-1] if tail else ""
    if last == "sync" or last.isdigit():
        key, record_id = prefix + tuple(tail[:-1]), last
    else:
        key, record_id = prefix + tuple(tail), ""
    if not key or key[-1].isdigit() or not state.parents_exist(company, key):
        return call.error(404, "Not Found")
    if record_id == "sync":
        allowed = ("PATCH", "POST") if key[-1] == "budget_line_items" else ("PATCH",)
        if method not in allowed:
            return call.error(404, "Not Found")
        return run_sync(state, company, key, call.body())
    coll = state.collection(company, key)
    root = singular(key[-1])
    if not record_id:
        if method == "GET":
            filters = query_filters(call.request)
            return list_reply(
                call,
                coll.select(filters) if filters else None,
                coll=coll,
                default_per_page=api.default_per_page,
                max_per_page=api.max_per_page,
            )
        if method == "POST":
            attrs = call.attrs(root)
            problems = state.validate(coll, attrs, None)
            if problems:
                return invalid(call, problems)
            return call.ok(201, state.create(company, key, attrs))
        return call.error(404, "Not Found")
    record = coll.by_id.get(int(record_id))
    if record is None:
        return call.error(404, "Not Found")
    if method == "GET":
        return call.ok(200, record)
    if method in ("PATCH", "PUT"):
        attrs = call.attrs(root)
        problems = state.validate(coll, attrs, record["id"])
        if problems:
            return invalid(call, problems)
        return call.ok(200, state.update(coll, record, attrs))
    if method == "DELETE":
        state.delete(company, key, record["id"])
        return Reply(204, b"", [], None)
    return call.error(404, "Not Found")
