"""Procore's pagination headers, as the Rails ``api-pagination`` gem writes them.

``Link`` holds absolute URLs built from the request's own scheme and host, entries
``<url>; rel="name"`` joined by ``", "`` in the order first, prev, last, next; first and
prev only after page 1, last and next only before the last page.  Each URL keeps the
request's other query parameters and sets ``page`` and ``per_page``, encoded and sorted
the way Rails' ``Hash#to_query`` does (procore-api.md §4).
"""

from __future__ import annotations

from urllib.parse import quote_plus

from ._http import Request

__all__ = ["Page", "link_header", "page_window", "rails_query"]


class Page:
    """The requested page of a list: 1-based ``number``, ``size`` and the slice bounds."""

    __slots__ = ("number", "size")

    def __init__(self, number: int, size: int) -> None:
        self.number = number
        self.size = size

    @property
    def start(self) -> int:
        return (self.number - 1) * self.size

    @property
    def stop(self) -> int:
        return self.number * self.size


def _positive(text: str | None) -> int | None:
    if text is None or not text.strip().isdigit():
        return None
    value = int(text)
    return value if value >= 1 else None


def page_window(request: Request, default: int, maximum: int) -> Page:
    """``page``/``per_page`` from the query; bad values fall back, big ones are capped."""
    per_page = _positive(request.param("per_page"))
    size = default if per_page is None else min(per_page, maximum)
    return Page(_positive(request.param("page")) or 1, size)


def rails_query(pairs: list[tuple[str, str]]) -> str:
    """Encode query pairs as Rails' ``to_query``: top-level keys sorted, arrays in order."""
    groups: dict[str, list[str]] = {}
    for key, value in pairs:
        top = key.split("[", 1)[0]
        groups.setdefault(top, []).append(f"{quote_plus(key)}={quote_plus(value)}")
    units = []
    for parts in groups.values():
        if len(parts) > 1:
            # A nested hash sorts its members; an array (same key repeated) keeps its order.
            parts = sorted(parts, key=lambda p: p.split("=", 1)[0])
        units.append("&".join(parts))
    return "&".join(sorted(units))


def link_header(request: Request, page: Page, total: int) -> str:
    """The ``Link`` value for ``page`` of ``total`` items; empty for a single page."""
    last = max(1, -(-total // page.size))
    rels: list[tuple[str, int]] = []
    if page.number > 1:
        rels += [("first", 1), ("prev", page.number - 1)]
    if page.number < last:
        rels += [("last", last), ("next", page.number + 1)]
    if not rels:
        return ""
    kept = [(k, v) for k, v in request.query if k not in ("page", "per_page")]
    base = f"{request.base_url}{request.path}?"
    return ", ".join(
        f"<{base}{rails_query([*kept, ('page', str(n)), ('per_page', str(page.size))])}>; "
        f'rel="{rel}"'
        for rel, n in rels
    )
