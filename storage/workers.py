"""Workers: the people who answer tasks, keyed by their Telegram user id."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class WorkerRow:
    id: int
    first_name: str
    language: str
    consent_at: str | None
    active: bool
    created_at: str
    display_name: str | None = None


def _row(row: aiosqlite.Row) -> WorkerRow:
    return WorkerRow(row["id"], row["first_name"], row["language"], row["consent_at"],
                     bool(row["active"]), row["created_at"], row["display_name"])


async def upsert_seen(conn: aiosqlite.Connection, worker_id: int, first_name: str,
                      language: str, now: str) -> WorkerRow:
    """Record a visit. Writing to the bot again makes a blocked worker active again."""
    async with conn.execute(
        """
        INSERT INTO workers (id, first_name, language, created_at, last_seen_at)
        VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name,
            last_seen_at = excluded.last_seen_at, active = 1
        RETURNING *
        """,
        (worker_id, first_name, language, now, now),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _row(row)


async def get(conn: aiosqlite.Connection, worker_id: int) -> WorkerRow | None:
    async with conn.execute("SELECT * FROM workers WHERE id = ?", (worker_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def set_consent(conn: aiosqlite.Connection, worker_id: int, now: str) -> bool:
    """True when this call gave consent (False when it had been given already)."""
    cur = await conn.execute(
        "UPDATE workers SET consent_at = ? WHERE id = ? AND consent_at IS NULL",
        (now, worker_id))
    return cur.rowcount == 1


async def set_language(conn: aiosqlite.Connection, worker_id: int, language: str) -> None:
    await conn.execute("UPDATE workers SET language = ? WHERE id = ?", (language, worker_id))


async def set_active(conn: aiosqlite.Connection, worker_id: int, active: bool) -> bool:
    cur = await conn.execute("UPDATE workers SET active = ? WHERE id = ? AND active != ?",
                             (int(active), worker_id, int(active)))
    return cur.rowcount == 1


async def set_display_name(conn: aiosqlite.Connection, worker_id: int,
                           name: str | None) -> None:
    await conn.execute("UPDATE workers SET display_name = ? WHERE id = ?", (name, worker_id))
