"""The operator dashboard's tables: single-use sign-in links and operators' actions.

Only a link's hash is stored (the token itself lives in the operator's chat and nowhere
else). Redeeming is one conditional UPDATE, so two browsers opening the same link at
once cannot both sign in. Plain SQL that PostgreSQL reads as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.connection import Connection


@dataclass(frozen=True)
class Link:
    operator_id: int
    expires_at: str
    used_at: str | None


async def add_link(conn: Connection, token_hash: str, operator_id: int, now: str,
                   expires_at: str) -> None:
    await conn.execute(
        "INSERT INTO dashboard_links (token_hash, operator_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)", (token_hash, operator_id, now, expires_at))


async def forget_links(conn: Connection, before: str) -> int:
    """Links that expired before ``before``: nothing can be done with them any more."""
    cur = await conn.execute("DELETE FROM dashboard_links WHERE expires_at < ?", (before,))
    return cur.rowcount


async def link(conn: Connection, token_hash: str) -> Link | None:
    async with conn.execute(
            "SELECT operator_id, expires_at, used_at FROM dashboard_links"
            " WHERE token_hash = ?", (token_hash,)) as cur:
        row = await cur.fetchone()
    return Link(int(row[0]), str(row[1]), row[2]) if row else None


async def use_link(conn: Connection, token_hash: str, now: str) -> bool:
    """Mark the link used if it was not and has not expired; True when this call did."""
    cur = await conn.execute(
        "UPDATE dashboard_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
        " AND expires_at > ?", (now, token_hash, now))
    return cur.rowcount == 1


async def add_action(conn: Connection, action_id: str, operator_id: int, action: str,
                     worker_id: int, project_id: int, reason: str, now: str) -> None:
    await conn.execute(
        "INSERT INTO operator_actions (id, operator_id, action, worker_id, project_id,"
        " reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (action_id, operator_id, action, worker_id, project_id, reason, now))


async def last_actions(conn: Connection, project_id: int
                       ) -> dict[tuple[int, str], tuple[str, int, str]]:
    """Per worker of a project and action: the latest (reason, operator, when)."""
    async with conn.execute(
            "SELECT worker_id, action, reason, operator_id, created_at FROM operator_actions"
            " WHERE project_id = ? ORDER BY worker_id, created_at, id",
            (project_id,)) as cur:
        rows = await cur.fetchall()
    return {(int(r[0]), str(r[1])): (str(r[2]), int(r[3]), str(r[4])) for r in rows}
