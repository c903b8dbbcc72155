"""One authenticated API call as every handler sees it, and Procore's two reply dialects.

v1.x answers bare JSON with integer ids and ``{"errors": ...}`` errors; v2.x answers
string ids, ``{"data": ...}`` bodies (where the catalog says so) and the v2 error
object ``{"error": {"code", "message", "details"}}`` (procore-api.md section 6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._http import Reply, Request, json_reply

if TYPE_CHECKING:
    from ._catalog import Operation
    from ._oauth import Grant
    from ._state import State

__all__ = ["V2_CODES", "Call", "v2_error"]

#: The v2 ``error.code`` for a status: the status name in SCREAMING_SNAKE_CASE.
V2_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "TOO_MANY_REQUESTS",
}
#: The ``reason_code`` of the single detail an auth or header error carries.
_V2_REASONS = {401: "INVALID_TOKEN", 403: "ACCESS_DENIED"}
_SCOPE_KEYS = ("company_id", "project_id")


def v2_error(
    status: int, message: str, errors: Any = None, headers: list[tuple[str, str]] | None = None
) -> Reply:
    """A v2 error body; per-field ``errors`` become ``details``."""
    details = _v2_details(errors)
    reason = _V2_REASONS.get(status)
    if not details and reason is not None:
        details = [{"reason_code": reason, "message": message, "source": "Authorization"}]
    body = {
        "error": {"code": V2_CODES.get(status, "ERROR"), "message": message, "details": details}
    }
    return json_reply(status, body, headers or ())


def _v2_details(errors: Any) -> list[dict[str, str]]:
    if not isinstance(errors, dict):
        return []
    return [
        {"reason_code": "INVALID_PROPERTY", "message": msg, "source": field}
        for field, msgs in errors.items()
        for msg in msgs
    ]


def v2_ids(data: Any) -> Any:
    """v2 ids are strings: ``id`` and every ``*_id`` integer, nested objects included."""
    if isinstance(data, list):
        return [v2_ids(item) for item in data]
    if isinstance(data, dict):
        return {
            k: str(v)
            if (k == "id" or k.endswith("_id")) and type(v) is int
            else v2_ids(v)
            if isinstance(v, dict)
            else v
            for k, v in data.items()
        }
    return data


class Call:
    """One authenticated API call: the request, its grant, its flavour, its body.

    Feature routes (see :meth:`Routes.add <._routes.Routes.add>`) get one of these:
    ``params`` holds the path parameters by the names of the registered template,
    ``company`` and ``project`` the scope the fake resolved (and checked exists),
    ``operation`` the catalog operation (None on a non-strict fake's legacy routes).
    """

    __slots__ = (
        "_body",
        "company",
        "envelope",
        "grant",
        "header_company",
        "operation",
        "params",
        "project",
        "request",
        "state",
        "v2",
    )

    def __init__(
        self,
        request: Request,
        grant: Grant,
        header_company: int | None,
        v2: bool,
        state: State,
    ) -> None:
        self.request = request
        self.grant = grant
        self.header_company = header_company
        self.v2 = v2
        self.envelope = v2
        self.state = state
        self.operation: Operation | None = None
        self.params: dict[str, str] = {}
        self.company: int | None = None
        self.project: int | None = None
        self._body: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """The parsed request body (raises :class:`~._http.BodyError`: a 400)."""
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

    def attrs(self, root: str) -> dict[str, Any]:
        """A v1 body nests attributes under the singular root key; accept flat ones too."""
        body = self.body()
        for key in (root, "data"):
            nested = body.get(key)
            if isinstance(nested, dict):
                return nested
        return {k: v for k, v in body.items() if k not in _SCOPE_KEYS}

    def error(self, status: int, message: str, errors: Any = None) -> Reply:
        if self.v2:
            return v2_error(status, message, errors)
        return json_reply(status, {"errors": message if errors is None else errors})

    def ok(self, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
        if self.v2:
            data = v2_ids(data)
        payload = {"data": data} if self.envelope else data
        return json_reply(status, payload, headers or ())
