"""The ``fake_procore`` pytest fixture, registered as a ``pytest11`` entry point.

pytest loads this module in every run of every project that installs procore-async,
so it imports nothing heavy: the fake is imported when a test first asks for it.

An ``async def`` test that takes ``fake_procore`` runs as it is, with no marker and
no setting: pytest itself cannot run coroutines ("async def functions are not
natively supported"), so this plugin runs such a test on an asyncio event loop
(through anyio, which procore-async depends on).  A test that another plugin already
runs is left alone: one marked ``anyio``, ``asyncio`` or ``trio``, or one
pytest-asyncio's auto mode has taken over.  Any other async test can use
``@pytest.mark.anyio``: anyio's own pytest plugin is installed with procore-async.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from . import FakeProcore

__all__ = ["fake_procore", "pytest_pyfunc_call"]

_OTHER_RUNNERS = ("anyio", "asyncio", "trio")


@pytest.fixture
def fake_procore() -> FakeProcore:
    """A fresh :class:`~procore_async.testing.FakeProcore` with default settings."""
    from ._fake import FakeProcore

    return FakeProcore()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test using ``fake_procore`` that no other plugin runs."""
    function = pyfuncitem.obj
    if "fake_procore" not in pyfuncitem.fixturenames:
        return None
    if not inspect.iscoroutinefunction(function):
        return None  # a sync test, or one already wrapped by pytest-asyncio
    if any(pyfuncitem.get_closest_marker(name) for name in _OTHER_RUNNERS):
        return None
    if "anyio_backend" in pyfuncitem.funcargs:
        return None
    import anyio

    names = pyfuncitem._fixtureinfo.argnames
    arguments: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    anyio.run(functools.partial(function, **arguments), backend="asyncio")
    return True
