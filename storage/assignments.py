"""Assignments: one item leased to one worker, then answered, skipped or expired.

The answer lives on the assignment row, and every change is a conditional ``UPDATE … WHERE
status = 'open'``: a double tap or a replayed update finds nothing to change, which is how
answers are recorded exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.connection import Connection, Row


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    item_id: int
    worker_id: int
    project_id: int
    status: str
    created_at: str
    expires_at: str
    delivered_at: str | None
    chat_id: int | None
    message_id: int | None
    answer: str | None


def _row(r: Row) -> AssignmentRow:
    return AssignmentRow(r["id"], r["item_id"], r["worker_id"], r["project_id"], r["status"],
                         r["created_at"], r["expires_at"], r["delivered_at"], r["chat_id"],
                         r["message_id"], r["answer"])


async def get(conn: Connection, assignment_id: int) -> AssignmentRow | None:
    async with conn.execute("SELECT * FROM assignments WHERE id = ?", (assignment_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def open_for_worker(conn: Connection, worker_id: int) -> AssignmentRow | None:
    async with conn.execute("SELECT * FROM assignments WHERE worker_id = ? AND status = 'open'",
                            (worker_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def create(conn: Connection, item_id: int, worker_id: int, project_id: int,
                 now: str, expires_at: str, shown_in: tuple[int, int] | None = None
                 ) -> AssignmentRow:
    """A new open lease. ``shown_in`` (chat, message) records it as delivered at once: the
    message that showed the answered task is about to be edited into this one."""
    chat_id, message_id = shown_in or (None, None)
    async with conn.execute(
        "INSERT INTO assignments (item_id, worker_id, project_id, status, created_at,"
        " expires_at, chat_id, message_id, delivered_at)"
        " VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?) RETURNING *",
        (item_id, worker_id, project_id, now, expires_at, chat_id, message_id,
         now if shown_in else None)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _row(row)


async def record_answer(conn: Connection, assignment_id: int, worker_id: int,
                        answer: str, now: str, answer_message_id: int | None,
                        seconds: float, gold_correct: bool | None, too_fast: bool) -> bool:
    """Close an open, unexpired assignment of this worker with its answer and the checks
    made on it.

    False (and nothing changed) for someone else's, a closed, or an expired one.
    """
    cur = await conn.execute(
        """
        UPDATE assignments SET status = 'answered', answer = ?, answered_at = ?,
            answer_message_id = ?, seconds = ?, gold_correct = ?, too_fast = ?
        WHERE id = ? AND worker_id = ? AND status = 'open' AND expires_at > ?
        """, (answer, now, answer_message_id, seconds,
              None if gold_correct is None else int(gold_correct), int(too_fast),
              assignment_id, worker_id, now))
    return cur.rowcount == 1


async def close(conn: Connection, assignment_id: int, worker_id: int,
                status: str) -> bool:
    """Skip, release or expire an open assignment; False when it was not open."""
    cur = await conn.execute(
        "UPDATE assignments SET status = ? WHERE id = ? AND worker_id = ? AND status = 'open'",
        (status, assignment_id, worker_id))
    return cur.rowcount == 1


async def mark_delivered(conn: Connection, assignment_id: int, chat_id: int,
                         message_id: int, now: str) -> None:
    """Remember where the task was shown; the clock for answer time starts here."""
    await conn.execute(
        "UPDATE assignments SET chat_id = ?, message_id = ?,"
        " delivered_at = coalesce(delivered_at, ?) WHERE id = ? AND status = 'open'",
        (chat_id, message_id, now, assignment_id))


async def expired(conn: Connection, now: str, limit: int = 500
                  ) -> list[AssignmentRow]:
    async with conn.execute(
        "SELECT * FROM assignments WHERE status = 'open' AND expires_at <= ?"
        " ORDER BY expires_at LIMIT ?", (now, limit)) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def typed_answer_seen(conn: Connection, worker_id: int,
                            message_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM assignments WHERE worker_id = ? AND answer_message_id = ?",
        (worker_id, message_id)) as cur:
        return await cur.fetchone() is not None


async def answered_since(conn: Connection, worker_id: int, since: str) -> int:
    async with conn.execute(
        "SELECT count(*) FROM assignments WHERE worker_id = ? AND status = 'answered'"
        " AND answered_at >= ?", (worker_id, since)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def last_project(conn: Connection, worker_id: int) -> int | None:
    async with conn.execute(
        "SELECT project_id FROM assignments WHERE worker_id = ? ORDER BY id DESC LIMIT 1",
        (worker_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else None
