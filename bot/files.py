"""Writing a file so that its name never holds half of it."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def written_atomically(target: Path) -> Iterator[TextIO]:
    """Write ``target.partial``, then rename it onto ``target`` once every byte is on disk.

    Why: an export or payout file is read by people and scripts that trust its name. A
    crash, a full disk or an error half way leaves no half-written file under that name
    (and an older file of that name as it was): the partial file is removed on any
    failure, and the rename is atomic. A directory given as the output is refused before
    anything is written, rather than after a long export when the rename fails.
    """
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    partial = target.with_name(target.name + ".partial")
    try:
        # text only: every file written this way is an export or a payout list
        with partial.open("w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise
