"""A lock file held with ``flock(2)``: how a SQLite database's imports take turns.

The kernel drops the lock when the holding process ends in any way, so a leftover import
is told from one in progress by whether its lock can be taken. (PostgreSQL holds the
same lock as a session advisory lock: ``storage.pgside.try_session_lock``.)
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process at a time is assumed
    # the module or None: mypy checks as on Linux, where the import never fails
    fcntl = None  # type: ignore[assignment]


class FileLock:
    """``path``, held with ``flock`` until ``release``."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def take(cls, path: str) -> FileLock | None:
        """The lock, or None when another process (or descriptor) holds it. Blocking."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
        return cls(fd)

    def release(self) -> None:
        os.close(self.fd)  # closing the last descriptor releases the flock
