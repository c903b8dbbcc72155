"""How the strict fake serves any catalog operation without a handler of its own.

Every operation maps onto the fake's collections (see :mod:`._state`): its path, with
the ``companies/{company_id}`` and ``projects/{project_id}`` pairs taken out as scope,
names a collection (``("projects", "5", "rfis")``) and, for a ``member`` operation,
one record of it.  So ``GET /rest/v1.0/projects/5/rfis``, ``GET /rest/v2.0/companies/
8089/projects/5/rfis`` and ``PATCH /rest/v1.0/projects/5/rfis/9`` all see the same
records.  :attr:`Operation.kind <._catalog.Operation.kind>` picks the behaviour: list
(paginated where the catalog says so), show/update/delete, create, sync upsert, a
one-per-scope object (``single``), or an ``action`` answered without storing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._call import Call
from ._catalog import Operation
from ._http import Reply, Request
from ._pagination import link_header, page_window
from ._state import Collection, Key, Record
from ._sync import run_sync

__all__ = ["Scope", "invalid", "list_reply", "query_filters", "resolve", "serve", "singular"]

_NO_CACHE = ("Cache-Control", "no-store, must-revalidate, private, max-age=0")
_WRITES = ("POST", "PATCH", "PUT")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a call lands: its company, its project (if any) and the collection key."""

    company: int
    project: int | None
    key: Key


def singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _missing(call: Call, name: str) -> Reply:
    return call.error(400, f"param is missing or the value is empty: {name}")


def resolve(call: Call, op: Operation, segments: tuple[str, ...]) -> Scope | Reply:
    """The scope of ``op`` at ``segments``, or the 400/404 Procore would answer."""
    state = call.state
    template = op.segments
    parts = list(segments)
    company: int | None = None
    project: int | None = None
    for index in range(len(template) - 2, -1, -1):
        if template[index] != "companies" or not template[index + 1].startswith("{"):
            continue
        value = parts[index + 1]
        if index + 2 == len(template):
            break  # companies/{id} itself
        if not value.isdigit() or int(value) not in state.companies:
            return call.error(404, "Not Found")
        company = int(value)
        del parts[index : index + 2]
        template = template[:index] + template[index + 2 :]
        break
    for index in range(len(template) - 2):
        if template[index] in ("projects", "project") and template[index + 1] == "{project_id}":
            value = parts[index + 1]
            if not value.isdigit():
                return call.error(404, "Not Found")
            project = int(value)
            parts = ["projects", value, *parts[:index], *parts[index + 2 :]]
            break
    named_company = call.scope_param("company_id") is not None
    named_project = call.scope_param("project_id") is not None
    if op.needs_company and op.needs_project:
        # "You must supply either a company_id or project_id" (webhooks and a few more).
        if not (named_company or named_project):
            return _missing(call, "company_id or project_id")
    elif op.needs_company and not named_company:
        return _missing(call, "company_id")
    elif op.needs_project and not named_project:
        return _missing(call, "project_id")
    if project is None and company is None:
        project = call.scope_param("project_id")
        if project is not None:
            parts = ["projects", str(project), *parts]
    if project is not None:
        owner = state.project_company(project)
        if owner is None or owner != (company if company is not None else call.header_company):
            return call.error(404, "Not Found")
        company = owner
    if company is None:
        company = call.scope_param("company_id") or call.header_company
    if company is None or company not in state.companies:
        return call.error(404, "Not Found")
    return Scope(company, project, tuple(parts))


def serve(
    call: Call,
    op: Operation,
    scope: Scope,
    singles: dict[Any, Record],
    *,
    default_per_page: int = 100,
    max_per_page: int = 10_000,
) -> Reply:
    """Answer ``op`` generically in ``scope``; ``singles`` holds the ``single`` objects."""
    state, method, kind = call.state, op.method, op.kind
    key = scope.key
    if kind == "member" and key == ("companies", str(scope.company)) and method == "GET":
        return call.ok(200, state.companies[scope.company])
    collection_key, record_id = (key[:-1], key[-1]) if kind in ("member", "sync") else (key, "")
    if not collection_key or not state.parents_exist(scope.company, collection_key):
        return call.error(404, "Not Found")
    if kind == "sync":
        return run_sync(state, scope.company, collection_key, call.body())
    coll = state.collection(scope.company, collection_key)
    root = singular(collection_key[-1])
    if kind == "list":
        filters = query_filters(call.request)
        items = coll.select(filters) if filters else None
        return list_reply(
            call,
            items,
            coll=coll,
            paginated=op.paginated,
            default_per_page=default_per_page,
            max_per_page=max_per_page,
        )
    if kind == "create":
        attrs = call.attrs(root)
        problems = state.validate(coll, attrs, None, op.required)
        if problems:
            return invalid(call, problems)
        return call.ok(op.status, state.create(scope.company, collection_key, attrs))
    if kind == "member":
        record = coll.by_id.get(int(record_id)) if record_id.isdigit() else None
        if record is None:
            return call.error(404, "Not Found")
        if method == "GET":
            return call.ok(200, record)
        if method == "DELETE":
            state.delete(scope.company, collection_key, record["id"])
            return Reply(204, b"", [], None)
        attrs = call.attrs(root)
        problems = state.validate(coll, attrs, record["id"])
        if problems:
            return invalid(call, problems)
        return call.ok(200, state.update(coll, record, attrs))
    slot = (scope.company, collection_key)
    if kind == "single":
        if method == "DELETE":
            singles.pop(slot, None)
            return Reply(204, b"", [], None)
        current = singles.setdefault(slot, {})
        if method in _WRITES:
            current.update(call.attrs(root))
        return call.ok(200, current)
    # An action: nothing to store; answer what the catalog documents.
    if op.status == 204:
        return Reply(204, b"", [], None)
    return call.ok(op.status, dict(call.attrs(root)) if method in _WRITES else {})


def invalid(call: Call, problems: dict[str, list[str]]) -> Reply:
    status = 409 if list(problems) == ["origin_id"] else 422
    return call.error(status, "Validation failed", problems)


def list_reply(
    call: Call,
    items: list[Record] | None,
    *,
    coll: Collection | None = None,
    paginated: bool = True,
    default_per_page: int = 100,
    max_per_page: int = 10_000,
) -> Reply:
    """One page of ``items`` (or of ``coll`` by slicing, without copying it).

    An operation the catalog does not paginate answers everything at once, with
    ``Total`` and ``Per-Page`` both the item count and no ``Link``.
    """
    total = len(coll) if items is None and coll is not None else len(items or ())
    if call.v2:
        page = page_window(call.request, 10, 100)
    else:
        page = page_window(call.request, default_per_page, max_per_page)
    if not paginated:
        page.number, page.size = 1, max(1, total)
    if items is None:
        assert coll is not None
        chunk = coll.slice(page.start, page.stop)
    else:
        chunk = items[page.start : page.stop]
    link = link_header(call.request, page, total) if paginated else ""
    headers = [("Total", str(total)), ("Per-Page", str(page.size)), _NO_CACHE]
    if link or (call.v2 and paginated):
        headers.append(("Link", link))
    return call.ok(200, chunk, headers)


def query_filters(request: Request) -> dict[str, list[str]]:
    """``filters[attr]=v`` and ``filters[attr][]=v`` query parameters, by attribute."""
    found: dict[str, list[str]] = {}
    for key, value in request.query:
        if key.startswith("filters[") and "]" in key:
            found.setdefault(key[8:].split("]", 1)[0], []).append(value)
    return found
