"""Quiz attempts and their questions; the qualification pool is items with ``quiz = 1``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.connection import Connection, Row


@dataclass(frozen=True)
class Attempt:
    id: int
    worker_id: int
    project_id: int
    phase: str      # training | exam
    status: str     # open | done | abandoned


@dataclass(frozen=True)
class Question:
    position: int
    item_id: int
    answer: str | None
    correct: bool | None


async def pool(conn: Connection, project_id: int, langs: Sequence[str]
               ) -> list[int]:
    """The quiz questions a reader of ``langs`` can answer ('' among them: no reading)."""
    marks = ",".join("?" * len(langs))
    async with conn.execute(
        f"SELECT id FROM items WHERE project_id = ? AND quiz = 1 AND gold IS NOT NULL"
        f" AND lang IN ({marks}) ORDER BY id", (project_id, *langs)) as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def pool_size(conn: Connection, project_id: int, langs: Sequence[str]) -> int:
    marks = ",".join("?" * len(langs))
    async with conn.execute(
        f"SELECT count(*) FROM items WHERE project_id = ? AND quiz = 1 AND gold IS NOT NULL"
        f" AND lang IN ({marks})", (project_id, *langs)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


def _attempt(row: Row) -> Attempt:
    return Attempt(int(row[0]), int(row[1]), int(row[2]), str(row[3]), str(row[4]))


async def open_attempt(conn: Connection, worker_id: int, project_id: int
                       ) -> Attempt | None:
    async with conn.execute(
        "SELECT id, worker_id, project_id, phase, status FROM quiz_attempts"
        " WHERE worker_id = ? AND project_id = ? AND status = 'open'",
        (worker_id, project_id)) as cur:
        row = await cur.fetchone()
    return _attempt(row) if row else None


async def get_attempt(conn: Connection, attempt_id: int) -> Attempt | None:
    async with conn.execute(
        "SELECT id, worker_id, project_id, phase, status FROM quiz_attempts WHERE id = ?",
        (attempt_id,)) as cur:
        row = await cur.fetchone()
    return _attempt(row) if row else None


async def create_attempt(conn: Connection, worker_id: int, project_id: int,
                         phase: str, item_ids: Sequence[int], now: str) -> int:
    async with conn.execute(
        "INSERT INTO quiz_attempts (worker_id, project_id, phase, status, started_at)"
        " VALUES (?, ?, ?, 'open', ?) RETURNING id", (worker_id, project_id, phase, now)
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    attempt_id = int(row[0])
    await conn.executemany(
        "INSERT INTO quiz_questions (attempt_id, position, item_id) VALUES (?, ?, ?)",
        [(attempt_id, position, item_id) for position, item_id in enumerate(item_ids)])
    return attempt_id


async def questions(conn: Connection, attempt_id: int) -> list[Question]:
    async with conn.execute(
        "SELECT position, item_id, answer, correct FROM quiz_questions WHERE attempt_id = ?"
        " ORDER BY position", (attempt_id,)) as cur:
        return [Question(int(r[0]), int(r[1]), r[2], None if r[3] is None else bool(r[3]))
                for r in await cur.fetchall()]


async def answer(conn: Connection, attempt_id: int, position: int, value: str,
                 correct: bool, now: str, message_id: int | None = None) -> bool:
    """Record once; a second tap on the same question changes nothing."""
    cur = await conn.execute(
        "UPDATE quiz_questions SET answer = ?, correct = ?, answered_at = ?, message_id = ?"
        " WHERE attempt_id = ? AND position = ? AND answer IS NULL",
        (value, int(correct), now, message_id, attempt_id, position))
    return cur.rowcount == 1


async def typed_answer_seen(conn: Connection, attempt_id: int,
                            message_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM quiz_questions WHERE attempt_id = ? AND message_id = ?",
        (attempt_id, message_id)) as cur:
        return await cur.fetchone() is not None


async def drop_unasked(conn: Connection, attempt_id: int) -> None:
    """Forget the questions drawn for an attempt that ended before they were asked."""
    await conn.execute("DELETE FROM quiz_questions WHERE attempt_id = ? AND answer IS NULL",
                       (attempt_id,))


async def to_practice(conn: Connection, attempt_id: int, most: int) -> None:
    """Turn an exam attempt into the practice round (its first question was missed by a
    worker who has not practised), keeping at most ``most`` questions."""
    await conn.execute("UPDATE quiz_attempts SET phase = 'training' WHERE id = ?",
                       (attempt_id,))
    await conn.execute("DELETE FROM quiz_questions WHERE attempt_id = ? AND position >= ?"
                       " AND answer IS NULL", (attempt_id, most))


async def finish(conn: Connection, attempt_id: int, status: str, now: str) -> None:
    await conn.execute(
        "UPDATE quiz_attempts SET status = ?, finished_at = ? WHERE id = ? AND status = 'open'",
        (status, now, attempt_id))


async def open_typed_question(conn: Connection, worker_id: int
                              ) -> tuple[int, int] | None:
    """(attempt, next position) of the worker's open quiz on a transcription project."""
    async with conn.execute(
        """
        SELECT a.id, min(q.position) FROM quiz_attempts a
        JOIN projects p ON p.id = a.project_id AND p.kind = 'transcription'
        JOIN quiz_questions q ON q.attempt_id = a.id AND q.answer IS NULL
        WHERE a.worker_id = ? AND a.status = 'open' GROUP BY a.id
        """, (worker_id,)) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] is not None else None
