"""Messages for workers, queued in the database and sent by the running bot.

A CLI command (a bonus, a payout decision) or a job (settlement) decides something a
worker must hear; the decision and its message are written in one transaction, and the
bot sends it later. Nothing exists only in memory, so a restart loses no message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite


@dataclass(frozen=True)
class Notice:
    id: int
    worker_id: int
    kind: str
    payload: dict[str, Any]


async def put(conn: aiosqlite.Connection, worker_id: int, kind: str, payload: dict[str, Any],
              key: str, now: str, not_before: str | None = None) -> bool:
    """Queue once per key; ``not_before`` holds it (quiet hours)."""
    cur = await conn.execute(
        "INSERT INTO outbox (worker_id, kind, payload, key, created_at, not_before)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (worker_id, kind, json.dumps(payload, ensure_ascii=False), key, now,
         not_before or now))
    return cur.rowcount == 1


async def due(conn: aiosqlite.Connection, now: str, limit: int = 50) -> list[Notice]:
    async with conn.execute(
        # in outbox_due's order: ORDER BY id alone made SQLite walk every notice ever sent
        "SELECT id, worker_id, kind, payload FROM outbox WHERE sent_at IS NULL"
        " AND not_before <= ? ORDER BY not_before, id LIMIT ?", (now, limit)) as cur:
        return [Notice(int(r[0]), int(r[1]), str(r[2]), json.loads(r[3]))
                for r in await cur.fetchall()]


async def sent(conn: aiosqlite.Connection, notice_id: int, now: str) -> None:
    await conn.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (now, notice_id))


async def retry_later(conn: aiosqlite.Connection, notice_id: int, not_before: str) -> int:
    """Count a failed try and hold the notice; returns the tries so far."""
    async with conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, not_before = ? WHERE id = ?"
        " RETURNING attempts", (not_before, notice_id)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def postpone(conn: aiosqlite.Connection, notice_id: int, not_before: str) -> None:
    await conn.execute("UPDATE outbox SET not_before = ? WHERE id = ?",
                       (not_before, notice_id))
