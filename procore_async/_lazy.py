"""Lazy public names for a package (PEP 562), so importing it stays cheap.

The pytest plugin of ``procore_async.testing`` is imported by every pytest run of
every project that installs this package, and optional stores need optional
packages: names are imported from their private modules on first use only.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str,
    homes: Mapping[str, str],
    public: Iterable[str],
    *,
    public_module: bool = False,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` loading ``name`` from ``homes[name]``.

    ``homes`` maps each lazy name to its module, relative to ``package``.  A loaded
    name is stored in the package, so the import happens once.  With
    ``public_module``, classes from private submodules report the package as their
    module, so reprs and tracebacks show the path users import from.
    """
    names = sorted(public)

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        if public_module and isinstance(value, type) and value.__module__.startswith(package + "."):
            value.__module__ = package
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__
