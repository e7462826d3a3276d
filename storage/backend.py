"""Which database: ``Database`` as the services see it, and opening one from its URL.

``storage.url`` in the config names the backend: ``sqlite:///path`` (the default, a file
next to the config) or ``postgresql://user:password@host:5432/name``. Both classes
(``storage.db.Database`` for SQLite, ``storage.postgres.PostgresDatabase``) have the
surface below; mypy checks that both satisfy it where ``open_database`` returns them.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from storage.connection import Connection


class ImportLock(Protocol):
    def release(self) -> None: ...


class Database(Protocol):
    """What the services, the loader and the report threads use of a database."""

    #: "sqlite" or "postgresql"
    dialect: str
    #: what messages call the database: a file path, or the URL without its password
    path: str

    @property
    def schema_version(self) -> int: ...

    async def applied_version(self) -> int: ...

    async def close(self) -> None: ...

    async def checkpoint_in_background(self, every: float = 1.0) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]: ...

    def read(self) -> AbstractAsyncContextManager[Connection]: ...

    def exclusive(self) -> AbstractAsyncContextManager[None]: ...

    def open_side(self) -> Any:
        """A blocking connection for one thread's long job (``storage.imports``)."""
        ...

    def open_reader(self) -> Any:
        """A blocking read-only connection for one export or report thread."""
        ...

    def inline(self, conn: Any) -> Connection:
        """A connection from ``open_reader`` as the async ``Connection``, for a thread's
        own event loop."""
        ...

    def import_lock(self) -> ImportLock | None:
        """One import at a time per database: the lock, or None while another holds it."""
        ...


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


async def open_database(url: str, *, threaded: bool = False) -> Database:
    """Open (creating and migrating as needed) the database ``url`` names: a
    ``postgresql://`` URL, or a SQLite file path (``sqlite:///`` stripped)."""
    if is_postgres_url(url):
        from storage.postgres import PostgresDatabase

        pg: Database = await PostgresDatabase.open(url)
        return pg
    from storage.db import Database as SqliteDatabase

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    sqlite: Database = await SqliteDatabase.open(path, threaded)
    return sqlite
