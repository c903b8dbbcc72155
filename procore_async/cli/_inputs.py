"""Turning what a user typed or pointed at into data: JSON arguments, queries, update files.

Every mistake here is the user's, so every failure is a :class:`UsageError` with a
one-line message naming the argument (or the file and line) and never the data
itself, which may hold personal details.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CommandError", "UsageError", "parse_body", "parse_query", "read_updates"]


class UsageError(Exception):
    """Bad input on the command line: reported on one line, exit status 2."""


class CommandError(Exception):
    """The command could not do its job (not the API's fault): one line, exit status 1."""


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise UsageError(f"{what} is not valid JSON ({exc.msg} at {where})") from None


def _read_text(source: str, what: str) -> str:
    """The text of ``@path`` (``@-`` is stdin) for ``what``."""
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {source!r} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{what}: {source!r} is not UTF-8 text") from None


def parse_body(value: str | None) -> Any:
    """``--body``: inline JSON, or ``@file`` / ``@-`` holding JSON."""
    if value is None:
        return None
    if value.startswith("@"):
        return _load_json(_read_text(value[1:], "--body"), f"--body {value}")
    return _load_json(value, "--body")


def parse_query(values: Sequence[str] | None) -> dict[str, Any] | None:
    """``--query``, repeatable: a JSON object, or ``key=value`` pairs (``&``-joined too).

    A key ending in ``[]`` collects a list (``--query ids[]=1 --query ids[]=2`` sends
    both, Rails style); any other key given twice keeps the last value, as Rails does.
    """
    if not values:
        return None
    query: dict[str, Any] = {}
    for value in values:
        if value.lstrip().startswith("{"):
            data = _load_json(value, "--query")
            if not isinstance(data, dict):
                raise UsageError("--query JSON must be an object")
            query.update(data)
            continue
        for part in value.split("&"):
            if not part:
                continue
            key, item = _split_pair(part)
            if key.endswith("[]"):
                collected = query.setdefault(key[:-2], [])
                if not isinstance(collected, list):
                    raise UsageError(f"--query {key[:-2]} is given both as a list and a value")
                collected.append(item)
            else:
                query[key] = item
    return query


def _split_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UsageError(f"--query expects key=value or a JSON object, not {text!r}")
    return key, value


def read_updates(path: str) -> list[dict[str, Any]]:
    """The rows of a ``.jsonl``/``.ndjson``, ``.json`` (a list) or ``.csv`` file (``-``: JSONL).

    CSV cells are strings; empty cells are left out, so a blank column never blanks
    a field on the server.
    """
    text = _read_text(path, "--file")
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return _read_csv(text, path)
    if suffix == ".json":
        data = _load_json(text, path)
        if not isinstance(data, list):
            raise UsageError(f"{path}: a .json file must hold a list of objects")
        rows = data
    else:
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                rows.append(_load_json(line, f"{path} line {number}"))
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise UsageError(f"{path}: record {number} is not a JSON object")
    return rows


def _read_csv(text: str, path: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise UsageError(f"{path}: the CSV file has no header row")
    rows = []
    try:
        for row in reader:
            if None in row:
                raise UsageError(f"{path} line {reader.line_num}: more cells than columns")
            rows.append({key: value for key, value in row.items() if value not in ("", None)})
    except csv.Error as exc:
        raise UsageError(f"{path} line {reader.line_num}: {exc}") from None
    return rows
