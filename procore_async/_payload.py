"""Request bodies: JSON by default, multipart when a file is anywhere in the body.

The gem sends a hash containing a file as ``multipart/form-data`` with Rails-style
field names (``meta[name]``, ``list[]``); everything else as JSON.  The gem also
refuses a top-level array body, although its README uses one; here any JSON value
is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidRequestError

__all__ = ["MAX_DEPTH", "Payload", "encode_body"]

_JSON_HEADERS = {"Content-Type": "application/json"}


class Payload:
    """What httpx needs to send one body: raw content, or multipart data and files."""

    __slots__ = ("content", "data", "files", "headers")

    def __init__(
        self,
        *,
        content: bytes | None = None,
        data: dict[str, list[str]] | None = None,
        files: list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.content = content
        self.data = data
        self.files = files
        self.headers = headers or {}


def _is_file(value: Any) -> bool:
    return hasattr(value, "read") and callable(value.read)


#: Deeper bodies are refused: no Procore resource nests anywhere near this, and the
#: walks below (and ``json.dumps``) would otherwise die with a ``RecursionError``.
MAX_DEPTH = 64


def _contains_file(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> bool:
    if _is_file(value):
        return True
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in seen:
            raise InvalidRequestError("body refers to itself (a circular reference)")
        if depth >= MAX_DEPTH:
            raise InvalidRequestError(f"body is nested deeper than {MAX_DEPTH} levels")
        inner = seen | {id(value)}
        items = value.values() if isinstance(value, Mapping) else value
        found = False
        for item in items:  # the whole body, not up to the first file: _flatten walks it all
            found = _contains_file(item, depth + 1, inner) or found
        return found
    return False


def encode_body(body: Any) -> Payload:
    """Encode ``body`` as JSON, or as multipart when it holds a file object.

    JSON is tried first: a file object is not JSON-serialisable, so the walk that
    looks for one runs only when encoding fails, and a 1000-item sync batch pays
    for one ``json.dumps`` and nothing more.
    """
    if body is None:
        body = {}
    try:
        # allow_nan=False: NaN and Infinity are not JSON, and the API would answer 400.
        content = json.dumps(
            body, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
    except RecursionError:
        raise InvalidRequestError("body is nested too deeply to encode") from None
    except (TypeError, ValueError) as exc:
        # _contains_file also names a circular or too-deep body, which json.dumps
        # reports only as "Circular reference detected".
        if isinstance(body, (Mapping, list, tuple)) and _contains_file(body):
            if not isinstance(body, Mapping):
                raise InvalidRequestError("a body holding a file must be a mapping") from None
            data: dict[str, list[str]] = {}
            files: list[tuple[str, Any]] = []
            for key, value in body.items():
                _flatten(str(key), value, data, files)
            return Payload(data=data, files=files)
        raise InvalidRequestError(f"body is not JSON-serialisable: {exc}") from None
    return Payload(content=content, headers=_JSON_HEADERS)


def _flatten(
    key: str, value: Any, data: dict[str, list[str]], files: list[tuple[str, Any]]
) -> None:
    if _is_file(value):
        files.append((key, value))
    elif isinstance(value, Mapping):
        for sub_key, sub_value in value.items():
            _flatten(f"{key}[{sub_key}]", sub_value, data, files)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _flatten(f"{key}[]", item, data, files)
    elif value is None:
        data.setdefault(key, []).append("")
    elif isinstance(value, bool):
        data.setdefault(key, []).append("true" if value else "false")
    else:
        data.setdefault(key, []).append(str(value))
