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

__all__ = ["lazy_names", "require_extra"]


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


def require_extra(module: str, extra: str, user: str) -> None:
    """Import ``module`` or raise ImportError telling how to install it.

    Stores that need an optional package call this when constructed, so importing
    their names always works and only using one without its extra fails.
    """
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{user} needs the {module.partition('.')[0]} package: "
            f"pip install 'procore-async[{extra}]'"
        ) from exc
