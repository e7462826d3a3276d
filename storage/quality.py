"""Qualifications, gold answers, too-fast flags and each item's live estimate."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.records import Qualification
from storage.connection import Connection


async def qualification(conn: Connection, worker_id: int, project_id: int
                        ) -> Qualification | None:
    async with conn.execute(
        "SELECT worker_id, project_id, status, attempts, trained, retry_at, reason,"
        " checks_from, exam_answers, exam_right FROM qualifications"
        " WHERE worker_id = ? AND project_id = ?", (worker_id, project_id)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return Qualification(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7],
                         int(row[8]), int(row[9]))


async def save_qualification(conn: Connection, q: Qualification, now: str) -> None:
    await conn.execute(
        """
        INSERT INTO qualifications (worker_id, project_id, status, attempts, trained,
                                    retry_at, reason, checks_from, exam_answers,
                                    exam_right, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (worker_id, project_id) DO UPDATE SET status = excluded.status,
            attempts = excluded.attempts, trained = excluded.trained,
            retry_at = excluded.retry_at, reason = excluded.reason,
            checks_from = excluded.checks_from, exam_answers = excluded.exam_answers,
            exam_right = excluded.exam_right, updated_at = excluded.updated_at
        """, (q.worker_id, q.project_id, q.status, q.attempts, int(q.trained), q.retry_at,
              q.reason, q.checks_from, q.exam_answers, q.exam_right, now))


async def gold_stats(conn: Connection, worker_id: int, project_id: int,
                     since: str = "") -> tuple[int, int]:
    """(gold answers, right ones) of a worker in a project, answered since a moment."""
    async with conn.execute(
        "SELECT count(gold_correct), coalesce(sum(gold_correct), 0) FROM assignments"
        " WHERE project_id = ? AND worker_id = ? AND gold_correct IS NOT NULL"
        " AND answered_at >= ?", (project_id, worker_id, since)) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


async def skill_stats(conn: Connection, worker_id: int, project_id: int,
                      since: str = "") -> tuple[int, int]:
    """(answers, right ones) on which a worker's skill in a project is judged: their gold
    checks answered since a moment, and the exam they passed, until a reinstatement starts
    their record afresh (``checks_from``)."""
    total, correct, exam, exam_right = await skill_record(conn, worker_id, project_id, since)
    return total + exam, correct + exam_right


async def skill_record(conn: Connection, worker_id: int, project_id: int,
                       since: str = "") -> tuple[int, int, int, int]:
    """``skill_stats`` with the gold checks and the exam apart: (gold answers since a
    moment, right ones, exam answers, right ones), the exam only until a reinstatement."""
    total, correct = await gold_stats(conn, worker_id, project_id, since)
    async with conn.execute(
        "SELECT exam_answers, exam_right FROM qualifications"
        " WHERE worker_id = ? AND project_id = ? AND checks_from IS NULL",
        (worker_id, project_id)) as cur:
        row = await cur.fetchone()
    return (total, correct, int(row[0]), int(row[1])) if row else (total, correct, 0, 0)


async def answers_with_gold_stats(conn: Connection, item_id: int, project_id: int
                                  ) -> list[tuple[int, str, int, int, int, int]]:
    """An item's answers, each with its worker's record in the project (worker, answer,
    gold checks answered at work and the right ones, then the exam they passed and its
    right answers, as ``skill_stats`` counts them before any reinstatement): what the
    live estimate weighs, in one statement, because it runs on every answer."""
    async with conn.execute(
        """
        SELECT a.worker_id, a.answer,
               (SELECT count(g.gold_correct) FROM assignments g WHERE g.project_id = :p
                  AND g.worker_id = a.worker_id AND g.gold_correct IS NOT NULL),
               (SELECT coalesce(sum(g.gold_correct), 0) FROM assignments g
                  WHERE g.project_id = :p AND g.worker_id = a.worker_id
                  AND g.gold_correct IS NOT NULL),
               coalesce(q.exam_answers, 0), coalesce(q.exam_right, 0)
        FROM assignments a
        LEFT JOIN qualifications q ON q.worker_id = a.worker_id AND q.project_id = :p
             AND q.checks_from IS NULL
        WHERE a.item_id = :i AND a.status = 'answered' ORDER BY a.id
        """, {"p": project_id, "i": item_id}) as cur:
        return [(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
                for r in await cur.fetchall()]


async def recent_fast_flags(conn: Connection, worker_id: int, project_id: int,
                            limit: int, since: str = "") -> list[bool]:
    async with conn.execute(
        "SELECT too_fast FROM assignments WHERE worker_id = ? AND project_id = ?"
        " AND status = 'answered' AND answered_at >= ? ORDER BY answered_at DESC LIMIT ?",
        (worker_id, project_id, since, limit)) as cur:
        return [bool(r[0]) for r in await cur.fetchall()]


async def median_seconds(conn: Connection, project_id: int) -> tuple[float | None, int]:
    """The median answer time of a project and how many answers it rests on."""
    async with conn.execute(
        "SELECT count(*) FROM assignments WHERE project_id = ? AND status = 'answered'"
        " AND seconds IS NOT NULL", (project_id,)) as cur:
        row = await cur.fetchone()
    count = int(row[0]) if row else 0
    if not count:
        return None, 0
    async with conn.execute(
        "SELECT seconds FROM assignments WHERE project_id = ? AND status = 'answered'"
        " AND seconds IS NOT NULL ORDER BY seconds LIMIT 1 OFFSET ?",
        (project_id, count // 2)) as cur:
        row = await cur.fetchone()
    return (float(row[0]) if row else None), count


async def next_gold_for_worker(conn: Connection, project_id: int, worker_id: int,
                               langs: Sequence[str]) -> int | None:
    """A gold item in one of ``langs`` this worker has never been shown."""
    marks = ",".join("?" * len(langs))
    async with conn.execute(
        f"""
        SELECT i.id FROM items i
        WHERE i.project_id = ? AND i.lang IN ({marks}) AND i.gold IS NOT NULL AND i.quiz = 0
          AND NOT EXISTS (SELECT 1 FROM assignments a
                          WHERE a.item_id = i.id AND a.worker_id = ?)
        ORDER BY i.id LIMIT 1
        """, (project_id, *langs, worker_id)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def gold_totals(conn: Connection, worker_id: int, since: str = ""
                      ) -> tuple[int, int]:
    """(gold answers, right ones) of a worker across all projects, since a moment."""
    async with conn.execute(
        "SELECT count(gold_correct), coalesce(sum(gold_correct), 0) FROM assignments"
        " WHERE worker_id = ? AND gold_correct IS NOT NULL AND answered_at >= ?",
        (worker_id, since)) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
