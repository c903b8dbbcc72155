"""The catalog's operations as data: parameters, bodies, results and their TypedDicts.

Part of ``tools/gen_resources.py`` (see its docstring): this module turns one
catalog entry into an :class:`Operation` whose parameters, body and result carry
Python annotations, registering the TypedDict models they need in :class:`Models`.
"""

from __future__ import annotations

import json
import keyword
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

#: Names a method or TypedDict field must not take: they are used in annotations.
_SHADOWING = {"str", "int", "float", "bool", "object", "dict", "list", "type", "Any", "Mapping"}
#: ``list`` is the best name for a list operation: signatures spell it ``builtins.list``.
_METHOD_SHADOWING = _SHADOWING - {"list"}
#: A TypedDict field of one of these names would shadow an annotation after it.
_FIELD_SHADOWING = _SHADOWING - {"type", "object", "None"}
_SHADOWING |= {"Sequence", "Response", "ItemIterator", "SyncResult", "TypedDict", "None"}
#: Keyword parameters every generated method may have; catalog names clash get ``_``.
_RESERVED = {"self", "body", "company_id", "per_page", "page", "max_items", "concurrency"}
_RESERVED |= {"idempotency_token", "batch_size", "raise_on_error"}
_SCALARS = {"integer": "int", "number": "float", "string": "str", "boolean": "bool"}


def snake(text: str) -> list[str]:
    """The lower-case words of ``text`` (ASCII letters and digits only)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [word for word in re.split(r"[^a-z0-9]+", text.lower()) if word]


def pascal(words: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", words))


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def identifier(name: str, taken: set[str]) -> str:
    """``name`` as a Python parameter name that clashes with nothing in ``taken``."""
    words = snake(name) or ["param"]
    result = "_".join(words)
    if result[0].isdigit():
        result = "p_" + result
    while keyword.iskeyword(result) or result in taken or result in _SHADOWING:
        result += "_"
    return result


def clean(text: str, limit: int = 0) -> str:
    """Catalog prose made safe for a docstring: ASCII, one paragraph, no markup noise."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](link) -> label
    text = " ".join(text.replace("\\", "/").replace('"""', "'''").split())
    if limit and len(text) > limit:
        text = text[: limit - 3].rsplit(" ", 1)[0] + "..."
    return text.rstrip('"') + ("." if text and text[-1] not in ".!?:" else "")


# -- the catalog ------------------------------------------------------------------


@dataclass
class Param:
    wire: str
    py: str
    annotation: str
    required: bool
    where: str  # "path", "query", "group"
    doc: str


@dataclass
class Operation:
    raw: dict[str, Any]
    namespace: str
    name: str = ""
    params: list[Param] = field(default_factory=list)
    body: str | None = None  # annotation of the body parameter
    body_required: bool = False
    result: str = "Any"
    kind: str = "call"  # "call", "list", "sync"
    envelope: bool = False

    @property
    def op_id(self) -> str:
        return str(self.raw["operationId"])

    @property
    def method(self) -> str:
        return str(self.raw["method"])

    @property
    def version(self) -> str:
        found = re.match(r"/rest/(v\d+\.\d+)/", self.raw["path"])
        return found.group(1) if found else "vapid"

    @property
    def rest_path(self) -> str:
        """The path after ``/rest/<version>/`` (what the client's verbs take)."""
        return re.sub(r"^/rest/v\d+\.\d+/", "", self.raw["path"])


# -- models -----------------------------------------------------------------------


class Models:
    """The TypedDicts of one namespace module, shared when two schemas are the same."""

    def __init__(self) -> None:
        self.by_shape: dict[str, str] = {}
        self.names: set[str] = set()
        self.blocks: list[str] = []

    def annotation(self, schema: Any, hint: str, *, param: bool = False) -> str:
        """The Python type of ``schema``; objects with properties become TypedDicts."""
        if not isinstance(schema, dict):
            return "Any"
        kind = schema.get("type")
        props = schema.get("properties")
        if isinstance(props, dict) and props:
            return self.typed_dict(props, hint)
        if kind == "array":
            inner = self.annotation(schema.get("items"), hint + "Item", param=param)
            return f"Sequence[{inner}]" if param else f"list[{inner}]"
        if kind in _SCALARS:
            return _SCALARS[kind]
        if kind == "object":
            return "Mapping[str, Any]" if param else "dict[str, Any]"
        return "Any"

    def typed_dict(self, props: dict[str, Any], hint: str) -> str:
        shape = json.dumps(_shape(props), sort_keys=True)
        found = self.by_shape.get(shape)
        if found is not None:
            return found
        name = hint
        counter = 2
        while name in self.names:
            name, counter = f"{hint}{counter}", counter + 1
        self.names.add(name)
        self.by_shape[shape] = name
        fields = [
            (key, self.annotation(value, name + pascal("_".join(snake(key)) or "Field")))
            for key, value in props.items()
        ]
        self.blocks.append(typed_dict_source(name, fields))
        return name


def _shape(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _shape(v) for k, v in schema.items() if k not in ("description", "default")}
    if isinstance(schema, list):
        return [_shape(item) for item in schema]
    return schema


def typed_dict_source(name: str, fields: list[tuple[str, str]]) -> str:
    plain = all(
        key.isidentifier() and not keyword.iskeyword(key) and key not in _FIELD_SHADOWING
        for key, _ in fields
    )
    if plain:
        lines = [f"    {key}: {annotation}" for key, annotation in fields]
        return f"class {name}(TypedDict, total=False):\n" + "\n".join(lines or ["    pass"])
    items = ", ".join(f"{json.dumps(key)}: {annotation}" for key, annotation in fields)
    return f'{name} = TypedDict("{name}", {{{items}}}, total=False)'


# -- operations -------------------------------------------------------------------


def success_schema(raw: dict[str, Any]) -> Any:
    for code in ("200", "201"):
        entry = raw["responses"].get(code)
        if isinstance(entry, dict) and "schema" in entry:
            return entry["schema"]
    return None


def build(op: Operation, models: Models) -> None:
    """Parameters, body and result of ``op``, with their models registered."""
    raw, stem = op.raw, pascal(op.namespace) + pascal(op.name)
    params = [p for p in raw["parameters"] if p["in"] in ("path", "query")]
    paginated = op.method == "GET" and any(p["name"] == "per_page" for p in params)
    schema = success_schema(raw)
    result_schema = schema
    props = schema.get("properties") if isinstance(schema, dict) else None
    if op.version.startswith("v2") and isinstance(props, dict) and "data" in props:
        op.envelope, result_schema = True, props["data"]
    is_array = isinstance(result_schema, dict) and result_schema.get("type") == "array"
    if raw["path"].endswith("/sync") and op.method in ("PATCH", "POST"):
        op.kind = "sync"
    elif paginated and (is_array or op.envelope):
        op.kind = "list"
    # ``page``/``per_page`` are the paginator's own arguments on list methods only.
    taken = set(_RESERVED) if op.kind == "list" else _RESERVED - {"page", "per_page"}
    groups: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for p in sorted(params, key=lambda p: p["in"] != "path"):
        wire, where = p["name"], p["in"]
        if where == "query" and op.kind == "list" and wire in ("page", "per_page"):
            continue
        if wire == "company_id":
            op.params.append(Param(wire, "company_id", "int", True, where, clean(p["description"])))
            continue
        if "[" in wire and not wire.endswith("[]") and where == "query":
            prefix, _, rest = wire.partition("[")
            key, _, deeper = rest.partition("]")
            annotation = models.annotation(p.get("schema"), "", param=True)
            if deeper == "[]":
                annotation = f"Sequence[{annotation}]"
            elif deeper:
                annotation = "Mapping[str, Any]"
            groups[prefix].append((key, annotation, clean(p["description"], 100)))
            continue
        annotation = models.annotation(p.get("schema"), stem + pascal(wire), param=True)
        if wire.endswith("[]") and not annotation.startswith("Sequence"):
            annotation = f"Sequence[{annotation}]"
        py = identifier(wire.removesuffix("[]"), taken)
        taken.add(py)
        required = where == "path" or bool(p.get("required"))
        op.params.append(Param(wire, py, annotation, required, where, clean(p["description"], 160)))
    for prefix, keys in groups.items():
        py = identifier(prefix, taken)
        taken.add(py)
        name = stem + pascal(prefix)
        fields = sorted({key: annotation for key, annotation, _ in keys}.items())
        models.names.add(name)
        models.blocks.append(typed_dict_source(name, fields))
        docs = "; ".join(f"``{key}``: {doc}" for key, _, doc in keys[:6])
        op.params.append(Param(prefix, py, name, False, "group", clean(docs, 300)))
    body = raw.get("requestBody")
    if body:
        op.body_required = bool(body.get("required"))
        if body.get("contentType") == "multipart/form-data":
            op.body = "Mapping[str, Any]"
        else:
            op.body = models.annotation(body.get("schema"), stem + "Body")
            if op.body in ("Any", "dict[str, Any]"):
                op.body = "Mapping[str, Any]"
    if op.kind == "sync":
        op.result = "SyncResult"
    elif op.kind == "list":
        item = result_schema.get("items") if isinstance(result_schema, dict) else None
        op.result = models.annotation(item, stem + "Item")
        if op.result == "Any":  # the catalog cut the item's schema; items are still objects
            op.result = "dict[str, Any]"
    else:
        op.result = models.annotation(result_schema, stem + "Result")
