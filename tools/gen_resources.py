"""Generate ``procore_async/resources/`` and its reference pages from Procore's catalog.

Usage (from the repository root; no network, no arguments needed)::

    python tools/gen_resources.py            # rewrite the generated files
    python tools/gen_resources.py --check    # exit 1 if they differ from what is committed

Input: ``tools/catalog/operations-details.json.gz``, Procore's operation catalog
(2,636 operations with parameter, body and 2xx response schemas; see
``/work/shared/reference/procore-api-catalog/README.md``).  The strict FakeProcore
reads the same file, so the client's models and the fake agree by construction.

Output (every file starts with a "generated, do not edit" header):

* ``procore_async/resources/<namespace>.py``: one module per catalog tag (the tag's
  last part: ``Project Management/RFI/rfis`` -> ``rfis``), holding the TypedDict
  models of that tag's requests and responses and one ``<Name>Resource`` class
  with a method per operation.
* ``procore_async/resources/_api.py``: ``Api``, the ``client.api`` object, one lazy
  property per namespace (a namespace module is imported on first use only).
* ``docs/reference/resources/<category>.md``: the reference pages.

Naming (documented for users in docs/resources.md):

1. A method's base name is its summary in snake_case, with the namespace's own
   words dropped (``List RFIs`` in ``rfis`` -> ``list``; ``Create RFI Reply`` ->
   ``create_reply``) and the articles a/an/the dropped; when nothing is left, the
   HTTP verb's usual name (``list``, ``show``, ``create``, ``update``, ``delete``).
2. Operations that share a base name in one namespace are told apart, in this order:
   by scope when their paths differ (the shortest path keeps the name, the others
   get ``_for_<first path parameter>``, e.g. ``list_for_company``), then by version
   (the newest keeps the name, older ones get ``_v1_0``), then by HTTP verb
   (``_put``), then by a counter (``_2``).
3. ``OVERRIDES`` below renames the few operations whose generated name is poor, for
   the resources most users touch; ``ALIASES`` gives their models short names
   (``procore_async.resources.projects.Project``).  An alias the catalog cannot back
   (no such operation in the namespace, no schema for its result, or "item" for an
   operation that is not a list) stops the generator, ``--check`` included.

This file holds the naming rules and the command; ``gen_resources_models.py`` turns
catalog entries into typed operations and TypedDicts, ``gen_resources_code.py``
writes the Python and Markdown text.  The output is a pure function of the catalog
and these three files: operations are
processed in catalog order, every choice is sorted, and ``ruff format`` (the
project's formatter) gives the final layout.
"""

from __future__ import annotations

import argparse
import gzip
import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the two modules beside this one

from gen_resources_code import api_source, module_source, reference_pages
from gen_resources_models import (
    _METHOD_SHADOWING,
    Operation,
    singular,
    snake,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "tools" / "catalog" / "operations-details.json.gz"
PACKAGE = ROOT / "procore_async" / "resources"
DOCS = ROOT / "docs" / "reference" / "resources"
HAND_WRITTEN = {"__init__.py", "_runtime.py", "_validate.py"}

#: operationId -> method name, where the generated name would be poor.
OVERRIDES: dict[str, str] = {
    # v1.1 lists projects too, but the catalog documents only v1.0's items.
    "RestV10ProjectsGet": "list",
    "RestV11ProjectsGet": "list_v1_1",
    "RestV11ProjectsProjectIdSubmittalsGet": "list",
    "RestV10ProjectsProjectIdSubmittalsGet": "list_v1_0",
    "RestV20CompaniesCompanyIdProjectsProjectIdSubmittalsGet": "list_v2",
    "RestV11ProjectsProjectIdSubmittalsPost": "create",
    "RestV10ProjectsProjectIdSubmittalsPost": "create_v1_0",
    "RestV10ProjectsProjectIdDirectCostsGet": "list_v1_0",
    "RestV11ProjectsProjectIdDirectCostsGet": "list",
    "RestV10ProjectsProjectIdDirectCostsIdGet": "show_v1_0",
    "RestV11ProjectsProjectIdDirectCostsIdGet": "show",
    "RestV10ProjectsProjectIdDirectCostsPost": "create_v1_0",
    "RestV11ProjectsProjectIdDirectCostsPost": "create",
    "RestV10ProjectsProjectIdDirectCostsIdPatch": "update_v1_0",
    "RestV11ProjectsProjectIdDirectCostsIdPatch": "update",
    "RestV10ProjectsProjectIdDirectCostsIdDelete": "delete_v1_0",
    "RestV11ProjectsProjectIdDirectCostsIdDelete": "delete",
    "RestV10ProjectsProjectIdDirectCostsSyncPatch": "sync",
    "RestV10ProjectsProjectIdDailyLogsClonesPost": "clone",
}

#: namespace -> {short model name: (operationId, "result" or "item")}: the model of
#: that operation's result, or of one item of that list operation.  The catalog must
#: have the schema (the generator fails otherwise); it has none for any operation of
#: ``rfis``, ``company_vendors``, ``project_vendors``, ``timecard_entries`` or
#: ``prime_change_orders``, so those have no short name (docs/resources.md says so).
ALIASES: dict[str, dict[str, tuple[str, str]]] = {
    "projects": {"Project": ("RestV10ProjectsIdGet", "result")},
    "companies": {"Company": ("RestV10CompaniesGet", "item")},
    # The catalog's show (v1.0 and v1.1) has no schema; its v1.1 list's items do.
    "submittals": {"Submittal": ("RestV11ProjectsProjectIdSubmittalsGet", "item")},
    "company_users": {"CompanyUser": ("RestV10CompaniesCompanyIdUsersIdGet", "result")},
    "project_users": {"ProjectUser": ("RestV10ProjectsProjectIdUsersIdGet", "result")},
    "observations": {"Observation": ("RestV10ObservationsItemsIdGet", "result")},
    "direct_costs": {"DirectCost": ("RestV11ProjectsProjectIdDirectCostsIdGet", "result")},
    "budget_line_items": {"BudgetLineItem": ("RestV10BudgetLineItemsIdGet", "result")},
    "project_folders_and_files": {
        "Folder": ("RestV10FoldersIdGet", "result"),
        "File": ("RestV10FilesIdGet", "result"),
    },
    "company_folders_and_files": {
        "Folder": ("RestV10CompaniesCompanyIdFoldersIdGet", "result"),
        "File": ("RestV10CompaniesCompanyIdFilesIdGet", "result"),
    },
    "commitments": {"Commitment": ("RestV10CommitmentsGet", "item")},
}

_ARTICLES = {"a", "an", "the"}
_VERB_NAMES = {"GET": "show", "POST": "create", "PATCH": "update", "PUT": "replace"}
_VERB_NAMES["DELETE"] = "delete"
# -- the catalog ------------------------------------------------------------------


def namespaces_of(ops: list[dict[str, Any]]) -> dict[str, str]:
    """Catalog tag -> namespace name: the tag's last part, qualified when two tags share it."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for tag in sorted({op["tag"] for op in ops}):
        by_name["_".join(snake(tag.split("/")[-1]))].append(tag)
    result: dict[str, str] = {}
    for name, tags in by_name.items():
        for index, tag in enumerate(tags):
            qualified = name if index == 0 else "_".join([*snake(tag.split("/")[-2]), name])
            while keyword.iskeyword(qualified) or qualified.startswith("_"):
                qualified += "_"
            result[tag] = qualified
    return result


def base_name(op: Operation) -> str:
    words = snake(op.raw["summary"])
    ns_words = op.namespace.split("_")
    for variant in (ns_words, [*ns_words[:-1], singular(ns_words[-1])]):
        for start in range(len(words) - len(variant) + 1):
            if words[start : start + len(variant)] == variant:
                words = words[:start] + words[start + len(variant) :]
                break
    words = [word for word in words if word not in _ARTICLES]
    if not words:
        collection = not op.raw["path"].endswith("}")
        words = ["list" if op.method == "GET" and collection else _VERB_NAMES[op.method]]
    name = "_".join(words)
    if name[0].isdigit():
        name = "op_" + name
    return name


def _version_key(op: Operation) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", op.version)) or (0,)


def assign_names(ops: list[Operation]) -> None:
    """Give each operation of one namespace a unique method name (see the module docstring)."""
    groups: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        groups[base_name(op)].append(op)
    for name, group in groups.items():
        for op in group:
            op.name = name
        if len(group) > 1:
            paths = sorted({op.rest_path for op in group}, key=lambda p: (p.count("/"), p))
            for op in group:
                if op.rest_path != paths[0]:
                    first = re.findall(r"{([^}]+)}", op.rest_path)
                    scope = "_".join(snake(first[0].removesuffix("_id"))) if first else "path"
                    op.name += f"_for_{scope}"
        _split(group, lambda op: "_" + op.version.replace(".", "_"), _version_key, newest=True)
        _split(group, lambda op: "_" + op.method.lower(), lambda op: (op.method != "GET",))
        _split(group, None, lambda op: (0,))
    for op in ops:
        if op.op_id in OVERRIDES:
            op.name = OVERRIDES[op.op_id]
    seen: set[str] = set()
    for op in ops:
        while op.name in seen or op.name in _METHOD_SHADOWING or keyword.iskeyword(op.name):
            op.name += "_"
        seen.add(op.name)


def _split(group: list[Operation], suffix: Any, key: Any, newest: bool = False) -> None:
    by_name: dict[str, list[Operation]] = defaultdict(list)
    for op in group:
        by_name[op.name].append(op)
    for same in by_name.values():
        if len(same) < 2:
            continue
        ordered = sorted(same, key=key, reverse=newest)
        for index, op in enumerate(ordered[1:], start=2):
            op.name += suffix(op) if suffix else f"_{index}"


# -- main -------------------------------------------------------------------------


def generate() -> tuple[dict[str, str], dict[str, str]]:
    """Every generated file's text: (package files, reference pages)."""
    raw_ops = json.loads(gzip.decompress(CATALOG.read_bytes()))
    names = namespaces_of(raw_ops)
    by_ns: dict[str, tuple[str, list[Operation]]] = {}
    for raw in raw_ops:
        if not raw["path"].startswith("/rest/"):
            continue  # OAuth endpoints: the client's own auth layer owns them
        ns = names[raw["tag"]]
        by_ns.setdefault(ns, (raw["tag"], []))[1].append(Operation(raw, ns))
    unknown = sorted(set(ALIASES) - set(by_ns))
    if unknown:
        raise AliasError([f"{ns}: no such namespace in the catalog" for ns in unknown])
    files: dict[str, str] = {}
    problems: list[str] = []
    for ns, (tag, ops) in sorted(by_ns.items()):
        assign_names(ops)
        files[f"{ns}.py"] = module_source(ns, tag, ops, ALIASES.get(ns, {}), problems)
    if problems:
        raise AliasError(problems)
    table = [(ns, tag, len(ops)) for ns, (tag, ops) in sorted(by_ns.items())]
    files["_api.py"] = api_source(table)
    return files, reference_pages(by_ns)


class AliasError(Exception):
    """``ALIASES`` names a model the catalog cannot give (one line per alias)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _ruff(directory: Path) -> None:
    """The project's formatter gives the final layout (and drops unused imports)."""
    ruff = [sys.executable, "-m", "ruff"]
    fix = ["check", "--quiet", "--fix", "--select", "F401,I,RUF022", "--no-cache", str(directory)]
    subprocess.run([*ruff, *fix], check=True)
    subprocess.run([*ruff, "format", "--quiet", "--no-cache", str(directory)], check=True)


def render() -> tuple[dict[str, str], dict[str, str]]:
    files, pages = generate()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "procore_async" / "resources"
        out.mkdir(parents=True)
        for name, text in files.items():
            (out / name).write_text(text)
        shutil.copy(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        _ruff(out)
        files = {name: (out / name).read_text() for name in files}
    return files, pages


def differences(files: dict[str, str], pages: dict[str, str]) -> list[str]:
    """Generated paths whose committed copy differs, is missing, or should not exist."""
    found = []
    for directory, wanted, keep in ((PACKAGE, files, HAND_WRITTEN), (DOCS, pages, set())):
        present = {p.name for p in directory.glob("*.py" if directory == PACKAGE else "*.md")}
        for name in sorted(present - set(wanted) - keep):
            found.append(str(directory / name))
        for name, text in sorted(wanted.items()):
            path = directory / name
            if not path.exists() or path.read_text() != text:
                found.append(str(path))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args(argv)
    try:
        files, pages = render()
    except AliasError as exc:
        print("ALIASES in tools/gen_resources.py names models the catalog cannot give:")
        for problem in exc.problems:
            print(f"  {problem}")
        return 2
    stale = differences(files, pages)
    if args.check:
        for path in stale:
            print(f"out of date: {path}")
        return 1 if stale else 0
    for directory, wanted, keep in ((PACKAGE, files, HAND_WRITTEN), (DOCS, pages, set())):
        directory.mkdir(parents=True, exist_ok=True)
        for path in directory.glob("*.py" if directory == PACKAGE else "*.md"):
            if path.name not in wanted and path.name not in keep:
                path.unlink()
        for name, text in wanted.items():
            path = directory / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
    print(f"{len(files)} modules, {len(pages)} reference pages; {len(stale)} files changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
