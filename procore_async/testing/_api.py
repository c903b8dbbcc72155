"""The fake's REST API: authentication, ``Procore-Company-Id``, routing and resources.

Any resource name works: a path names a collection by its segments, ids included
(``projects/5/rfis``), so ``vendors``, ``rfis`` or ``observations/items`` need no
registration.  v1.x paths answer with bare JSON and integer ids; v2.x paths
(``/rest/v2.x/companies/{id}/...``) wrap bodies in ``{"data": ...}`` with string ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._http import BodyError, Reply, Request, json_reply
from ._oauth import Grant, OAuthServer
from ._pagination import link_header, page_window
from ._state import Collection, Key, Record, State
from ._stats import FakeStats
from ._sync import run_sync

__all__ = ["MPZ_MISSING", "Api"]

MPZ_MISSING = "Missing Procore-Company-Id header!"
_VERSION = re.compile(r"v(\d+)\.(\d+)")
_MPZ_EXEMPT = frozenset({"/rest/v1.0/me", "/rest/v1.0/companies"})
_NO_CACHE = ("Cache-Control", "no-store, must-revalidate, private, max-age=0")
_V2_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 409: "CONFLICT", 422: "VALIDATION_ERROR"}
_SCOPE_KEYS = ("company_id", "project_id")


class _Call:
    """One authenticated API call: the request, its grant, its flavour, its body."""

    __slots__ = ("_body", "grant", "header_company", "request", "v2")

    def __init__(self, request: Request, grant: Grant, header_company: int | None, v2: bool):
        self.request = request
        self.grant = grant
        self.header_company = header_company
        self.v2 = v2
        self._body: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = self.request.parse_body()
        return self._body

    def scope_param(self, name: str) -> int | None:
        """``company_id``/``project_id`` from the query, else the JSON body."""
        value: Any = self.request.param(name)
        if value is None and self.request.method in ("POST", "PATCH", "PUT"):
            value = self.body().get(name)
        text = str(value).strip() if value is not None else ""
        return int(text) if text.isdigit() else None

    def error(self, status: int, message: str, errors: Any = None) -> Reply:
        if self.v2:
            body = {
                "error": {
                    "code": _V2_CODES.get(status, "ERROR"),
                    "message": message,
                    "details": _v2_details(errors),
                }
            }
            return json_reply(status, body)
        return json_reply(status, {"errors": message if errors is None else errors})

    def ok(self, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
        payload = {"data": _v2_ids(data)} if self.v2 else data
        return json_reply(status, payload, headers or ())


def _v2_details(errors: Any) -> list[dict[str, str]]:
    if not isinstance(errors, dict):
        return []
    return [
        {"reason_code": "INVALID_PROPERTY", "message": msg, "source": field}
        for field, msgs in errors.items()
        for msg in msgs
    ]


def _v2_ids(data: Any) -> Any:
    """v2 ids are strings: ``id`` and every ``*_id`` integer, nested objects included."""
    if isinstance(data, list):
        return [_v2_ids(item) for item in data]
    if isinstance(data, dict):
        return {
            k: str(v)
            if (k == "id" or k.endswith("_id")) and type(v) is int
            else _v2_ids(v)
            if isinstance(v, dict)
            else v
            for k, v in data.items()
        }
    return data


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


class Api:
    """Routes ``/rest/...`` requests; every state change goes through :class:`State`."""

    def __init__(
        self,
        state: State,
        oauth: OAuthServer,
        stats: FakeStats,
        *,
        default_per_page: int,
        max_per_page: int,
        me: Callable[[Grant], Record],
    ) -> None:
        self.state = state
        self.oauth = oauth
        self.stats = stats
        self.default_per_page = default_per_page
        self.max_per_page = max_per_page
        self._me = me
        self._replays: dict[tuple[str, str, str], Reply] = {}

    def handle(self, request: Request) -> Reply:
        segments = request.path.strip("/").split("/")
        if len(segments) < 3 or segments[0] != "rest":
            return json_reply(404, {"errors": "Not Found"})
        version = _VERSION.fullmatch(segments[1])
        found = self.oauth.check(request.bearer())
        if isinstance(found, str):
            header = (
                f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{found}"'
            )
            return json_reply(401, {"errors": found}, [("WWW-Authenticate", header)])
        raw = request.headers.get("procore-company-id")
        header_company = int(raw) if raw is not None and raw.strip().isdigit() else None
        exempt = found.is_user and request.method == "GET" and request.path in _MPZ_EXEMPT
        if raw is None and not exempt:
            return json_reply(400, {"errors": MPZ_MISSING})
        if raw is not None and header_company is None:
            return json_reply(400, {"errors": "Invalid Procore-Company-Id header!"})
        if header_company is not None and header_company not in self.state.companies:
            return json_reply(403, {"errors": ["App is not connected to this company."]})
        if version is None or version.group(1) not in ("1", "2"):
            return json_reply(404, {"errors": "Not Found"})
        call = _Call(request, found, header_company, version.group(1) == "2")
        token = request.headers.get("idempotency-token")
        if not token or request.method in ("GET", "HEAD"):
            return self._guarded(call, segments[2:])
        key = (token, request.method, request.path)
        stored = self._replays.get(key)
        if stored is not None:
            self.stats.replays += 1
            status = 200 if stored.status == 201 else stored.status
            return Reply(status, stored.body, list(stored.headers), stored.content_type)
        reply = self._guarded(call, segments[2:])
        if 200 <= reply.status < 300:
            self._replays[key] = reply
        return reply

    def _guarded(self, call: _Call, rest: list[str]) -> Reply:
        try:
            return self._route(call, rest)
        except BodyError as exc:
            return call.error(400, str(exc))

    def _route(self, call: _Call, rest: list[str]) -> Reply:
        method = call.request.method
        if call.v2:
            if len(rest) < 3 or rest[0] != "companies" or not rest[1].isdigit():
                return call.error(404, "Not Found")
            company = int(rest[1])
            if company not in self.state.companies or "sync" in rest:
                return call.error(404, "Not Found")
            return self._resource(call, company, (), rest[2:])
        head = rest[0]
        if rest == ["me"] and method == "GET":
            return call.ok(200, self._me(call.grant))
        if rest == ["companies"] and method == "GET":
            return self._list(call, list(self.state.companies.values()))
        if head == "companies":
            if len(rest) < 3 or not rest[1].isdigit() or int(rest[1]) not in self.state.companies:
                return call.error(404, "Not Found")
            if rest[2:] == ["me"] and method == "GET":
                return call.ok(200, self._me(call.grant))
            return self._resource(call, int(rest[1]), (), rest[2:])
        if head == "projects" and len(rest) > 2 and rest[1].isdigit():
            owner = self.state.project_company(int(rest[1]))
            if owner is None or owner != call.header_company:
                return call.error(404, "Not Found")
            return self._resource(call, owner, ("projects", rest[1]), rest[2:])
        if head == "projects":
            named = call.scope_param("company_id")
            if named is None and (len(rest) == 1 or rest[1] == "sync"):
                return call.error(400, "param is missing or the value is empty: company_id")
            scoped = named if named is not None else call.header_company
            if scoped is None or scoped not in self.state.companies:
                return call.error(404, "Not Found")
            return self._resource(call, scoped, (), rest)
        project = call.scope_param("project_id")
        if project is not None:
            owner = self.state.project_company(project)
            if owner is None or owner != call.header_company:
                return call.error(404, "Not Found")
            return self._resource(call, owner, ("projects", str(project)), rest)
        scoped = call.scope_param("company_id") or call.header_company
        if scoped is None or scoped not in self.state.companies:
            return call.error(404, "Not Found")
        return self._resource(call, scoped, (), rest)

    def _resource(self, call: _Call, company: int, prefix: Key, tail: list[str]) -> Reply:
        """Dispatch ``tail`` (``rfis``, ``rfis/9``, ``rfis/sync``) under ``prefix``."""
        method = call.request.method
        last = tail[-1] if tail else ""
        if last == "sync" or last.isdigit():
            key, record_id = prefix + tuple(tail[:-1]), last
        else:
            key, record_id = prefix + tuple(tail), ""
        if not key or key[-1].isdigit() or not self.state.parents_exist(company, key):
            return call.error(404, "Not Found")
        if record_id == "sync":
            allowed = ("PATCH", "POST") if key[-1] == "budget_line_items" else ("PATCH",)
            if method not in allowed:
                return call.error(404, "Not Found")
            return run_sync(self.state, company, key, call.body())
        coll = self.state.collection(company, key)
        if not record_id:
            if method == "GET":
                filters = _filters(call.request)
                return self._list(call, coll.select(filters) if filters else None, coll=coll)
            if method == "POST":
                return self._create(call, company, key)
            return call.error(404, "Not Found")
        record = coll.by_id.get(int(record_id))
        if record is None:
            return call.error(404, "Not Found")
        if method == "GET":
            return call.ok(200, record)
        if method in ("PATCH", "PUT"):
            attrs = self._attrs(call, key)
            problems = self.state.validate(coll, attrs, record["id"])
            if problems:
                return self._invalid(call, problems)
            return call.ok(200, self.state.update(coll, record, attrs))
        if method == "DELETE":
            self.state.delete(company, key, record["id"])
            return Reply(204, b"", [], None)
        return call.error(404, "Not Found")

    def _attrs(self, call: _Call, key: Key) -> dict[str, Any]:
        """A v1 body nests attributes under the singular root key; accept flat ones too."""
        body = call.body()
        for root in (_singular(key[-1]), "data"):
            nested = body.get(root)
            if isinstance(nested, dict):
                return nested
        return {k: v for k, v in body.items() if k not in _SCOPE_KEYS}

    def _create(self, call: _Call, company: int, key: Key) -> Reply:
        attrs = self._attrs(call, key)
        problems = self.state.validate(self.state.collection(company, key), attrs, None)
        if problems:
            return self._invalid(call, problems)
        return call.ok(201, self.state.create(company, key, attrs))

    def _invalid(self, call: _Call, problems: dict[str, list[str]]) -> Reply:
        status = 409 if list(problems) == ["origin_id"] else 422
        return call.error(status, "Validation failed", problems)

    def _list(
        self, call: _Call, items: list[Record] | None, *, coll: Collection | None = None
    ) -> Reply:
        """One page of ``items`` (or of ``coll`` by slicing, without copying it)."""
        if call.v2:
            page = page_window(call.request, 10, 100)
        else:
            page = page_window(call.request, self.default_per_page, self.max_per_page)
        if items is None:
            assert coll is not None
            total, chunk = len(coll), coll.slice(page.start, page.stop)
        else:
            total, chunk = len(items), items[page.start : page.stop]
        link = link_header(call.request, page, total)
        headers = [("Total", str(total)), ("Per-Page", str(page.size)), _NO_CACHE]
        if link or call.v2:
            headers.append(("Link", link))
        return call.ok(200, chunk, headers)


def _filters(request: Request) -> dict[str, list[str]]:
    """``filters[attr]=v`` and ``filters[attr][]=v`` query parameters, by attribute."""
    found: dict[str, list[str]] = {}
    for key, value in request.query:
        if key.startswith("filters[") and "]" in key:
            found.setdefault(key[8:].split("]", 1)[0], []).append(value)
    return found
