"""The SQLite database: one connection, one writer at a time, migrations by ``user_version``.

Why one connection behind one lock: aiosqlite runs every statement on a single thread
anyway, and a lock held across ``BEGIN IMMEDIATE … COMMIT`` means a coroutine can never
read another coroutine's half-finished transaction. Statements take microseconds, so
serialising them costs less than the bookkeeping of a pool would.

Other processes (a CLI command, a DB browser, a backup) may hold SQLite's write lock
too, for seconds. Waiting for it is bounded: ``BEGIN IMMEDIATE`` is tried again with
growing pauses for up to ``LOCK_WAIT`` seconds, then ``DatabaseBusy`` is raised and
nothing of the transaction has been written. SQLite's own busy wait is off because
inline SQLite would sleep on the event loop's thread, stalling every worker; the pauses
here are ``asyncio.sleep`` with the connection's lock let go, so reads go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import aiosqlite

from bot.domain.errors import DatabaseBusy
from storage.connection import Connection
from storage.dialect import SQLITE
from storage.filelock import FileLock
from storage.inline import InlineConnection
from storage.schema import MIGRATIONS, script

log = logging.getLogger(__name__)
#: with checkpoints in the background, SQLite's own checkpoint only as a backstop (pages)
BACKSTOP_PAGES = 10_000
#: a side connection (``Database.open_side``) behaves as the main one does
SIDE_PRAGMAS = ("PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
                "PRAGMA recursive_triggers=ON", "PRAGMA busy_timeout=5000",
                "PRAGMA temp_store=FILE")

#: how long SQLite itself waits for another connection's lock (milliseconds): not at all,
#: since inline SQLite would wait on the event loop's thread and stall every worker (and
#: each waiting coroutine's tries would add up); ``_begin`` waits instead, off the loop
BUSY_TIMEOUT_MS = 0
#: how long a transaction waits in all for another process's write lock (seconds)
LOCK_WAIT = 5.0
#: the pause after the first busy try, doubled after each next one up to MAX_PAUSE
FIRST_PAUSE = 0.01
MAX_PAUSE = 0.25


def is_busy(error: BaseException) -> bool:
    """SQLITE_BUSY and its extended codes: another connection has the lock we need."""
    return isinstance(error, DatabaseBusy) or (
        isinstance(error, sqlite3.OperationalError)
        and (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY)


def _busy(tries: int = 0) -> DatabaseBusy:
    """``tries``: how often ``BEGIN IMMEDIATE`` was tried; 0 when SQLite answered busy
    later, inside the transaction or a read."""
    return DatabaseBusy(tries, LOCK_WAIT)


class _Owned(Connection, Protocol):
    """The connection as its owner sees it: the statements' protocol, and closing."""

    async def close(self) -> None: ...


async def _connect(path: str, threaded: bool) -> _Owned:
    """The inline connection, or aiosqlite's threaded one; rows read by name in both.

    The two returns are also where mypy checks that both connections satisfy
    ``storage.connection.Connection``: a method missing from either fails ``mypy``.
    """
    if threaded:
        threaded_conn = await aiosqlite.connect(path, isolation_level=None)
        threaded_conn.row_factory = aiosqlite.Row
        return threaded_conn
    inline_conn = await InlineConnection.connect(path)
    inline_conn.row_factory = sqlite3.Row
    return inline_conn


class Database:
    """The SQLite backend of ``storage.backend.Database``."""

    dialect = SQLITE

    def __init__(self, conn: _Owned, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        self._checkpoints: asyncio.Task[None] | None = None
        self._stop_checkpoints = asyncio.Event()

    @classmethod
    async def open(cls, path: str | Path, threaded: bool = False) -> Database:
        """Open (creating if needed) and bring the schema up to date.

        ``threaded`` runs SQLite on aiosqlite's worker thread; the default runs it inline
        on the event loop (``storage/inline.py`` says why, the loop benchmark measures it).
        """
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await _connect(path, threaded)
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            # so that INSERT OR REPLACE's hidden delete fires the ledger's no-delete trigger
            await conn.execute("PRAGMA recursive_triggers=ON")
            # no busy wait inside SQLite: inline it would block the event loop (see _begin)
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            db = cls(conn, path)
            await db._migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._stop_checkpoints.set()
            await self._checkpoints  # let a round in progress finish on its thread
        async with self._lock:
            await self._conn.close()

    async def checkpoint_in_background(self, every: float = 1.0) -> None:
        """Copy the write-ahead log into the database file from a thread, every ``every``
        seconds, instead of inside whichever COMMIT crosses 1,000 logged pages.

        Why: that automatic checkpoint runs on the event loop, and with the work loop at
        full speed it was about half of what a COMMIT cost (``bench/loop.py``). A second
        connection checkpoints on a worker thread (``sqlite3`` lets go of the GIL while it
        works), and copies each page once a round rather than once per 1,000 frames.
        SQLite's own checkpoint stays as a backstop at ``BACKSTOP_PAGES`` in case the
        thread falls behind. For long-running processes (``tapwork run``); a short CLI
        command keeps SQLite's default.
        """
        if self.path == ":memory:" or self._checkpoints is not None:
            return
        async with self._lock:
            await self._conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        self._checkpoints = asyncio.create_task(self._checkpoint_rounds(every),
                                                name="sqlite-checkpoints")

    async def _checkpoint_rounds(self, every: float) -> None:
        try:
            conn = await asyncio.to_thread(sqlite3.connect, self.path,
                                           check_same_thread=False)
        except sqlite3.Error as exc:  # the backstop keeps the log bounded
            log.warning("no background checkpoints: %s", exc)
            return
        try:
            while not self._stop_checkpoints.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_checkpoints.wait(), every)
                try:
                    # PASSIVE never waits for readers or writers: it copies what it can
                    await asyncio.to_thread(conn.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # the backstop still bounds the log
                    log.warning("background checkpoint failed: %s", exc)
        finally:
            await asyncio.to_thread(conn.close)

    async def _version(self) -> int:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def applied_version(self) -> int:
        """How many migrations the database has run (``/healthz`` compares it with
        ``schema_version``: a replica of an older version on a newer database, or the
        reverse, is not healthy)."""
        async with self._lock:
            return await self._version()

    async def _migrate(self) -> None:
        version = await self._version()
        for number, entry in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            log.info("applying schema migration %d", number)
            async with self.transaction() as conn:
                for statement in _statements(script(entry, SQLITE)):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction: everything inside commits together or not at all.

        Raises ``DatabaseBusy`` when another process keeps the write lock past
        ``LOCK_WAIT`` (before anything inside has run), or when SQLite reports it busy
        later on (then everything inside is rolled back).
        """
        await self._begin()
        try:
            try:
                yield self._conn
                await self._conn.execute("COMMIT")
            except BaseException as exc:
                await self._rollback()
                if is_busy(exc) and not isinstance(exc, DatabaseBusy):
                    raise _busy() from exc
                raise
        finally:
            self._lock.release()

    async def _begin(self) -> None:
        """Take the connection's lock and SQLite's write lock (``BEGIN IMMEDIATE``),
        trying again while another process holds the latter, for ``LOCK_WAIT`` seconds
        at most; the connection's lock is let go during each pause."""
        deadline = time.monotonic() + LOCK_WAIT
        pause, tries = FIRST_PAUSE, 0
        while True:
            await self._lock.acquire()
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                return
            except BaseException as exc:
                self._lock.release()
                if not is_busy(exc):
                    raise
                tries += 1
                if time.monotonic() + pause > deadline:
                    log.warning("gave up on the database's write lock after %d tries", tries)
                    raise _busy(tries) from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)

    async def _rollback(self) -> None:
        # SQLite may have rolled back already (it does on some I/O errors and a full
        # disk): nothing of the transaction is left either way, and the error that
        # caused it is the one worth raising
        with contextlib.suppress(sqlite3.Error):
            await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """This process's turn at the database, with no statement on the main connection.

        For work that writes on a connection of its own in a thread (an import's batches):
        holding the same lock as every transaction here means the work loop's
        transactions queue behind one batch, first come first served, and run as soon as
        it commits, instead of SQLite making the event loop's thread wait on a busy lock.
        """
        async with self._lock:
            yield

    def open_side(self) -> sqlite3.Connection:
        """A second connection to the same file, for one thread's long job (blocking: call
        it in that thread). Temporary tables go to a file, so a job's scratch data is
        bounded by SQLite's page cache, not held in memory."""
        if self.path == ":memory:":
            raise sqlite3.OperationalError("an in-memory database has no second connection")
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            for pragma in SIDE_PRAGMAS:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        return conn

    def open_reader(self) -> sqlite3.Connection:
        """A read-only connection of its own, for one long job on one worker thread.

        Why: exports and reports read a whole project; on the shared connection they would
        hold the event loop (and every worker's answer) for as long as they read. In WAL
        mode a reader sees one consistent snapshot while the bot keeps writing. Blocking:
        call it on the thread that will use the connection.
        """
        if self.path == ":memory:":
            raise sqlite3.OperationalError("an in-memory database has no second connection")
        uri = f"{Path(self.path).resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=5.0, check_same_thread=False,
                               isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def inline(self, conn: sqlite3.Connection) -> Connection:
        """A connection from ``open_reader`` as the async ``Connection`` (statements run
        inline, on the calling thread)."""
        return InlineConnection(conn)

    def import_lock(self) -> FileLock | None:
        """``DB-import.lock`` next to the file, held with ``flock`` for one import; None
        while another import (in any process) holds it. Blocking."""
        return FileLock.take(f"{self.path}-import.lock")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """Reads under the same lock, so they never see another coroutine's open write.

        In WAL mode another process's writer never blocks a reader; should SQLite still
        answer busy (recovering the log after a crash), it is ``DatabaseBusy`` as well.
        """
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.OperationalError as exc:
                if is_busy(exc) and not isinstance(exc, DatabaseBusy):
                    raise _busy() from exc
                raise


def _statements(script: str) -> list[str]:
    """Split a migration into statements, line by line, with SQLite's own parser deciding
    where one ends (so a ``;`` inside a comment or a literal never splits)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return [s for s in statements if s.rstrip(";").strip()]
