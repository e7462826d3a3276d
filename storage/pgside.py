"""Blocking PostgreSQL connections for the threads that run long jobs.

Imports and exports already run blocking code on worker threads with ``sqlite3``
connections of their own (``Database.open_side`` and ``open_reader``); on PostgreSQL they
get psycopg's blocking connections, shaped as much like ``sqlite3.Connection`` as those
jobs use (``execute`` with SQLite's placeholders, ``executemany``, ``in_transaction``,
rows by name and position), so ``storage.imports`` and ``storage.reports`` are written
once. Also here: session advisory locks held on a connection of their own (the import
lock, one per database), which the server drops when the holder's connection ends,
however its process ended, as the kernel drops a ``flock``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from storage.connection import Parameters, Row
from storage.dialect import POSTGRESQL, placeholders
from storage.pgconnect import connect_options, unreachable
from storage.pgtypes import PgRow, adapt, pg_row

#: the advisory lock one import at a time holds ("tapimpt")
IMPORT_LOCK = 0x74617069_6D7074
#: the advisory lock one running bot holds ("taprun")
RUN_LOCK = 0x746170_72756E


class SideCursor:
    """A blocking cursor as ``sqlite3.Cursor``: fetch, iterate, ``rowcount``."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.Cursor[PgRow]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def fetchone(self) -> PgRow | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[PgRow]:
        return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[PgRow]:
        return self._cursor.fetchmany(size)

    def __iter__(self) -> Iterator[PgRow]:
        return iter(self._cursor)

    def close(self) -> None:
        self._cursor.close()


class SideConnection:
    """A blocking psycopg connection in autocommit mode (transactions are begun by
    hand, as on the ``sqlite3`` connections with ``isolation_level=None``)."""

    dialect = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Parameters = ()) -> SideCursor:
        text, has_params = placeholders(sql)
        cur = self.raw.cursor(row_factory=pg_row)
        if has_params:
            cur.execute(text, parameters)
        else:
            cur.execute(sql)
        return SideCursor(cur)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> SideCursor:
        text, _ = placeholders(sql)
        cur = self.raw.cursor(row_factory=pg_row)
        cur.executemany(text, list(rows))
        return SideCursor(cur)

    def named_cursor(self, name: str) -> psycopg.ServerCursor[PgRow]:
        """A server-side cursor: rows come ``itersize`` at a time, never all at once."""
        return self.raw.cursor(name, row_factory=pg_row)

    def copy_rows(self, table: str, columns: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> None:
        """Rows into ``table`` with COPY (names are the caller's constants)."""
        with self.raw.cursor().copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != pq.TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


def connect(url: str, read_only: bool) -> SideConnection:
    """Blocking: call it on the thread that will use the connection."""
    try:
        conn = psycopg.connect(url, **connect_options())
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None
    adapt(conn)
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
    return SideConnection(conn)


class HeldLock:
    """A session advisory lock, held until ``release`` (or the process ends)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def release(self) -> None:
        self._conn.close()  # the server lets go of the session's locks


def try_session_lock(url: str, key: int, *, shared: bool = False) -> HeldLock | None:
    """The lock ``key`` on a connection of its own, or None when another session has it
    (blocking). ``shared``: held together with other shared holders (webhook replicas),
    never with an exclusive one (a polling run)."""
    try:
        conn = psycopg.connect(url, **connect_options())
    except psycopg.Error as exc:
        raise unreachable(url, exc) from None
    take = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    row = conn.execute(f"SELECT {take}(%s)", (key,)).fetchone()
    if not (row and row[0]):
        conn.close()
        return None
    return HeldLock(conn)


# ------------------------------------------------------------ async face, one thread


class _InlineCursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: SideCursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Row | None:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[Row]:
        return list(self._cursor.fetchall())


class _InlinePending:
    __slots__ = ("_args", "_conn")

    def __init__(self, conn: SideConnection, args: tuple[str, Parameters]) -> None:
        self._conn, self._args = conn, args

    def __await__(self) -> Generator[Any, None, _InlineCursor]:
        async def run() -> _InlineCursor:
            return _InlineCursor(self._conn.execute(*self._args))

        return run().__await__()

    async def __aenter__(self) -> _InlineCursor:
        return _InlineCursor(self._conn.execute(*self._args))

    async def __aexit__(self, *exc: object) -> None:
        return None


class InlineSide:
    """A side connection behind the async ``Connection`` protocol, for a report thread
    that runs the async storage functions in an event loop of its own."""

    dialect = POSTGRESQL

    def __init__(self, conn: SideConnection) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Parameters = ()) -> _InlinePending:
        return _InlinePending(self._conn, (sql, parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> _InlineCursor:
        return _InlineCursor(self._conn.executemany(sql, rows))

