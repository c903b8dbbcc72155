"""What docs/resources.md and README.md say about the typed resources holds.

The short model names the guide lists import, and are the generator's whole alias
table; the resources it calls untyped are, and those it calls typed are; README's
headline examples are typed calls.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from procore_async.resources import NAMESPACES

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "resources.md").read_text()
README = (ROOT / "README.md").read_text()

#: What a method returns when the catalog has no schema for its result.
UNTYPED = {"ItemIterator[dict[str, Any]]", "Response[Any]", "Response[dict[str, Any]]"}


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_resources", ROOT / "tools/gen_resources.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_resources"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _short_names() -> set[tuple[str, str]]:
    """Every ``namespace.Model`` the guide names (a namespace, then a capitalised name)."""
    found = re.findall(r"`([a-z_]+)\.([A-Z]\w*)`", GUIDE)
    return {(ns, name) for ns, name in found if ns in NAMESPACES}


def _return(namespace: str, method: str) -> str:
    module = importlib.import_module(f"procore_async.resources.{namespace}")
    resource = next(
        value
        for key, value in vars(module).items()
        if key.endswith("Resource")
        and inspect.isclass(value)
        and value.__module__ == module.__name__
    )
    annotation = inspect.signature(getattr(resource, method)).return_annotation
    assert isinstance(annotation, str)  # the modules use ``from __future__ import annotations``
    return annotation


def test_every_short_name_the_guide_lists_imports() -> None:
    names = _short_names()
    assert len(names) >= 10
    for namespace, name in sorted(names):
        module = importlib.import_module(f"procore_async.resources.{namespace}")
        assert hasattr(module, name), f"procore_async.resources.{namespace}.{name}"
        assert name in module.__all__
        assert inspect.isclass(getattr(module, name))  # a TypedDict, not Any


def test_the_guide_lists_exactly_the_generators_aliases() -> None:
    aliases = {(ns, name) for ns, table in _gen().ALIASES.items() for name in table}
    assert _short_names() == aliases


@pytest.mark.parametrize("page", ["docs/resources.md", "README.md"])
def test_every_import_from_a_resource_module_in_the_docs_works(page: str) -> None:
    text = (ROOT / page).read_text()
    imports = re.findall(r"from procore_async\.resources\.(\w+) import ([\w, ]+)", text)
    for namespace, names in imports:
        module = importlib.import_module(f"procore_async.resources.{namespace}")
        for name in names.split(","):
            assert hasattr(module, name.strip()), f"{page}: {namespace}.{name.strip()}"


def _untyped_table() -> list[tuple[str, list[str], list[str]]]:
    section = GUIDE.split("### Untyped resources", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            untyped, typed = (re.findall(r"`(\w+)`", cell) for cell in cells[1:])
            rows.append((cells[0].strip("`"), untyped, typed))
    return rows


def test_the_resources_the_guide_calls_untyped_are() -> None:
    rows = _untyped_table()
    assert {"rfis", "company_vendors", "timecard_entries"} <= {ns for ns, _, _ in rows}
    for namespace, untyped, typed in rows:
        assert untyped, namespace
        for method in untyped:
            assert _return(namespace, method) in UNTYPED, f"{namespace}.{method}"
        for method in typed:
            assert _return(namespace, method) not in UNTYPED, f"{namespace}.{method}"


def test_readmes_typed_call_examples_are_typed() -> None:
    calls = re.findall(r"client\.api\.(\w+)\.(\w+)\(", README)
    assert calls
    for namespace, method in calls:
        assert _return(namespace, method) not in UNTYPED, f"{namespace}.{method}"
