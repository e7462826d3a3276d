"""Where a test reads state from (``tests/state.py``): the bot's ``Database`` (either
backend), a SQLite file or a ``postgresql://`` URL, or an open connection."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from storage import pgside
from storage.backend import Database, is_postgres_url
from storage.connection import SideConnection

Where = Database | Path | str | SideConnection


def _open(where: Database | Path | str) -> SideConnection:
    if isinstance(where, str | Path):
        if is_postgres_url(str(where)):
            return pgside.connect(str(where), read_only=False)
        return sqlite3.connect(where, timeout=10, isolation_level=None)
    conn: SideConnection = where.open_side()
    return conn


def given(where: Where) -> bool:
    return isinstance(where, sqlite3.Connection | pgside.SideConnection)


@contextlib.contextmanager
def connection(where: Where) -> Iterator[SideConnection]:
    """A caller's connection as it is; otherwise one of our own, closed afterwards."""
    if given(where):
        yield where  # type: ignore[misc]
        return
    conn = _open(where)  # type: ignore[arg-type]
    try:
        yield conn
    finally:
        conn.close()


