"""Token buckets shared by every replica: one row per bucket name.

The row is read and written back inside the caller's write transaction (which the
backend serialises: SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock), and the
refill is computed in Python (``bot/domain/bucket.py``) with integers, so the statements
stay plain and portable.
"""

from __future__ import annotations

from storage.connection import Connection


async def read(conn: Connection, name: str) -> tuple[int, int] | None:
    """(tokens in millionths, updated at in microseconds), or None for a new bucket."""
    async with conn.execute("SELECT tokens, updated_us FROM rate_buckets WHERE name = ?",
                            (name,)) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else None


async def write(conn: Connection, name: str, tokens: int, updated_us: int) -> None:
    await conn.execute(
        "INSERT INTO rate_buckets (name, tokens, updated_us) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET tokens = excluded.tokens,"
        " updated_us = excluded.updated_us", (name, tokens, updated_us))


async def forget(conn: Connection, name: str) -> None:
    """Remove a bucket no longer needed (a finished broadcast's)."""
    await conn.execute("DELETE FROM rate_buckets WHERE name = ?", (name,))
