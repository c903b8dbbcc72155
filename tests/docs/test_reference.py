"""The API reference covers every public name, and every Config field says what it is for."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import re
from pathlib import Path

from procore_async import Config

ROOT = Path(__file__).resolve().parents[2]


def _hook():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "reference_hook", ROOT / "docs/hooks/reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_lists_every_exported_name_of_every_public_module() -> None:
    hook = _hook()
    modules = dict(hook.public_modules())
    assert {
        "procore_async",
        "procore_async.stores",
        "procore_async.testing",
        "procore_async.auth",
    } <= set(modules)
    assert "procore_async.cli" not in modules
    for module, names in modules.items():
        imported = importlib.import_module(module)
        exported = [n for n in imported.__all__ if n not in hook.SKIP_NAMES]
        assert names == exported, module
        for name in names:
            assert hasattr(imported, name), f"{module}.{name} is exported but does not resolve"
    page = hook.on_page_markdown((ROOT / "docs/reference.md").read_text(), page=None)
    assert "::: procore_async.Config\n" in page
    assert "::: procore_async.stores.FileStore\n" in page
    assert "::: procore_async.testing.FakeProcore\n" in page


def test_every_config_field_has_a_docstring() -> None:
    tree = ast.parse((ROOT / "procore_async/_config.py").read_text())
    config = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Config")
    documented = set()
    for field, after in zip(config.body, config.body[1:], strict=False):
        docstring = after.value.value if isinstance(after, ast.Expr) else None  # type: ignore[attr-defined]
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(docstring, str)
            and docstring.strip()
        ):
            documented.add(field.target.id)
    assert documented == {f.name for f in dataclasses.fields(Config)}


def test_the_config_table_in_the_guide_lists_every_field() -> None:
    text = (ROOT / "docs/client.md").read_text()
    table = text[text.index("| field | default |") :].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert listed == {f.name for f in dataclasses.fields(Config)}
