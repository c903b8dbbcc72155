"""mkdocs hook: expand ``<!-- public-api -->`` in reference.md into mkdocstrings directives.

One ``::: module.Name`` per name in the ``__all__`` of ``procore_async`` and of each of
its public subpackages, found by walking the package (so a module another release adds
is listed without touching this file).  ``__all__`` is read statically with ``ast``:
nothing is imported, so an optional extra that is not installed cannot break the build.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[2] / "procore_async"
MARKER = "<!-- public-api -->"
#: Documented on their own pages rather than as Python API.
SKIP = {"procore_async.cli"}
#: Names that are not worth a section of their own.
SKIP_NAMES = {"__version__"}


def _exports(init: Path) -> list[str]:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value)  # type: ignore[union-attr]
            return [name for name in value if name not in SKIP_NAMES]
    return []


def public_modules() -> list[tuple[str, list[str]]]:
    """(dotted module name, exported names) for the package and its public subpackages."""
    found: list[tuple[str, list[str]]] = []
    for init in sorted(PACKAGE.rglob("__init__.py")):
        parts = init.parent.relative_to(PACKAGE.parent).parts
        dotted = ".".join(parts)
        if any(part.startswith("_") for part in parts) or dotted in SKIP:
            continue
        names = _exports(init)
        if names:
            found.append((dotted, names))
    found.sort(key=lambda item: (item[0] != "procore_async", item[0]))
    return found


def render() -> str:
    lines: list[str] = []
    for module, names in public_modules():
        lines += [f"## `{module}`", ""]
        for name in names:
            lines += [f"::: {module}.{name}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render())
