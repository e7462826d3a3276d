"""Telegram updates claimed by one replica before it handles them (webhook mode).

Why in the database: behind a load balancer any replica may get any update, and Telegram
delivers one again when its first delivery got no 2xx in time. The unique insert on
``update_id`` decides who handles it; ``done_at`` tells a duplicate of a finished update
(answered 200, not handled) from one still in hand elsewhere. Portable SQL: the insert
uses ``ON CONFLICT … DO NOTHING``, the re-claim one conditional ``UPDATE``.
"""

from __future__ import annotations

from storage.connection import Connection

#: what ``claim`` found: this replica has it now, another finished it, another has it
CLAIMED, DONE, BUSY = "claimed", "done", "busy"


async def claim(conn: Connection, update_id: int, token: str, now: str,
                stale_before: str) -> str:
    """Claim ``update_id`` for ``token``: a new update, or one whose claim was taken
    before ``stale_before`` and never finished (its replica died mid-way)."""
    cur = await conn.execute(
        "INSERT INTO update_claims (update_id, claim, claimed_at) VALUES (?, ?, ?)"
        " ON CONFLICT (update_id) DO NOTHING", (update_id, token, now))
    if cur.rowcount == 1:
        return CLAIMED
    cur = await conn.execute(
        "UPDATE update_claims SET claim = ?, claimed_at = ? WHERE update_id = ?"
        " AND done_at IS NULL AND claimed_at < ?", (token, now, update_id, stale_before))
    if cur.rowcount == 1:
        return CLAIMED
    async with conn.execute("SELECT done_at FROM update_claims WHERE update_id = ?",
                            (update_id,)) as found:
        row = await found.fetchone()
    return DONE if row is not None and row[0] is not None else BUSY


async def finish(conn: Connection, update_id: int, token: str, now: str) -> bool:
    """Handled: later deliveries are answered without handling. False when the claim
    was taken over meanwhile (this replica was presumed dead)."""
    cur = await conn.execute(
        "UPDATE update_claims SET done_at = ? WHERE update_id = ? AND claim = ?",
        (now, update_id, token))
    return cur.rowcount == 1


async def prune(conn: Connection, before: str) -> int:
    """Forget claims taken before ``before`` (Telegram stops retrying long before)."""
    cur = await conn.execute("DELETE FROM update_claims WHERE claimed_at < ?", (before,))
    return cur.rowcount
