"""The connection every storage function takes: the seam a second backend plugs into.

Why a protocol and not ``aiosqlite.Connection``: the bot runs the same statements on two
connections already (``storage/inline.py`` on the event loop, aiosqlite's on its thread)
and PostgreSQL is next. Naming the concrete class in a signature ties every caller to
one of them; naming this ties them to what the statements actually use, and no more:

- ``execute(sql, parameters)``, awaited for a cursor or used as ``async with … as cur``;
- ``executemany(sql, rows)``, awaited;
- on the cursor: ``fetchone()``, ``fetchall()`` and ``rowcount`` (``lastrowid`` is not
  used: new ids come back through ``RETURNING``);
- rows read by column name or position.

A method a storage function starts to use is added here first; mypy (strict) then checks
that both SQLite connections have it (``storage/db.py``, ``_connect``). PostgreSQL's is an
adapter of the same shape over psycopg (``storage/postgres.py``, ``PgConnection``): it
translates the statement texts (``?`` placeholders: ``storage/dialect.py``) and reads rows
by name and position (``storage/pgtypes.py``); the few SQLite functions without a
PostgreSQL spelling are fragments the storage function picks (``is_postgres``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

#: what a statement's parameters may be: positional (``?``) or named (``:name``)
Parameters = Sequence[Any] | Mapping[str, Any]


class Row(Protocol):
    """One result row: ``row["column"]`` or ``row[0]``, and iterable for unpacking."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int:
        """Rows the statement changed (INSERT, UPDATE, DELETE)."""
        ...

    def fetchone(self) -> Awaitable[Row | None]: ...

    def fetchall(self) -> Awaitable[Iterable[Row]]: ...


class Pending(Protocol):
    """What ``execute`` returns: await it for the cursor, or ``async with`` it to have the
    cursor closed at the end of the block."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any, /) -> None: ...


class Connection(Protocol):
    """What the storage functions, the services and ``Database.transaction()`` /
    ``Database.read()`` hand each other."""

    def execute(self, sql: str, parameters: Parameters = ..., /) -> Pending: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Awaitable[Cursor]:
        ...


class SideCursor(Protocol):
    """A blocking cursor (``sqlite3.Cursor``, or ``storage.pgside.SideCursor``)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class SideConnection(Protocol):
    """A blocking connection of one thread's own, for a long job: ``sqlite3.Connection``
    (``Database.open_side``) or ``storage.pgside.SideConnection``, which is shaped like
    it. The statements are written once, with SQLite's placeholders."""

    def execute(self, sql: str, parameters: Any = ..., /) -> SideCursor: ...

    def executemany(self, sql: str, rows: Any, /) -> SideCursor: ...

    def close(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...
