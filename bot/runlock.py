"""One running bot per database: an advisory lock held for the life of the process.

Why: two ``tapwork run`` on one database both poll Telegram (which answers 409 to one of
them) and both deliver the outbox. The lock is ``flock(2)`` on a file next to the
database (``tapwork.db.lock``), taken without waiting; the kernel drops it when the
process ends in any way, SIGKILL and power loss included, so a crash never leaves a
stale lock for an operator to delete. The lock file itself stays (removing it would let
a third process lock a new file while a second still holds the old one); it holds the
pid of the last process that took it, for the refusal's message.

On PostgreSQL (``storage.url``) the lock is a session advisory lock held on a connection
of its own (``storage.pgside.RUN_LOCK``); the server drops it when that connection ends,
which it does when the process ends in any way, as the kernel drops a ``flock``.

Not on the database file itself: SQLite locks byte ranges of that file with ``fcntl``,
and where ``flock`` is emulated with ``fcntl`` (some network filesystems) the two would
meet. ``flock`` works on Linux and the other Unixes; where ``fcntl`` does not exist
(Windows) the bot runs without the lock and says so in its log.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.domain.errors import AlreadyRunning
from storage.backend import ImportLock, is_postgres_url

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    # the module or None: mypy checks as on Linux, where the import never fails
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
SUFFIX = ".lock"


class RunLock:
    """``with RunLock(database):`` holds the database for this process, or raises
    ``AlreadyRunning`` naming the process that has it.

    ``shared=True`` is a webhook replica's: any number of replicas hold it together
    (``LOCK_SH``), and none of them starts beside a polling run, nor a polling run
    beside them (a polling bot deletes the webhook the replicas are serving)."""

    def __init__(self, database: str | Path, *, shared: bool = False) -> None:
        self.database = str(database)
        self.shared = shared
        self.path = Path(f"{self.database}{SUFFIX}")
        self._fd: int | None = None
        self._session: ImportLock | None = None

    def _acquire_postgres(self) -> None:
        from storage import pgside
        from storage.pgconnect import redacted

        self._session = pgside.try_session_lock(self.database, pgside.RUN_LOCK,
                                                 shared=self.shared)
        if self._session is None:
            raise AlreadyRunning("another tapwork run is using {path}{pid}",
                                 path=redacted(self.database), pid="")

    def acquire(self) -> None:
        if self.database == ":memory:":
            return  # nothing another process could share
        if is_postgres_url(self.database):
            self._acquire_postgres()
            return
        if fcntl is None:  # pragma: no cover - Windows
            log.warning("no file locks on this system: nothing stops a second tapwork run "
                        "on %s", self.database)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(
                "another tapwork run is using {path}{pid}", path=self.database,
                pid=f" (pid {holder})" if holder else "") from None
        except BaseException:
            os.close(fd)
            raise
        if not self.shared:  # replicas leave the file alone: each would overwrite it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            session.release()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            if not self.shared:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)  # nobody holds it now: no pid to name
            os.close(fd)  # closing the last descriptor drops the lock

    @property
    def held(self) -> bool:
        return self._fd is not None or self._session is not None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    """The holder's pid, if it has written it yet (it does right after locking)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isascii() and text.isdigit() else None
