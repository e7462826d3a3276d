"""The SQLite database: one connection, one writer at a time, migrations by ``user_version``.

Why one connection behind one lock: aiosqlite runs every statement on a single thread
anyway, and a lock held across ``BEGIN IMMEDIATE … COMMIT`` means a coroutine can never
read another coroutine's half-finished transaction. Statements take microseconds, so
serialising them costs less than the bookkeeping of a pool would.
"""

from __future__ import annotations

import asyncio
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


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

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
        async with self._lock:
            await self._conn.close()

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
