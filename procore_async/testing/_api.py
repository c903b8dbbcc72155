"""The fake's REST API: authentication, ``Procore-Company-Id``, routing, idempotency.

A strict fake (the default) answers only Procore's catalog operations (:mod:`._catalog`):
an unknown path, method, or version for a path is a 404, as at Procore.  A matched
operation goes to its feature route if one is registered (:mod:`._routes`), else to the
generic handler (:mod:`._generic`).  ``Idempotency-Token`` is replayed only on the
operations that declare it, and v2 paths answer auth and header errors in the v2 shape.

``strict=False`` keeps the first release's routing (:mod:`._legacy`): any collection on
any path, sync anywhere, any tokened write replayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ._call import Call, v2_error
from ._catalog import Catalog, Operation, catalog
from ._generic import Scope, resolve, serve
from ._http import BodyError, Reply, Request, json_reply
from ._legacy import legacy_route
from ._oauth import Grant, OAuthServer
from ._routes import Routes
from ._state import Record, State
from ._stats import FakeStats

__all__ = ["MPZ_MISSING", "Api"]

MPZ_MISSING = "Missing Procore-Company-Id header!"
_VERSION = re.compile(r"v(\d+)\.(\d+)")
_MPZ_EXEMPT = frozenset({"/rest/v1.0/me", "/rest/v1.0/companies"})
_NOT_CONNECTED = "App is not connected to this company."


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
        strict: bool = True,
    ) -> None:
        self.state = state
        self.oauth = oauth
        self.stats = stats
        self.default_per_page = default_per_page
        self.max_per_page = max_per_page
        self.strict = strict
        self.catalog: Catalog = catalog()
        self.routes = Routes(self.catalog, strict=strict)
        self.me = me
        self._replays: dict[tuple[str, str, str], Reply] = {}
        self._singles: dict[Any, Record] = {}
        self.routes.add("GET", "/rest/v1.0/me", self._serve_me, scoped=False)
        self.routes.add("GET", "/rest/v1.0/companies", self._serve_companies, scoped=False)
        for minor in range(4):
            self.routes.add("GET", f"/rest/v1.{minor}/companies/{{company_id}}/me", self._serve_me)

    # -- the strict rules, as questions the app asks before handling ---------------------

    def operation(self, request: Request) -> Operation | None:
        """The operation a request names: a feature route's, else the catalog's."""
        found = _split(request.path)
        if found is None:
            return None
        version, segments = found
        op = self.routes.lookup(request.method, version, segments)
        if op is not None:
            return op
        match = self.catalog.match(version, segments)
        return None if match is None else match.ops.get(request.method)

    def replays(self, request: Request) -> bool:
        """Whether a tokened write is replayed from the idempotency store, not redone."""
        if "idempotency-token" not in request.headers or request.method in ("GET", "HEAD"):
            return False
        if not self.strict:
            return True
        op = self.operation(request)
        return op is not None and op.idempotent

    # -- handling -----------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        segments = request.path.strip("/").split("/")
        if len(segments) < 3 or segments[0] != "rest":
            return json_reply(404, {"errors": "Not Found"})
        v2 = self.strict and segments[1].startswith("v2")
        found = self.oauth.check(request.bearer())
        if isinstance(found, str):
            header = (
                f'Bearer realm="Doorkeeper", error="invalid_token", error_description="{found}"'
            )
            if v2:
                return v2_error(401, found, headers=[("WWW-Authenticate", header)])
            return json_reply(401, {"errors": found}, [("WWW-Authenticate", header)])
        raw = request.headers.get("procore-company-id")
        header_company = int(raw) if raw is not None and raw.strip().isdigit() else None
        exempt = found.is_user and request.method == "GET" and request.path in _MPZ_EXEMPT
        if raw is None and not exempt:
            return v2_error(400, MPZ_MISSING) if v2 else json_reply(400, {"errors": MPZ_MISSING})
        if raw is not None and header_company is None:
            message = "Invalid Procore-Company-Id header!"
            return v2_error(400, message) if v2 else json_reply(400, {"errors": message})
        if header_company is not None and header_company not in self.state.companies:
            if v2:
                return v2_error(403, _NOT_CONNECTED)
            return json_reply(403, {"errors": [_NOT_CONNECTED]})
        version = _VERSION.fullmatch(segments[1])
        if version is None or version.group(1) not in ("1", "2"):
            return v2_error(404, "Not Found") if v2 else json_reply(404, {"errors": "Not Found"})
        call = Call(request, found, header_company, version.group(1) == "2", self.state)
        if not self.replays(request):
            return self._guarded(call)
        key = (request.headers["idempotency-token"], request.method, request.path)
        stored = self._replays.get(key)
        if stored is not None:
            self.stats.replays += 1
            status = 200 if stored.status == 201 else stored.status
            return Reply(status, stored.body, list(stored.headers), stored.content_type)
        reply = self._guarded(call)
        if 200 <= reply.status < 300:
            self._replays[key] = reply
        return reply

    def _guarded(self, call: Call) -> Reply:
        try:
            return self._dispatch(call)
        except BodyError as exc:
            return call.error(400, str(exc))

    def _dispatch(self, call: Call) -> Reply:
        request = call.request
        found = _split(request.path)
        if found is None:
            return call.error(404, "Not Found")
        version, segments = found
        feature = self.routes.lookup(request.method, version, segments)
        op = feature
        if op is None and self.strict:
            match = self.catalog.match(version, segments)
            op = None if match is None else match.ops.get(request.method)
        if op is None:
            if self.strict:
                return call.error(404, "Not Found")
            return legacy_route(self, call, list(segments))
        call.operation = op
        call.params = op.params(segments)
        call.envelope = op.envelope if self.strict else call.v2
        if feature is not None and not self.routes.scoped(feature):
            return self.routes.handler(feature)(call)
        scope = resolve(call, op, segments)
        if isinstance(scope, Reply):
            return scope
        call.company, call.project = scope.company, scope.project
        if feature is not None:
            return self.routes.handler(feature)(call)
        return self._generic(call, op, scope)

    def _generic(self, call: Call, op: Operation, scope: Scope) -> Reply:
        return serve(
            call,
            op,
            scope,
            self._singles,
            default_per_page=self.default_per_page,
            max_per_page=self.max_per_page,
        )

    # -- built-in routes ----------------------------------------------------------------

    def _serve_me(self, call: Call) -> Reply:
        return call.ok(200, self.me(call.grant))

    def _serve_companies(self, call: Call) -> Reply:
        from ._generic import list_reply

        return list_reply(
            call,
            list(self.state.companies.values()),
            default_per_page=self.default_per_page,
            max_per_page=self.max_per_page,
        )


def _split(path: str) -> tuple[str, tuple[str, ...]] | None:
    """``(version, segments after it)`` of a ``/rest/<version>/...`` path."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] != "rest" or _VERSION.fullmatch(parts[1]) is None:
        return None
    segments = tuple(parts[2:])
    if any(s in ("", ".", "..") for s in segments):
        return None
    return parts[1], segments
