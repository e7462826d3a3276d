"""Payout requests: the money is reserved in the ledger the moment one is made."""

from __future__ import annotations

from bot.domain.records import Payout
from storage.connection import Connection, Row


def _payout(r: Row) -> Payout:
    return Payout(r["id"], r["worker_id"], r["currency"], r["amount"], r["status"],
                  r["reason"], r["requested_at"], r["decided_at"])


async def create(conn: Connection, worker_id: int, currency: str, amount: int,
                 key: str, now: str) -> tuple[Payout, bool]:
    """The request for this key: a new one, or the one a repeated tap already made."""
    async with conn.execute("SELECT * FROM payouts WHERE request_key = ?", (key,)) as cur:
        row = await cur.fetchone()
    if row is not None:
        return _payout(row), False
    async with conn.execute(
        "INSERT INTO payouts (worker_id, currency, amount, status, requested_at, request_key)"
        " VALUES (?, ?, ?, 'requested', ?, ?) RETURNING *",
        (worker_id, currency, amount, now, key)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _payout(row), True


async def by_key_prefix(conn: Connection, prefix: str) -> list[Payout]:
    """Requests made by one tap (one key, one request per currency)."""
    async with conn.execute(
        "SELECT * FROM payouts WHERE substr(request_key, 1, ?) = ? ORDER BY id",
        (len(prefix), prefix)) as cur:
        return [_payout(r) for r in await cur.fetchall()]


async def get(conn: Connection, payout_id: int) -> Payout | None:
    async with conn.execute("SELECT * FROM payouts WHERE id = ?", (payout_id,)) as cur:
        row = await cur.fetchone()
    return _payout(row) if row else None


async def listing(conn: Connection, status: str | None = None) -> list[Payout]:
    where, args = ("WHERE status = ?", (status,)) if status else ("", ())
    async with conn.execute(f"SELECT * FROM payouts {where} ORDER BY id", args) as cur:
        return [_payout(r) for r in await cur.fetchall()]


async def decide(conn: Connection, payout_id: int, status: str,
                 reason: str | None, now: str) -> bool:
    cur = await conn.execute(
        "UPDATE payouts SET status = ?, reason = ?, decided_at = ?"
        " WHERE id = ? AND status = 'requested'", (status, reason, now, payout_id))
    return cur.rowcount == 1
