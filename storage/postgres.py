"""The PostgreSQL database: the same surface as ``storage.db.Database`` (SQLite).

The services hand ``transaction()`` and ``read()`` connections to the storage functions
and never learn which backend they have (``storage.open_database`` picks one from the
URL). What is different underneath:

- A pool of connections (``psycopg_pool.AsyncConnectionPool``), not one connection
  behind a lock: reads run side by side, each in one snapshot (REPEATABLE READ, READ
  ONLY), so a read never sees half of another coroutine's write.
- One writer at a time, across every process on the database: each write transaction
  starts with ``pg_advisory_xact_lock(WRITER_LOCK)``, released by its COMMIT or
  ROLLBACK. The services were written against SQLite's ``BEGIN IMMEDIATE`` (read a row,
  then write absolute values computed from it); under the lock, READ COMMITTED reads see
  every earlier commit, so those read-then-write steps stay correct here too, and
  several processes (a CLI, replicas) may share the database safely. Waiting for the
  lock is bounded (``lock_timeout``, ``LOCK_WAIT``), after which ``DatabaseBusy`` is
  raised and nothing was written, as on SQLite.
- The statements are SQLite's text, translated per text (``storage.dialect``); values
  and rows look as SQLite's do (``storage.pgtypes``).
- Long jobs (imports, exports) get blocking psycopg connections for their threads
  (``storage.pgside``), as ``open_side`` and ``open_reader`` give ``sqlite3`` ones.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from bot.domain.errors import DatabaseBusy
from storage import pgconnect, pgside
from storage.connection import Connection, Parameters, Row
from storage.dialect import POSTGRESQL, placeholders
from storage.pgconnect import CONNECT_TIMEOUT, connect_options, redacted, unreachable
from storage.pgtypes import PgRow, adapt, pg_row
from storage.schema import MIGRATIONS, script

log = logging.getLogger(__name__)

#: the advisory lock every write transaction takes first ("tapwork" in ASCII)
WRITER_LOCK = 0x74617077_6F726B
#: connections per process: the event loop's transactions and reads
POOL_MIN, POOL_MAX = 1, 10


def _overflow(exc: BaseException) -> OverflowError:
    """A number no BIGINT holds raises ``OverflowError``, as ``sqlite3`` raises it for an
    integer SQLite cannot hold (the services catch that one)."""
    return OverflowError(str(exc).splitlines()[0])


class PgCursor:
    """The result of one statement, as ``storage.connection.Cursor``."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: psycopg.AsyncCursor[PgRow]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def fetchone(self) -> Row | None:
        return await self._cursor.fetchone()

    async def fetchall(self) -> list[Row]:
        return list(await self._cursor.fetchall())


class _Pending:
    __slots__ = ("_conn", "_params", "_sql")

    def __init__(self, conn: psycopg.AsyncConnection[Any], sql: str,
                 params: Parameters) -> None:
        self._conn, self._sql, self._params = conn, sql, params

    async def _run(self) -> PgCursor:
        text, has_params = placeholders(self._sql)
        cur = self._conn.cursor(row_factory=pg_row)
        try:
            if has_params:
                await cur.execute(text, self._params)
            else:  # no placeholders: the text goes as written (a '%' stays one)
                await cur.execute(self._sql)
        except pg_errors.LockNotAvailable as exc:
            raise DatabaseBusy() from exc
        except pg_errors.NumericValueOutOfRange as exc:
            raise _overflow(exc) from exc
        return PgCursor(cur)

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._run().__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


class PgConnection:
    """An async psycopg connection as ``storage.connection.Connection``."""

    dialect = POSTGRESQL

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, parameters: Parameters = ()) -> _Pending:
        return _Pending(self._conn, sql, parameters)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> PgCursor:
        text, _ = placeholders(sql)
        cur = self._conn.cursor(row_factory=pg_row)
        try:
            await cur.executemany(text, list(rows))
        except pg_errors.NumericValueOutOfRange as exc:
            raise _overflow(exc) from exc
        return PgCursor(cur)


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    adapt(conn)


class PostgresDatabase:
    """``transaction()``, ``read()`` and the rest, over a pool of connections."""

    dialect = POSTGRESQL

    def __init__(self, pool: AsyncConnectionPool[Any], url: str) -> None:
        self._pool = pool
        self.url = url
        #: what messages call the database (no password)
        self.path = redacted(url)

    @classmethod
    async def open(cls, url: str, *, pool_max: int = POOL_MAX) -> PostgresDatabase:
        """Connect and bring the schema up to date; ``DatabaseUnreachable`` when the
        server does not answer or refuses."""
        try:
            first = await psycopg.AsyncConnection.connect(url, **connect_options())
        except psycopg.Error as exc:
            raise unreachable(url, exc) from None
        try:
            adapt(first)
            await _migrate(first)
        finally:
            await first.close()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=POOL_MIN, max_size=max(pool_max, POOL_MIN), open=False,
            kwargs=connect_options(), configure=_configure, name="tapwork")
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        return cls(pool, url)

    async def close(self) -> None:
        await self._pool.close()

    async def checkpoint_in_background(self, every: float = 1.0) -> None:
        """Nothing to do: the server checkpoints its own log."""

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    async def applied_version(self) -> int:
        """How many migrations the database has run (``/healthz``, as on SQLite)."""
        async with self._pool.connection() as conn:
            return await _version(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction, this database's only writer until it ends."""
        async with self._pool.connection() as conn:
            try:
                await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
            except pg_errors.LockNotAvailable as exc:
                await conn.execute("ROLLBACK")
                raise DatabaseBusy(1, pgconnect.LOCK_WAIT) from exc
            try:
                yield PgConnection(conn)
            except BaseException:
                if not conn.closed:
                    await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """Reads in one snapshot of the database, with no lock."""
        async with self._pool.connection() as conn:
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield PgConnection(conn)
            finally:
                if not conn.closed:
                    await conn.execute("ROLLBACK")

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Nothing to hold here: an import's batches take the writer lock themselves, in
        their own transactions, and PostgreSQL queues the waiters in order."""
        yield

    def open_side(self) -> pgside.SideConnection:
        """A blocking connection for one thread's long job (an import)."""
        return pgside.connect(self.url, read_only=False)

    def open_reader(self) -> pgside.SideConnection:
        """A blocking read-only connection for one export or report thread."""
        return pgside.connect(self.url, read_only=True)

    def inline(self, conn: Any) -> Connection:
        """A side connection as the async ``Connection`` the storage functions take,
        for a report thread's own event loop (its statements block that thread)."""
        return pgside.InlineSide(conn)

    def import_lock(self) -> pgside.HeldLock | None:
        """This database's import lock, or None when another process holds it
        (blocking)."""
        return pgside.try_session_lock(self.url, pgside.IMPORT_LOCK)


async def _version(conn: psycopg.AsyncConnection[Any]) -> int:
    cur = await conn.execute("SELECT max(version) FROM tapwork_schema")
    row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def _migrate(conn: psycopg.AsyncConnection[Any]) -> None:
    """Run the migrations not yet run, each in a write transaction (so two processes
    starting at once migrate one after the other). The texts go as written: DDL has
    no parameters."""
    await conn.execute("CREATE TABLE IF NOT EXISTS tapwork_schema (version BIGINT NOT NULL)")
    if await _version(conn) >= len(MIGRATIONS):
        return
    for number, entry in enumerate(MIGRATIONS, start=1):
        await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        try:
            if number > await _version(conn):
                log.info("applying schema migration %d (PostgreSQL)", number)
                text = script(entry, POSTGRESQL)
                if text.strip():
                    await conn.execute(text.encode())
                await conn.execute("DELETE FROM tapwork_schema")
                await conn.execute("INSERT INTO tapwork_schema (version) VALUES (%s)",
                                   (number,))
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
