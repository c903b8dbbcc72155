"""The ``fake_procore`` pytest fixture, registered as a ``pytest11`` entry point.

pytest loads this module in every run of every project that installs procore-async,
so it imports nothing heavy: the fake is imported when a test first asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from . import FakeProcore

__all__ = ["fake_procore"]


@pytest.fixture
def fake_procore() -> FakeProcore:
    """A fresh :class:`~procore_async.testing.FakeProcore` with default settings."""
    from ._fake import FakeProcore

    return FakeProcore()
