"""The database wrapper against real SQLite files: transactions and background checkpoints."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from storage.db import Database
from tests.waiting import eventually


def _rows_in_main_file(path: Path) -> int:
    """What the database file itself holds, ignoring the write-ahead log: ``immutable``
    makes SQLite read the file as it is on disk."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])
        except sqlite3.OperationalError:  # not even the table has reached the file yet
            return -1


async def _make_notes(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")


@pytest.mark.parametrize("threaded", [False, True])
async def test_checkpoints_copy_the_log_into_the_file_in_the_background(
        tmp_path: Path, threaded: bool) -> None:
    path = tmp_path / "t.db"
    db = await Database.open(path, threaded=threaded)
    try:
        await _make_notes(db)
        await db.checkpoint_in_background(every=0.02)
        async with db.read() as conn, conn.execute("PRAGMA wal_autocheckpoint") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] > 1000  # SQLite's own only as a backstop
        async with db.transaction() as conn:
            await conn.executemany("INSERT INTO notes (body) VALUES (?)",
                                   [(f"n{i}",) for i in range(50)])
        assert await eventually(lambda: _rows_in_main_file(path) == 50)
    finally:
        await db.close()


async def test_close_waits_for_the_checkpoint_thread(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    db = await Database.open(path)
    await _make_notes(db)
    await db.checkpoint_in_background(every=0.01)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes (body) VALUES ('kept')")
    await asyncio.sleep(0.03)  # a round may be running on its thread right now
    await db.close()
    assert db._checkpoints is not None and db._checkpoints.done()  # not left behind
    assert _rows_in_main_file(path) == 1
    assert not (tmp_path / "t.db-wal").exists() or (tmp_path / "t.db-wal").stat().st_size == 0


async def test_a_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.db")
    try:
        await _make_notes(db)
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO notes (body) VALUES ('half')")
                raise RuntimeError("crash mid-write")
        async with db.read() as conn, conn.execute("SELECT count(*) FROM notes") as cur:
            row = await cur.fetchone()
        assert row is not None and row[0] == 0
    finally:
        await db.close()
