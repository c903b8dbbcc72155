"""Where output goes: data on stdout, everything meant for a person on stderr.

Keeping data alone on stdout is what makes ``procore-async paginate ... | jq`` work
while progress bars, warnings and errors still reach the terminal.  The consoles are
built per call (not at import) so they follow ``sys.stdout``/``sys.stderr`` as they
are when the command runs.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["error_line", "logging_to", "print_json", "stderr_console", "write_line"]

PROG = "procore-async"


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def error_line(message: str) -> None:
    """One line on stderr, whatever the message holds: scripts grep it, people read it."""
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


def write_line(text: str) -> None:
    """One line of data on stdout, flushed at once so a pipe sees it while we run."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_json(data: Any) -> None:
    """Pretty, coloured JSON for a person at a terminal; one compact line for a pipe."""
    if sys.stdout.isatty():
        from rich.console import Console

        Console(highlight=False).print_json(data=data, ensure_ascii=False)
    else:
        write_line(json.dumps(data, ensure_ascii=False))


@contextmanager
def logging_to(
    console: Console, verbosity: int, logger_name: str = "procore_async"
) -> Iterator[None]:
    """Show the library's log records on ``console`` for the duration of one command.

    Warnings (each retry) at ``verbosity`` 0, info (each request) at 1, debug from 2,
    errors only below 0.  Going through rich keeps log lines from tearing a live progress bar; the
    library's redaction filter still applies, so no token reaches the terminal.
    """
    from rich.logging import RichHandler

    logger = logging.getLogger(logger_name)
    levels = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}
    level = levels.get(max(verbosity, -1), logging.DEBUG)
    handler = RichHandler(console=console, show_path=False, show_time=verbosity > 0)
    handler.setLevel(level)
    previous = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    # Our handler prints the records; propagating would print them again via the root.
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]
