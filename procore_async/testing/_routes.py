"""Feature routes: explicit handlers for catalog operations the generic handler can't fake.

Uploads, storage, document folders and files, webhooks: each needs behaviour of its own
(presigned URLs, hook deliveries).  A feature registers a handler for the catalog
operation it serves, by method and full path template::

    api.routes.add("POST", "/rest/v1.1/projects/{project_id}/uploads", self._create_upload)

On a strict fake the template must be a catalog operation (parameter names may differ;
the handler's ``call.params`` uses the registered names), so a typo fails at start-up,
not as a 404 in some test.  A handler takes a :class:`~._call.Call` whose scope the fake
has already checked (authentication, ``Procore-Company-Id``, company and project exist
and belong together) and returns a :class:`~._http.Reply`; ``Idempotency-Token`` replay
and rate limiting stay the fake's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ._call import Call
from ._catalog import Catalog, Operation, split_template
from ._http import Reply

__all__ = ["Handler", "Routes"]

Handler = Callable[[Call], Reply]
_PATH = re.compile(r"/rest/(v\d+\.\d+)(/.+)")


class Routes:
    """The handlers registered on one fake, matched by the same tree as the catalog."""

    def __init__(self, known: Catalog, *, strict: bool) -> None:
        self._known = known
        self._strict = strict
        self._tree = Catalog()
        self._handlers: dict[tuple[str, str, tuple[str, ...]], Handler] = {}
        self._unscoped: set[tuple[str, str, tuple[str, ...]]] = set()

    def add(self, method: str, path: str, handler: Handler, *, scoped: bool = True) -> Operation:
        """Serve ``method path`` with ``handler``; returns the operation it serves.

        ``path`` is a full template such as ``/rest/v1.0/webhooks/hooks/{hook_id}``.
        ``scoped=False`` skips the company/project resolution (``me``, ``companies``:
        the operations that work without a company).
        Raises ``ValueError`` for a malformed template, one already registered, or (on
        a strict fake) one that is not a catalog operation.
        """
        method = method.upper()
        found = _PATH.fullmatch(path)
        if found is None:
            raise ValueError(f"route path must look like /rest/v1.0/..., not {path!r}")
        version, template = found.groups()
        known = self._known.find(method, version, template)
        if known is None and self._strict:
            raise ValueError(f"{method} {path} is not an operation in Procore's catalog")
        flags, status, kind = ("-", 200, "action") if known is None else _traits(known)
        required = () if known is None else known.required
        op = Operation(method, version, template, flags, status, kind, required=required)
        shape = _shape(op.segments or split_template(template))
        key = (method, version, shape)
        if key in self._handlers:
            raise ValueError(f"{method} {path} already has a route")
        self._tree.add(op)
        self._handlers[key] = handler
        if not scoped:
            self._unscoped.add(key)
        return op

    def lookup(self, method: str, version: str, segments: tuple[str, ...]) -> Operation | None:
        """The registered operation serving a concrete path, or None."""
        found = self._tree.match(version, segments)
        return None if found is None else found.ops.get(method)

    def handler(self, op: Operation) -> Handler:
        return self._handlers[(op.method, op.version, _shape(op.segments))]

    def scoped(self, op: Operation) -> bool:
        return (op.method, op.version, _shape(op.segments)) not in self._unscoped

    def __len__(self) -> int:
        return len(self._handlers)


def _traits(op: Operation) -> tuple[str, int, str]:
    return op.flags, op.status, op.kind


def _shape(segments: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("{}" if s.startswith("{") else s for s in segments)
