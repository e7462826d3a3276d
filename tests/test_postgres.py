"""What is PostgreSQL's own: the ledger refused by triggers, the writer lock another
program holds, statement texts translated, values read back as SQLite gives them.

The rest of the suite runs on both backends (``storage_url`` in tests/conftest.py); these
tests issue SQL only PostgreSQL speaks, or hold its locks, so they take a database of
their own (``pg_url``, tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

import storage.pgconnect
from bot.domain.errors import DatabaseBusy, DatabaseUnreachable
from bot.wiring import Services
from storage import open_database
from storage.dialect import ddl_for_postgres, placeholders
from storage.postgres import WRITER_LOCK, PostgresDatabase
from tests.conftest import add_worker
from tests.state import ledger_count, ledger_entries

# -- the ledger is append-only ------------------------------------------------------------


@pytest.mark.parametrize("sql", [
    "UPDATE ledger SET amount = amount + 1",
    "UPDATE ledger SET key = key || 'x' WHERE id = 1",
    "DELETE FROM ledger",
    "DELETE FROM ledger WHERE id = 1",
    "TRUNCATE ledger",
    "INSERT INTO ledger (worker_id, currency, kind, bucket, amount, key, created_at)"
    " VALUES (1, 'USD', 'bonus', 'available', 5, 'bonus:b', 'now')"
    " ON CONFLICT (key) DO UPDATE SET amount = excluded.amount",
    "INSERT INTO ledger (worker_id, currency, kind, bucket, amount, key, created_at)"
    " VALUES (1, 'USD', 'bonus', 'available', 5, 'bonus:b', 'now')",
    "INSERT INTO ledger (id, worker_id, currency, kind, bucket, amount, key, created_at)"
    " VALUES (1, 1, 'USD', 'bonus', 'available', 5, 'other', 'now')",
])
async def test_the_database_refuses_to_change_an_entry(pg_services: Services, pg_url: str,
                                                       sql: str) -> None:
    await add_worker(pg_services, 1)
    await pg_services.payroll.bonus(1, 1_000, "USD", "x", "b")
    before = ledger_entries(pg_services.db)
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        async with pg_services.db.transaction() as conn:
            await conn.execute(sql)
    assert ledger_entries(pg_services.db) == before
    # a plain connection (an operator's psql) is refused the same way
    with psycopg.connect(pg_url) as plain, \
            pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        plain.execute(sql)
    assert ledger_entries(pg_services.db) == before
    assert ledger_count(pg_services.db) == 1


# -- one writer at a time -----------------------------------------------------------------


async def test_a_transaction_waits_for_the_writer_lock_within_its_bound(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.pgconnect, "LOCK_WAIT", 0.3)
    db = await PostgresDatabase.open(pg_url)
    other = await psycopg.AsyncConnection.connect(pg_url, autocommit=True)
    try:
        # another process's transaction holds the writer lock
        await other.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        with pytest.raises(DatabaseBusy):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO workers (id, created_at, last_seen_at)"
                                   " VALUES (1, 'x', 'x')")
        # reads need no lock
        async with db.read() as conn, conn.execute("SELECT count(*) FROM workers") as cur:
            assert (await cur.fetchone() or [None])[0] == 0
        # let go while the bot waits: the transaction goes through, once
        release = asyncio.get_running_loop().call_later(0.1, lambda: asyncio.ensure_future(
            other.execute("COMMIT")))
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO workers (id, created_at, last_seen_at)"
                               " VALUES (1, 'x', 'x')")
        release.cancel()
        async with db.read() as conn, conn.execute("SELECT count(*) FROM workers") as cur:
            assert (await cur.fetchone() or [None])[0] == 1
    finally:
        await other.close()
        await db.close()


async def test_writers_in_two_processes_never_interleave(pg_url: str) -> None:
    """Two pools (two processes' worth) read a counter then write it back plus one, as
    the services' read-then-write steps do: under the writer lock no increment is lost."""
    first, second = await PostgresDatabase.open(pg_url), await PostgresDatabase.open(pg_url)
    try:
        async with first.transaction() as conn:
            await conn.execute("INSERT INTO workers (id, created_at, last_seen_at, quiet_start)"
                               " VALUES (1, 'x', 'x', 0)")

        async def bump(db: PostgresDatabase) -> None:
            async with db.transaction() as conn:
                async with conn.execute("SELECT quiet_start FROM workers WHERE id = 1") as cur:
                    row = await cur.fetchone()
                assert row is not None
                await asyncio.sleep(0)
                await conn.execute("UPDATE workers SET quiet_start = ? WHERE id = 1",
                                   (row[0] + 1,))

        await asyncio.gather(*(bump(db) for db in [first, second] * 20))
        async with first.read() as conn, \
                conn.execute("SELECT quiet_start FROM workers WHERE id = 1") as cur:
            assert (await cur.fetchone() or [None])[0] == 40
    finally:
        await first.close()
        await second.close()


# -- the statements, translated -----------------------------------------------------------


def test_placeholders_are_translated_outside_quotes_and_comments() -> None:
    assert placeholders("SELECT ? , :name, '?', ':x', 5 % 2, a::text -- ? :y\n") == (
        "SELECT %s , %(name)s, '?', ':x', 5 %% 2, a::text -- ? :y\n", True)
    assert placeholders("SELECT 'it''s ?' || ?") == ("SELECT 'it''s ?' || %s", True)
    assert placeholders("SELECT 1") == ("SELECT 1", False)


def test_sqlite_column_types_become_postgresql_ones() -> None:
    ddl = ddl_for_postgres("CREATE TABLE t (\n id INTEGER PRIMARY KEY, -- the TEXT here\n"
                           " text TEXT NOT NULL, n INTEGER, r REAL, b BLOB\n) WITHOUT ROWID;")
    assert ddl == ("CREATE TABLE t (\n id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                   " \n text TEXT COLLATE \"C\" NOT NULL, n BIGINT, r DOUBLE PRECISION,"
                   " b BYTEA\n);")


async def test_sums_and_rows_read_back_as_sqlite_gives_them(pg_url: str) -> None:
    db = await open_database(pg_url)
    try:
        async with db.read() as conn, conn.execute(
            "SELECT sum(x) AS total, avg(x % 4), ? AS s FROM (VALUES (CAST(2 AS BIGINT)),"
            " (9223372036854775807)) AS v(x)", ("text",)) as cur:
            row = await cur.fetchone()
        assert row is not None
        total, mean, text = row
        assert total == 2 + 9223372036854775807 and type(total) is int  # exact, no Decimal
        assert mean == 2.5 and type(mean) is float
        assert row["total"] == total and row[2] == text == "text"
        async with db.transaction() as conn:
            with pytest.raises(OverflowError):
                await conn.execute("INSERT INTO workers (id, created_at, last_seen_at)"
                                   " VALUES (?, 'x', 'x')", (2**63,))
    finally:
        await db.close()


async def test_an_unreachable_server_is_one_clear_line() -> None:
    url = "postgresql://tapwork:secret@127.0.0.1:1/nowhere"
    with pytest.raises(DatabaseUnreachable) as caught:
        await open_database(url)
    line = str(caught.value)
    assert line.startswith("cannot open the PostgreSQL database "
                           "postgresql://tapwork:***@127.0.0.1:1/nowhere: ")
    assert "secret" not in line and "\n" not in line


# -- the README's role for the bot --------------------------------------------------------


def _readme_role_sql() -> str:
    """The SQL block the README gives for a bot role that cannot change ledger entries,
    read from the README itself so the two cannot drift apart."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("cannot change entries at all:", 1)[1]
    return block.split("```sql", 1)[1].split("```", 1)[0]


async def test_the_readmes_ledger_role_adds_entries_but_never_changes_them(
        pg_services: Services, pg_url: str) -> None:
    await add_worker(pg_services, 1)
    role = f"tapwork_app_{secrets.token_hex(4)}"
    database = urlsplit(pg_url).path.lstrip("/")
    text = (_readme_role_sql().replace("tapwork_app", role)
            .replace("DATABASE tapwork ", f'DATABASE "{database}" ')
            .replace(" PASSWORD '…'", ""))
    with psycopg.connect(pg_url, autocommit=True) as admin:
        for statement in filter(str.strip, text.split(";")):
            admin.execute(statement.encode())
        try:
            with psycopg.connect(pg_url, user=role, autocommit=True) as app:
                app.execute("INSERT INTO ledger (worker_id, currency, kind, bucket, amount,"
                            " key, created_at) VALUES (1, 'USD', 'bonus', 'available', 5,"
                            " 'bonus:role', 'now')")
                app.execute("UPDATE workers SET first_name = 'Ann' WHERE id = 1")
                for sql in ("UPDATE ledger SET amount = 0", "DELETE FROM ledger",
                            "TRUNCATE ledger"):
                    with pytest.raises(psycopg.errors.InsufficientPrivilege):
                        app.execute(sql)
        finally:
            admin.execute(f"DROP OWNED BY {role}".encode())
            admin.execute(f"DROP ROLE {role}".encode())
    assert [e.key for e in ledger_entries(pg_services.db)] == ["bonus:role"]
