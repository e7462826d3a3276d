"""The SQLite database: one connection, one writer at a time, migrations by ``user_version``.

Why one connection behind one lock: aiosqlite runs every statement on a single thread
anyway, and a lock held across ``BEGIN IMMEDIATE … COMMIT`` means a coroutine can never
read another coroutine's half-finished transaction. Statements take microseconds, so
serialising them costs less than the bookkeeping of a pool would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.inline import InlineConnection
from storage.schema import MIGRATIONS

log = logging.getLogger(__name__)
#: with checkpoints in the background, SQLite's own checkpoint only as a backstop (pages)
BACKSTOP_PAGES = 10_000


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
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
        conn: Any = (await aiosqlite.connect(path, isolation_level=None) if threaded
                     else await InlineConnection.connect(path))
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            # so that INSERT OR REPLACE's hidden delete fires the ledger's no-delete trigger
            await conn.execute("PRAGMA recursive_triggers=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
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

    async def _migrate(self) -> None:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = row[0] if row else 0
        for number, script in enumerate(MIGRATIONS, start=1):
            if number <= version:
                continue
            log.info("applying schema migration %d", number)
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version={number}")
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise

    @property
    def schema_version(self) -> int:
        return len(MIGRATIONS)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction: everything inside commits together or not at all."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

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

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads under the same lock, so they never see another coroutine's open write."""
        async with self._lock:
            yield self._conn


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
