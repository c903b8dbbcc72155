"""Merging the bodies of sync batches the way the gem does (its ``deep_merge`` with ``+``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["merge_into"]


def merge_into(merged: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """Merge one batch's response ``body`` into ``merged`` (in place) and return it.

    The gem's ``deep_merge`` with ``+``: lists concatenate, numbers add, strings
    concatenate, dicts merge recursively.  Where the gem crashes (``None``, a bool,
    or two values of different kinds) the later batch's value wins, as it does
    for headers.  ``merged`` never shares a list or dict with ``body``.
    """
    for key, value in body.items():
        merged[key] = _combine(merged[key], value) if key in merged else _fresh(value)
    return merged


def _fresh(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, Mapping):
        return merge_into({}, value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _combine(old: Any, new: Any) -> Any:
    if isinstance(old, list) and isinstance(new, list):
        old.extend(new)
        return old
    if isinstance(old, dict) and isinstance(new, Mapping):
        return merge_into(old, new)
    if (_is_number(old) and _is_number(new)) or (isinstance(old, str) and isinstance(new, str)):
        return old + new
    return _fresh(new)
