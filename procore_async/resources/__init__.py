"""Typed resources: every operation of Procore's catalog as a method of ``client.api``.

``client.api.rfis.list(project_id=...)`` is generated from Procore's operation
catalog by ``tools/gen_resources.py``: one module per catalog tag
(``procore_async.resources.rfis``) holding its TypedDict models and one resource
class.  Nothing here is imported by ``import procore_async``; touching
``client.api.rfis`` imports ``procore_async.resources.rfis`` and nothing else.
See docs/resources.md for how names are formed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._api import NAMESPACES, Api
    from ._runtime import Client, Resource
    from ._validate import validate, validate_items

__all__ = ["NAMESPACES", "Api", "Client", "Resource", "validate", "validate_items"]

_HOME = {
    "NAMESPACES": "._api",
    "Api": "._api",
    "Client": "._runtime",
    "Resource": "._runtime",
    "validate": "._validate",
    "validate_items": "._validate",
}

__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__)
