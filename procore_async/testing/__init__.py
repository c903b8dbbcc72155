"""Test helpers: :class:`FakeProcore`, a faithful in-memory Procore served as an ASGI app.

Names load lazily, so the pytest plugin (loaded in every pytest run of every project
that installs procore-async) costs nothing until a test asks for the fake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._delivery import DeliveryPlan
    from ._fake import FAKE_HOST, FAKE_LOGIN_HOST, FakeProcore
    from ._faults import ConnectionDropped, FaultPlan
    from ._server import run_server, serve, serving
    from ._stats import FakeStats
    from ._transport import FakeTransport
    from ._webhooks import FakeWebhooks

__all__ = [
    "FAKE_HOST",
    "FAKE_LOGIN_HOST",
    "ConnectionDropped",
    "DeliveryPlan",
    "FakeProcore",
    "FakeStats",
    "FakeTransport",
    "FakeWebhooks",
    "FaultPlan",
    "run_server",
    "serve",
    "serving",
]

_HOME = {
    "FAKE_HOST": "._fake",
    "FAKE_LOGIN_HOST": "._fake",
    "ConnectionDropped": "._faults",
    "DeliveryPlan": "._delivery",
    "FakeProcore": "._fake",
    "FakeStats": "._stats",
    "FakeTransport": "._transport",
    "FakeWebhooks": "._webhooks",
    "FaultPlan": "._faults",
    "run_server": "._server",
    "serve": "._server",
    "serving": "._server",
}


__getattr__, __dir__ = lazy_names(__name__, _HOME, __all__)
