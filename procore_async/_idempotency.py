"""Where Procore honours ``Idempotency-Token``: the 5 catalog operations that declare it.

Source: Procore's operation catalog (``procore-api-catalog/operations.json``, the
operations whose ``headerParams`` list ``Idempotency-Token``; 5 of 2,636 at the
catalog's snapshot).  Everywhere else Procore ignores the header, so a caller's
token does not make a POST or PATCH safe to resend there: the pipeline treats
such a write as non-idempotent.  Keep this table in step with the catalog.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["IDEMPOTENCY_TOKEN_OPERATIONS", "honours_idempotency_token"]

_ID = r"[^/]+"

#: (method, path template) of every operation declaring the header, from the catalog.
IDEMPOTENCY_TOKEN_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("POST", "/rest/v1.0/projects/{project_id}/daily_logs/clones"),
    ("POST", "/rest/v1.0/projects/{project_id}/distribution_groups"),
    ("PATCH", "/rest/v1.0/projects/{project_id}/distribution_groups/{distribution_group_id}"),
    ("POST", "/rest/v1.0/projects/{project_id}/drawing_uploads"),
    ("POST", "/rest/v1.1/projects/{project_id}/drawing_uploads"),
)


def _regex(template: str) -> str:
    return re.sub(r"\\\{[a-z_]+\\\}", _ID, re.escape(template))


def _patterns() -> dict[str, re.Pattern[str]]:
    """One regex per method: the alternation of that method's templates."""
    by_method: dict[str, list[str]] = {}
    for method, template in IDEMPOTENCY_TOKEN_OPERATIONS:
        by_method.setdefault(method, []).append(_regex(template))
    return {m: re.compile(f"(?:{'|'.join(r)})/?") for m, r in by_method.items()}


_PATTERNS = _patterns()


def honours_idempotency_token(method: str, url: str) -> bool:
    """True when Procore declares ``Idempotency-Token`` for ``method`` on ``url``'s path."""
    pattern = _PATTERNS.get(method)
    return pattern is not None and pattern.fullmatch(urlsplit(url).path) is not None
