"""Read-only queries behind the operator dashboard's project pages: when items were
finished, who worked on a project and how they stand there, the latest broadcasts.

Portable SQL (``CASE`` and ``coalesce``, no SQLite-only functions), read through the
report threads (``bot.services.reports``) so a large project never stalls the bot.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.connection import Connection
from storage.items import DONE


async def done_by_hour(conn: Connection, project_id: int) -> list[tuple[str, int]]:
    """(UTC hour "YYYY-MM-DDTHH", items done) by the hour of each done item's last answer,
    oldest first: when the work was finished, as a project has no "done at" column."""
    async with conn.execute(
        """
        SELECT substr(last_at, 1, 13), count(*) FROM (
            SELECT max(a.answered_at) AS last_at FROM items i
            JOIN assignments a ON a.item_id = i.id AND a.status = 'answered'
            WHERE i.project_id = ? AND i.quiz = 0 AND i.gold IS NULL AND i.state = ?
            GROUP BY i.id) finished
        GROUP BY substr(last_at, 1, 13) ORDER BY 1
        """, (project_id, DONE)) as cur:
        return [(str(r[0]), int(r[1])) for r in await cur.fetchall()]


@dataclass(frozen=True)
class WorkerInProject:
    id: int
    first_name: str
    language: str
    active: bool
    answers: int
    gold_total: int
    gold_correct: int
    seconds: float
    last_answer: str | None
    #: gold | too_fast | operator while suspended from the project, else None
    suspended: str | None


async def project_workers(conn: Connection, project_id: int, limit: int
                          ) -> list[WorkerInProject]:
    """Everyone who answered in a project or holds a standing there (a quiz, a
    suspension), most answers first."""
    async with conn.execute(
        """
        SELECT w.id, w.first_name, w.language, w.active,
               coalesce(s.answers, 0), coalesce(s.gold_total, 0), coalesce(s.gold_correct, 0),
               coalesce(s.seconds, 0), s.last_at, q.reason
        FROM (SELECT worker_id FROM assignments WHERE project_id = :p AND status = 'answered'
              UNION SELECT worker_id FROM qualifications WHERE project_id = :p) ids
        JOIN workers w ON w.id = ids.worker_id
        LEFT JOIN (SELECT worker_id, count(*) AS answers, count(gold_correct) AS gold_total,
                          coalesce(sum(gold_correct), 0) AS gold_correct,
                          coalesce(sum(seconds), 0) AS seconds, max(answered_at) AS last_at
                   FROM assignments WHERE project_id = :p AND status = 'answered'
                   GROUP BY worker_id) s ON s.worker_id = w.id
        LEFT JOIN qualifications q ON q.worker_id = w.id AND q.project_id = :p
        ORDER BY coalesce(s.answers, 0) DESC, w.id LIMIT :limit
        """, {"p": project_id, "limit": limit}) as cur:
        return [WorkerInProject(int(r[0]), str(r[1]), str(r[2]), bool(r[3]), int(r[4]),
                                int(r[5]), int(r[6]), float(r[7]), r[8], r[9])
                for r in await cur.fetchall()]


async def item_texts(conn: Connection, item_ids: list[int]) -> dict[int, str]:
    """The text of a few items (the dashboard's items to review), '' for a media item."""
    if not item_ids:
        return {}
    marks = ", ".join("?" for _ in item_ids)
    async with conn.execute(f"SELECT id, coalesce(text, '') FROM items WHERE id IN ({marks})",
                            item_ids) as cur:
        return {int(r[0]): str(r[1]) for r in await cur.fetchall()}
