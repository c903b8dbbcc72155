"""The fake's Webhooks API: the catalog's 36 operations, v2.0 and v1.0, one store.

v2.0 (``/rest/v2.0/companies/{company_id}[/projects/{project_id}]/webhooks/...``)
answers in ``{"data": ...}`` with string ids, pages with ``page``/``per_page`` and
filters deliveries on ``filter[status]``; v1.0 (``/rest/v1.0/webhooks/...`` with
``company_id`` or ``project_id``) answers bare JSON.  Destination headers are never
served back: each value is masked to its last five characters, as Procore does.
"""

from __future__ import annotations

import json
from typing import Any

from ._call import Call
from ._http import Reply, Request, json_reply
from ._pagination import link_header, page_window
from ._routes import Routes
from ._state import Record, State
from ._webhooks import RESOURCE_NAMES, FakeWebhooks

__all__ = ["WebhooksApi"]

_VERSIONS = ("v2.0", "v3.0", "v4.0")
_NAMESPACE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_V1_STATUS = {"successful": ("delivered",), "failing": ("retrying", "failed", "enqueued")}
_CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}
_OPERATIONS = (
    ("GET", "/hooks"),
    ("POST", "/hooks"),
    ("GET", "/hooks/{id}"),
    ("PATCH", "/hooks/{id}"),
    ("DELETE", "/hooks/{id}"),
    ("GET", "/hooks/{hook_id}/triggers"),
    ("POST", "/hooks/{hook_id}/triggers"),
    ("POST", "/hooks/{hook_id}/triggers/bulk"),
    ("DELETE", "/hooks/{hook_id}/triggers/bulk"),
    ("DELETE", "/hooks/{hook_id}/triggers/{id}"),
    ("GET", "/hooks/{hook_id}/deliveries"),
    ("GET", "/resources"),
    ("GET", "/resources/api_versions"),
)


def _mask(value: Any) -> str:
    text = str(value)
    return "*" * max(len(text) - 5, 0) + text[-5:]


def _ids(data: Any) -> Any:
    """v2 ids are strings: ``id`` and every ``*_id`` integer."""
    if isinstance(data, list):
        return [_ids(item) for item in data]
    if isinstance(data, dict):
        return {
            k: str(v) if (k == "id" or k.endswith("_id")) and type(v) is int else _ids(v)
            for k, v in data.items()
        }
    return data


class _Ctx:
    __slots__ = ("company", "project", "request", "v2")

    def __init__(self, request: Request, v2: bool, company: int, project: int | None) -> None:
        self.request, self.v2, self.company, self.project = request, v2, company, project

    def error(self, status: int, message: str) -> Reply:
        if self.v2:
            code = _CODES.get(status, "ERROR")
            return json_reply(status, {"error": {"code": code, "message": message, "details": []}})
        return json_reply(status, {"errors": message})

    def ok(self, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
        return json_reply(status, {"data": _ids(data)} if self.v2 else data, headers or ())

    def json(self) -> Any:
        if not self.request.body.strip():
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError:
            return None


class WebhooksApi:
    """Answers the ``…/webhooks/…`` operations, registered as the fake's feature routes."""

    def __init__(self, state: State, hooks: FakeWebhooks) -> None:
        self.state, self.hooks = state, hooks

    def register(self, routes: Routes) -> None:
        """Serve the catalog's 36 webhook operations as feature routes of the fake's API."""
        prefixes = (
            "/rest/v1.0/webhooks",
            "/rest/v2.0/companies/{company_id}/webhooks",
            "/rest/v2.0/companies/{company_id}/projects/{project_id}/webhooks",
        )
        for prefix in prefixes:
            v2 = prefix.startswith("/rest/v2.0")
            for method, tail in _OPERATIONS:
                if tail == "/hooks/{id}" and method == "GET" and not v2:
                    continue  # v1.0 has no "show hook"
                if tail == "/resources/api_versions" and v2:
                    continue
                # Bulk bodies are JSON arrays (v2.0), which the fake's scope resolution
                # (it reads company_id/project_id from an object body) cannot take.
                bulk = tail.endswith("/bulk")
                routes.add(method, prefix + tail, self._serve, scoped=not bulk)

    def _serve(self, call: Call) -> Reply:
        """One webhook operation, its scope checked by the fake (or here, for bulk)."""
        company, project = call.company, call.project
        if company is None:
            found = self._scope(call)
            if isinstance(found, Reply):
                return found
            company, project = found
        parts = call.request.path.strip("/").split("/")
        rest = parts[parts.index("webhooks") + 1 :]
        return self._route(_Ctx(call.request, call.v2, company, project), rest)

    def _scope(self, call: Call) -> tuple[int, int | None] | Reply:
        """The company and project of a bulk call: from the path (v2.0) or the query or
        object body (v1.0), checked to exist, to belong together and to match the header."""
        body = _Ctx(call.request, call.v2, 0, None).json()
        given = body if isinstance(body, dict) else {}

        def named(name: str) -> int | None:
            value = call.params.get(name) or call.request.param(name) or given.get(name)
            text = str(value).strip() if value is not None else ""
            return int(text) if text.isdigit() else None

        company, project = named("company_id"), named("project_id")
        if project is not None:
            owner = self.state.project_company(project)
            if owner is None or (company is not None and owner != company):
                return call.error(404, "Not Found")
            company = owner
        if company is None:
            return call.error(400, "You must supply either a company_id or project_id")
        if company not in self.state.companies or company != call.header_company:
            return call.error(404, "Not Found")
        return company, project

    # -- routing ------------------------------------------------------------------------

    def _route(self, ctx: _Ctx, rest: list[str]) -> Reply:
        method = ctx.request.method
        if rest == ["resources"] and method == "GET":
            return self._resources(ctx)
        if rest == ["resources", "api_versions"] and method == "GET" and not ctx.v2:
            return self._all(ctx, list(_VERSIONS))
        if not rest or rest[0] != "hooks":
            return ctx.error(404, "Not Found")
        if rest == ["hooks"]:
            if method == "GET":
                return self._list_hooks(ctx)
            if method == "POST":
                return self._create_hook(ctx)
            return ctx.error(404, "Not Found")
        if not rest[1].isdigit():
            return ctx.error(404, "Not Found")
        hook = self.hooks.hooks.get(int(rest[1]))
        if hook is None or (hook["company_id"], hook["project_id"]) != (ctx.company, ctx.project):
            return ctx.error(404, "Not Found")
        tail = rest[2:]
        if not tail:
            if method == "GET" and ctx.v2:
                return ctx.ok(200, self._hook_json(ctx, hook))
            if method == "PATCH":
                return self._update_hook(ctx, hook)
            if method == "DELETE":
                self.hooks.delete_hook(hook["id"])
                return Reply(204, b"", [], None) if ctx.v2 else json_reply(200, {})
            return ctx.error(404, "Not Found")
        if tail == ["deliveries"] and method == "GET":
            return self._deliveries(ctx, hook)
        if tail[0] != "triggers":
            return ctx.error(404, "Not Found")
        return self._triggers(ctx, hook, tail[1:])

    def _page(self, ctx: _Ctx, items: list[Any]) -> Reply:
        page = page_window(ctx.request, 100, 1000)
        chunk = items[page.start : page.stop]
        headers = [("Total", str(len(items))), ("Per-Page", str(page.size))]
        link = link_header(ctx.request, page, len(items))
        if link:
            headers.append(("Link", link))
        return ctx.ok(200, chunk, headers)

    def _all(self, ctx: _Ctx, items: list[Any]) -> Reply:
        """An unpaginated v1.0 list: every item, and its count in ``Total``."""
        return ctx.ok(200, items, [("Total", str(len(items)))])

    def _hook_json(self, ctx: _Ctx, hook: Record) -> Record:
        shown = {k: _mask(v) for k, v in hook["destination_headers"].items()}
        out = {k: v for k, v in hook.items() if k != "destination_headers"}
        out["destination_headers"] = shown
        out["trigger_count"] = len(self.hooks.hook_triggers(hook["id"]))
        if not ctx.v2:
            out["api_version"] = out.pop("payload_version")
            out["owned_by_company_id"] = out.pop("company_id")
            out["owned_by_project_id"] = out.pop("project_id")
        return out

    def _resources(self, ctx: _Ctx) -> Reply:
        version = ctx.request.param("payload_version") or "v4.0"
        if ctx.v2 and version not in _VERSIONS:
            return ctx.error(400, "payload_version must be one of v2.0, v3.0, v4.0")
        items = [
            {
                "category": "Project Management" if key != "projects" else "Portfolio",
                "tool": name,
                "name": name,
                "payload_version": version,
                "actions": [{"name": a} for a in ("create", "update", "delete")],
            }
            for key, name in RESOURCE_NAMES.items()
        ]
        return self._page(ctx, items) if ctx.v2 else self._all(ctx, items)

    # -- hooks --------------------------------------------------------------------------

    def _mine(self, ctx: _Ctx) -> list[Record]:
        where = (ctx.company, ctx.project)
        return [h for h in self.hooks.hooks.values() if (h["company_id"], h["project_id"]) == where]

    def _list_hooks(self, ctx: _Ctx) -> Reply:
        found = self._mine(ctx)
        namespace = ctx.request.param("namespace")
        version = ctx.request.param("payload_version") or ctx.request.param("api_version")
        if namespace:
            found = [h for h in found if h["namespace"] == namespace]
        if version:
            found = [h for h in found if h["payload_version"] == version]
        items = [self._hook_json(ctx, h) for h in found]
        return self._page(ctx, items) if ctx.v2 else self._all(ctx, items)

    def _hook_fields(self, ctx: _Ctx, creating: bool) -> dict[str, Any] | Reply:
        body = ctx.json()
        if not isinstance(body, dict):
            return ctx.error(400, "body is not a JSON object")
        fields = body if ctx.v2 else body.get("hook")
        if not isinstance(fields, dict):
            return ctx.error(400, "param is missing or the value is empty: hook")
        fields = dict(fields)
        if "api_version" in fields:
            fields["payload_version"] = fields.pop("api_version")
        if fields.get("payload_version") in ("v2", "v3", "v4"):
            fields["payload_version"] += ".0"
        if creating:
            fields.setdefault("payload_version", "v2.0")
            for name in ("namespace", "destination_url"):
                if not isinstance(fields.get(name), str) or not fields[name]:
                    return ctx.error(400, f"{name} is required")
        if "namespace" in fields and not set(str(fields["namespace"])) <= _NAMESPACE:
            return ctx.error(400, "namespace may hold only a-z, 0-9 and '-'")
        if "payload_version" in fields and fields["payload_version"] not in _VERSIONS:
            return ctx.error(400, "payload_version must be one of v2.0, v3.0, v4.0")
        url = fields.get("destination_url")
        if url is not None and not str(url).startswith(("https://", "http://")):
            return ctx.error(400, "destination_url must be an http(s) URL")
        headers = fields.get("destination_headers")
        if headers is not None and not (
            isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
        ):
            return ctx.error(400, "destination_headers must be an object of strings")
        if fields.get("status", "active") not in ("active", "disabled"):
            return ctx.error(400, "status must be active or disabled")
        return fields

    def _create_hook(self, ctx: _Ctx) -> Reply:
        fields = self._hook_fields(ctx, creating=True)
        if isinstance(fields, Reply):
            return fields
        hook = self.hooks.add_hook(ctx.company, ctx.project, fields)
        return ctx.ok(201, self._hook_json(ctx, hook))

    def _update_hook(self, ctx: _Ctx, hook: Record) -> Reply:
        fields = self._hook_fields(ctx, creating=False)
        if isinstance(fields, Reply):
            return fields
        for name in ("namespace", "destination_url", "payload_version", "status"):
            if name in fields:
                hook[name] = fields[name]
        if "destination_headers" in fields:
            hook["destination_headers"] = dict(fields["destination_headers"] or {})
        hook["updated_at"] = self.state.now()
        return ctx.ok(200, self._hook_json(ctx, hook))

    # -- triggers and deliveries ----------------------------------------------------------

    def _triggers(self, ctx: _Ctx, hook: Record, tail: list[str]) -> Reply:
        method = ctx.request.method
        if not tail:
            if method == "GET":
                items = self.hooks.hook_triggers(hook["id"])
                return self._page(ctx, items) if ctx.v2 else self._all(ctx, items)
            if method == "POST":
                body = ctx.json()
                fields = body if ctx.v2 else (body or {}).get("trigger")
                made = self._new_trigger(hook, fields)
                if isinstance(made, str):
                    return ctx.error(400, made)
                return ctx.ok(201, made)
            return ctx.error(404, "Not Found")
        if tail == ["bulk"] and method in ("POST", "DELETE"):
            return self._bulk(ctx, hook, method)
        if len(tail) == 1 and tail[0].isdigit() and method == "DELETE":
            trigger = self.hooks.triggers.get(int(tail[0]))
            if trigger is None or trigger["webhook_hook_id"] != hook["id"]:
                return ctx.error(404, "Not Found")
            del self.hooks.triggers[trigger["id"]]
            return Reply(204, b"", [], None) if ctx.v2 else json_reply(200, {})
        return ctx.error(404, "Not Found")

    def _new_trigger(self, hook: Record, fields: Any) -> Record | str:
        if not isinstance(fields, dict):
            return "param is missing or the value is empty: trigger"
        resource, kind = fields.get("resource_name"), fields.get("event_type")
        if not isinstance(resource, str) or not resource.strip():
            return "resource_name is required"
        if not isinstance(kind, str) or not kind.strip():
            return "event_type is required"
        for trigger in self.hooks.hook_triggers(hook["id"]):
            if (trigger["resource_name"], trigger["event_type"]) == (resource, kind.lower()):
                return "trigger already exists"
        return self.hooks.add_trigger(hook, resource, kind)

    def _bulk(self, ctx: _Ctx, hook: Record, method: str) -> Reply:
        body = ctx.json()
        if not ctx.v2 and isinstance(body, dict):
            body = body.get("triggers", body.get("trigger_ids", body.get("ids")))
        if not isinstance(body, list) or not body:
            return ctx.error(400, "body must be a non-empty list")
        if len(body) > 500:
            return ctx.error(413, "at most 500 triggers per call")
        if method == "POST":
            made = [self._new_trigger(hook, item) for item in body]
            good = [m for m in made if not isinstance(m, str)]
            status = (201 if ctx.v2 else 200) if len(good) == len(made) else 207
            return ctx.ok(status, good) if ctx.v2 else json_reply(status, {"success": good})
        gone = []
        for value in body:
            text = str(value)
            trigger = self.hooks.triggers.get(int(text)) if text.isdigit() else None
            if trigger is not None and trigger["webhook_hook_id"] == hook["id"]:
                del self.hooks.triggers[trigger["id"]]
                gone.append(trigger["id"])
        status = 200 if len(gone) == len(body) else 207
        if ctx.v2:
            return json_reply(status, {"data": {"succeeded": [str(i) for i in gone]}})
        return json_reply(status, {"success": gone})

    def _deliveries(self, ctx: _Ctx, hook: Record) -> Reply:
        log = self.hooks.log(hook["id"])
        if ctx.v2:
            status = ctx.request.param("filter[status]")
            chosen = [e for e in log if status in (None, "", e.status)]
            return self._page(ctx, [e.as_json() for e in chosen])
        wanted = ctx.request.param("filters[status]") or ctx.request.param("filter[status]")
        statuses = _V1_STATUS.get(wanted or "any", (wanted,)) if wanted != "any" else None
        rows = []
        for entry in log:
            if statuses is not None and entry.status not in statuses:
                continue
            for attempt in entry.attempts or [{"outcome": "retried"}]:
                outcome = "discarded" if entry.status == "discarded" else attempt["outcome"]
                rows.append({"event": entry.payload, "event_id": entry.event_id, **attempt})
                rows[-1]["outcome"] = outcome
        for number, row in enumerate(rows, 1):
            row["id"] = number
        start = ctx.request.param("page_start")
        size = ctx.request.param("page_size")
        first = int(start) if start and start.isdigit() else 0
        count = int(size) if size and size.isdigit() and int(size) > 0 else 100
        chunk = rows[first : first + count]
        return json_reply(200, chunk, [("Total", str(len(chunk)))])
