"""The ``procore-async`` command (``python -m procore_async``); needs the ``cli`` extra.

Only :func:`main` lives here, and it imports nothing beyond the standard library
until it knows rich is installed, so ``import procore_async`` never pulls the
command line's dependencies in.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_MISSING_EXTRA = (
    "procore-async: the command line needs the 'cli' extra: "
    "pip install 'procore-async[cli]' (missing: {name})"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    try:
        import rich  # noqa: F401
    except ImportError:
        print(_MISSING_EXTRA.format(name="rich"), file=sys.stderr)
        return 2
    from ._app import run

    return run(argv)
