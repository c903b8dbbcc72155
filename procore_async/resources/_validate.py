"""Opt-in validation of typed results with pydantic (the ``pydantic`` extra).

The generated models are TypedDicts: free at run time, checked only by mypy or
pyright.  A caller who wants proof that what Procore sent matches the catalog
calls :func:`validate`; the data is returned as it came (unknown fields kept,
nothing converted), so validating changes nothing but the confidence.

The catalog says nothing about ``null``, and Procore sends it for most unset
fields, so a ``null`` is accepted wherever a value is: it is checked as if the
field were absent (every model field is optional).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._lazy import require_extra

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator

    from pydantic import TypeAdapter

__all__ = ["validate", "validate_items"]

T = TypeVar("T")


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(model: object) -> TypeAdapter[Any]:
    """One pydantic TypeAdapter per model, built on first use (building one is slow)."""
    found = _ADAPTERS.get(model)
    if found is None:
        require_extra("pydantic", "pydantic", "procore_async.resources.validate")
        from pydantic import TypeAdapter

        found = _ADAPTERS[model] = TypeAdapter(model)
    return found


def validate(model: type[T], data: object) -> T:
    """Check ``data`` against ``model`` (a generated TypedDict); return ``data`` unchanged.

    Raises ``pydantic.ValidationError`` (a ``ValueError``) naming each field that
    does not match.  Fields the catalog does not list are allowed.
    """
    _adapter(model).validate_python(_without_nulls(data), strict=False)
    return cast(T, data)


async def validate_items(model: type[T], items: AsyncIterable[object]) -> AsyncIterator[T]:
    """Validate each item of ``items`` (``client.api.rfis.list(...)``) as it arrives."""
    adapter = _adapter(model)
    async for item in items:
        adapter.validate_python(_without_nulls(item), strict=False)
        yield cast(T, item)


def _without_nulls(data: object) -> object:
    """A copy of ``data`` without the object fields that are ``null``."""
    if isinstance(data, dict):
        return {key: _without_nulls(value) for key, value in data.items() if value is not None}
    if isinstance(data, list):
        return [_without_nulls(item) for item in data]
    return data
