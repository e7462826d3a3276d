"""An aiosqlite-compatible connection that runs SQLite on the event loop's own thread.

Why: every aiosqlite call is a hand-off to its worker thread and back (a future, a
self-pipe wake-up, the GIL passed twice). Our statements are indexed lookups that take a
few microseconds, so the hand-offs cost more than the work (an answer runs about
eighteen statements; forty when this was measured). The benchmark in ``bench/loop.py``
measures both (``storage.threaded``).
SQLite's own C code releases the GIL during I/O either way; what we give up is only the
ability to run Python while a long query runs, and our long queries (exports, stats) are
paged or indexed.

Only what ``storage/`` uses is provided: the protocol of ``storage/connection.py``
(``execute``, awaited or ``async with``, ``executemany``, the cursor's ``fetchone``,
``fetchall`` and ``rowcount``), and ``row_factory`` and ``close`` for ``Database``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterable, Sequence
from typing import Any

from storage.connection import Parameters, Row


class Cursor:
    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Row | None:
        row: Row | None = self._cursor.fetchone()
        return row

    async def fetchall(self) -> list[Row]:
        rows: list[Row] = self._cursor.fetchall()
        return rows

    async def close(self) -> None:
        self._cursor.close()


class _Pending:
    """What ``execute`` returns: awaitable (a cursor) and an async context manager."""

    __slots__ = ("_args", "_connection", "_cursor")

    def __init__(self, connection: sqlite3.Connection, args: tuple[Any, ...]) -> None:
        self._connection = connection
        self._args = args
        self._cursor: Cursor | None = None

    def _run(self) -> Cursor:
        self._cursor = Cursor(self._connection.execute(*self._args))
        return self._cursor

    def __await__(self) -> Generator[Any, None, Cursor]:
        async def run() -> Cursor:
            return self._run()

        return run().__await__()

    async def __aenter__(self) -> Cursor:
        return self._run()

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            self._cursor._cursor.close()


class InlineConnection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @classmethod
    async def connect(cls, path: str) -> InlineConnection:
        return cls(sqlite3.connect(path, isolation_level=None, check_same_thread=False))

    @property
    def row_factory(self) -> Any:
        return self._connection.row_factory

    @row_factory.setter
    def row_factory(self, factory: Any) -> None:
        self._connection.row_factory = factory

    def execute(self, sql: str, parameters: Parameters = ()) -> _Pending:
        return _Pending(self._connection, (sql, parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        return Cursor(self._connection.executemany(sql, rows))

    async def close(self) -> None:
        self._connection.close()
