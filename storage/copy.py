"""``tapwork db copy``: a SQLite database into an empty PostgreSQL one, checked after.

Table by table, parents before children (foreign keys hold at every row), each in its
primary key's order, read with one cursor and written with COPY in batches (memory is
one batch, however big the file). All of it is one PostgreSQL transaction: a copy that
fails or does not check out leaves the target as empty as it was. Identity sequences
are moved past the copied ids, so the next row PostgreSQL numbers does not collide.

The check, before COMMIT: every table has as many rows on both sides, and every
worker's ledger sums per currency and bucket are equal (``storage.ledger.balances``,
run on each backend by its own SQL).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.domain.errors import TapworkError
from storage import ledger, pgside
from storage.inline import InlineConnection
from storage.pgconnect import redacted
from storage.postgres import WRITER_LOCK
from storage.schema import MIGRATIONS

#: the tables in an order where every row's parents are copied before it; a table a
#: later migration adds (and this list does not name) is copied after these
ORDER = ("workers", "projects", "media", "items", "units", "assignments",
         "qualifications", "quiz_attempts", "quiz_questions", "ledger", "payouts",
         "outbox", "broadcasts", "broadcast_targets", "project_notices",
         "project_events", "imports", "import_media", "import_items")
BATCH = 5_000


class CopyRefused(TapworkError):
    """The copy did not start, or did not check out (then nothing was kept)."""


@dataclass(frozen=True)
class Copied:
    #: (table, rows) in the order copied
    tables: tuple[tuple[str, int], ...]
    #: (worker, currency, bucket) balances found equal on both sides
    balances: int


def _tables(src: sqlite3.Connection) -> list[str]:
    names = {str(r[0]) for r in src.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    return [t for t in ORDER if t in names] + sorted(names - set(ORDER))


def _key(src: sqlite3.Connection, table: str) -> list[str]:
    """The primary key's columns, in key order (``id`` for most tables)."""
    info = src.execute(f'PRAGMA table_info("{table}")').fetchall()
    key = sorted((int(r[5]), str(r[1])) for r in info if int(r[5]) > 0)
    return [name for _, name in key] or ["rowid"]


def _columns(src: sqlite3.Connection, table: str) -> list[str]:
    return [str(r[1]) for r in src.execute(f'PRAGMA table_info("{table}")').fetchall()]


def _check_target(dst: pgside.SideConnection, tables: list[str], url: str) -> None:
    present = {str(r[0]) for r in dst.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema()")}
    for table in tables:
        if table not in present:
            raise CopyRefused("the PostgreSQL database {url} has no table {table}: its "
                              "schema is not this version's", url=redacted(url), table=table)
        if dst.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            raise CopyRefused("the PostgreSQL database {url} is not empty ({table} has "
                              "rows); copy into an empty database", url=redacted(url),
                              table=table)


def _copy_table(src: sqlite3.Connection, dst: pgside.SideConnection, table: str,
                batch: int) -> int:
    columns = _columns(src, table)
    order = ", ".join(_key(src, table))
    cur = src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
    copied = 0
    while rows := cur.fetchmany(batch):
        dst.copy_rows(table, columns, rows)
        copied += len(rows)
    return copied


def _reset_identities(dst: pgside.SideConnection) -> None:
    for table, column in dst.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
        dst.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                    f" coalesce((SELECT max({column}) FROM {table}), 1),"
                    f" (SELECT max({column}) FROM {table}) IS NOT NULL)")


def _count(conn: sqlite3.Connection | pgside.SideConnection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _verify(src: sqlite3.Connection, dst: pgside.SideConnection,
            copied: list[tuple[str, int]]) -> int:
    for table, rows in copied:
        source, target = _count(src, table), _count(dst, table)
        if not source == target == rows:
            raise CopyRefused("the copy does not check out: {table} has {source} rows in "
                              "SQLite and {target} in PostgreSQL; nothing was kept",
                              table=table, source=source, target=target)
    before = asyncio.run(ledger.balances(InlineConnection(src)))
    after = asyncio.run(ledger.balances(pgside.InlineSide(dst)))
    if before != after:
        differ = sorted(set(before.items()) ^ set(after.items()))[0][0]
        raise CopyRefused("the copy does not check out: the ledger sums of worker "
                          "{worker} in {currency}, {bucket}, differ; nothing was kept",
                          worker=differ[0], currency=differ[1], bucket=differ[2])
    return len(before)


def copy_database(sqlite_path: str, url: str, *, batch: int = BATCH,
                  progress: Callable[[str, int], None] | None = None) -> Copied:
    """Copy the (migrated) SQLite file into the (migrated, empty) PostgreSQL database.
    Blocking."""
    src = sqlite3.connect(f"{Path(sqlite_path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        version = int(src.execute("PRAGMA user_version").fetchone()[0])
        if version != len(MIGRATIONS):
            raise CopyRefused("{path} is at schema version {version}, this tapwork at "
                              "{latest}: open it with this version first", path=sqlite_path,
                              version=version, latest=len(MIGRATIONS))
        dst = pgside.connect(url, read_only=False)
        try:
            return _copy(src, dst, url, batch, progress)
        finally:
            dst.close()
    finally:
        src.close()


def _copy(src: sqlite3.Connection, dst: pgside.SideConnection, url: str, batch: int,
          progress: Callable[[str, int], None] | None) -> Copied:
    tables = _tables(src)
    _check_target(dst, tables, url)
    # the writer lock: no tapwork process writes while the copy runs
    dst.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
    try:
        copied = []
        for table in tables:
            copied.append((table, _copy_table(src, dst, table, batch)))
            if progress is not None:
                progress(table, copied[-1][1])
        _reset_identities(dst)
        balances = _verify(src, dst, copied)
    except BaseException:
        dst.execute("ROLLBACK")
        raise
    dst.execute("COMMIT")
    return Copied(tuple(copied), balances)
