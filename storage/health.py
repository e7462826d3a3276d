"""What ``/healthz`` and ``/metrics`` read: one trivial statement, and queue depths.

Each count walks a partial or leading index that holds only the rows still waiting
(``leases_by_expiry``, ``outbox_due``, ``broadcast_queue``), so a scrape costs a few
index entries per open lease or waiting message, never a scan of the history.
"""

from __future__ import annotations

from storage.connection import Connection


async def ping(conn: Connection) -> None:
    async with conn.execute("SELECT 1") as cur:
        await cur.fetchone()


async def _count(conn: Connection, sql: str) -> int:
    async with conn.execute(sql) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def depths(conn: Connection) -> dict[str, int]:
    """Open leases, notices waiting and on the wire, broadcast recipients left."""
    return dict(
        open_leases=await _count(
            # the range on expires_at walks leases_by_expiry (open leases only), not
            # an index over every assignment ever made
            conn, "SELECT count(*) FROM assignments WHERE status = 'open'"
                  " AND expires_at > ''"),
        outbox_waiting=await _count(
            conn, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND claim IS NULL"),
        outbox_in_flight=await _count(
            conn, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
                  " AND claim IS NOT NULL"),
        broadcast_pending=await _count(
            conn, "SELECT count(*) FROM broadcasts b JOIN broadcast_targets t"
                  " ON t.broadcast_id = b.id WHERE b.status = 'sending'"
                  " AND t.status IN ('pending', 'sending')"))
