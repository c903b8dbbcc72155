"""An exclusive lock on a sidecar file, held across processes: ``flock`` or ``filelock``.

On POSIX the lock is ``fcntl.flock`` (no dependency, released by the kernel when the
process dies).  Windows has no ``fcntl``; there the well-kept ``filelock`` package
(``msvcrt.locking`` underneath) is used, installed with procore-async on Windows only
(an environment marker), which keeps the core on Linux and macOS to the four packages
the design allows.  The blocking wait runs in a worker thread that a cancelled task
can walk away from.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Literal

__all__ = ["Backend", "LockWaiter", "default_backend"]

Backend = Literal["flock", "filelock"]
_MODE = 0o600
_POLL = 0.1


def default_backend() -> Backend:
    """``flock`` where ``fcntl`` exists (Linux, macOS, BSD), else ``filelock``."""
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - Windows
        return "filelock"
    return "flock"


def _acquire_flock(path: str, abandoned: Callable[[], bool]) -> Callable[[], None] | None:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, _MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    # Closing the descriptor releases the flock; it never waits on disk.
    return lambda: os.close(fd)


def _acquire_filelock(path: str, abandoned: Callable[[], bool]) -> Callable[[], None] | None:
    try:
        from filelock import FileLock, Timeout
    except ImportError:  # pragma: no cover - only where the marker did not install it
        raise RuntimeError(
            "FileStore needs the 'filelock' package on this platform: pip install filelock"
        ) from None
    # thread_local=False: the lock is taken in a worker thread and released elsewhere.
    lock = FileLock(path, mode=_MODE, thread_local=False, is_singleton=False)
    # Short timed waits, not one endless one: a cancelled task's wait stops polling, and
    # filelock refuses an endless wait on a path another instance here holds ("deadlock").
    while not abandoned():
        try:
            lock.acquire(timeout=_POLL)
        except Timeout:
            continue
        return lambda: lock.release(force=True)
    return None


_ACQUIRE: dict[Backend, Callable[[str, Callable[[], bool]], Callable[[], None] | None]] = {
    "flock": _acquire_flock,
    "filelock": _acquire_filelock,
}


class LockWaiter:
    """A blocking lock wait in a worker thread that a cancelled task can abandon.

    The thread cannot be interrupted, so on cancel the task marks the wait abandoned
    and leaves; whichever side comes second (the thread getting the lock, or the
    task giving up) releases it, so an abandoned lock is never kept.
    """

    __slots__ = ("_abandoned", "_acquire", "_mutex", "_path", "_release")

    def __init__(self, path: str, backend: Backend | None = None) -> None:
        self._path = path
        self._acquire = _ACQUIRE[backend or default_backend()]
        self._mutex = threading.Lock()
        self._release: Callable[[], None] | None = None
        self._abandoned = False

    def wait(self) -> Callable[[], None] | None:
        """Block until the lock is held; return its release, or None if abandoned."""
        release = self._acquire(self._path, lambda: self._abandoned)
        with self._mutex:
            if release is None:
                return None
            if self._abandoned:
                release()
                return None
            self._release = release
        return release

    def abandon(self) -> None:
        with self._mutex:
            self._abandoned = True
            if self._release is not None:
                self._release()
                self._release = None
