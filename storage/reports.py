"""Read-only queries behind export and stats.

Exports read through their own read-only blocking connection on a worker thread (see
``Database.open_reader``), so their queries are plain blocking functions; the counts
behind stats take the usual async connection.

Paging differs by backend (``export_pages``). SQLite: one statement per page of items,
by key range, so no read transaction stays open for the whole export (it would keep the
write-ahead log from being checkpointed). PostgreSQL: one statement in one snapshot,
read through a server-side (named) cursor a page of rows at a time, so memory is bounded
by the page there too and every page sees the same moment.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import NamedTuple

from bot.domain.records import Activity
from storage.connection import Connection, SideConnection
from storage.dialect import is_postgres, placeholders
from storage.items import DONE
from storage.quality import median_seconds


class AnswerRow(NamedTuple):
    item_pk: int
    ext_id: str
    gold: str | None
    #: the assignment's id: the order aggregation reads an item's answers in
    assignment_id: int | None
    worker_id: int | None
    answer: str | None
    answered_at: str | None
    seconds: float | None


def by_item(page: list[AnswerRow]) -> list[list[AnswerRow]]:
    """A page's rows split into one list per item (a page never splits an item)."""
    groups: list[list[AnswerRow]] = []
    for row in page:
        if groups and groups[-1][0].item_pk == row.item_pk:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


#: one page of items in id order, straight off ``items_in_order`` (no sort); only the
#: page's own answers are sorted
EXPORT_PAGE = """
    WITH page AS (SELECT id, ext_id, gold FROM items
                  WHERE project_id = ? AND quiz = 0 AND id > ? ORDER BY id LIMIT ?)
    SELECT page.id, page.ext_id, page.gold, a.id, a.worker_id, a.answer, a.answered_at,
           a.seconds
    FROM page LEFT JOIN assignments a
         ON a.item_id = page.id AND a.status = 'answered'
    ORDER BY page.id, a.answered_at, a.id
"""


def export_page(conn: SideConnection, project_id: int, after_item: int,
                items: int) -> list[AnswerRow]:
    """Answers of the next ``items`` items after ``after_item`` (keyset paging: each page
    costs the same however far into the project it is).

    Items with no answers appear once with ``worker_id`` None, so an export lists them.
    Blocking: for an export's own thread and connection.
    """
    return [AnswerRow(*r) for r in
            conn.execute(EXPORT_PAGE, (project_id, after_item, items)).fetchall()]


#: a whole project's answers in item order: PostgreSQL reads it through a cursor. Only
#: the items' order is asked of the database (``items_in_order`` gives it, with no sort:
#: tests/test_query_plans_pg.py); each item's few answers are put in order here
EXPORT_ALL = """
    SELECT i.id, i.ext_id, i.gold, a.id, a.worker_id, a.answer, a.answered_at, a.seconds
    FROM items i LEFT JOIN assignments a ON a.item_id = i.id AND a.status = 'answered'
    WHERE i.project_id = ? AND i.quiz = 0
    ORDER BY i.id
"""
#: rows fetched per round trip of the export's cursor
CURSOR_ROWS = 5000


def export_pages(conn: SideConnection, project_id: int, items: int
                 ) -> Generator[list[AnswerRow], None, None]:
    """The project's answers, ``items`` items a page (an item's answers never split
    across pages). Blocking: for an export's own thread and connection."""
    if not is_postgres(conn):
        after = 0
        while page := export_page(conn, project_id, after, items):
            yield page
            after = page[-1].item_pk
        return
    yield from _cursor_pages(conn, project_id, items)


def _in_order(answers: list[AnswerRow]) -> list[AnswerRow]:
    """One item's answers as ``EXPORT_PAGE`` orders them: by time, then id."""
    return sorted(answers, key=lambda r: (r.answered_at or "", r.assignment_id or 0))


def _cursor_pages(conn: SideConnection, project_id: int, items: int
                  ) -> Generator[list[AnswerRow], None, None]:
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        with conn.named_cursor("tapwork_export") as cur:  # type: ignore[attr-defined]
            cur.itersize = CURSOR_ROWS
            cur.execute(placeholders(EXPORT_ALL)[0], (project_id,))
            page: list[AnswerRow] = []
            item: list[AnswerRow] = []
            count = 0
            for row in cur:
                if item and row[0] != item[0].item_pk:
                    page += _in_order(item)
                    item = []
                    if count == items:
                        yield page
                        page, count = [], 0
                if not item:
                    count += 1
                item.append(AnswerRow(*row))
            page += _in_order(item)
            if page:
                yield page
    finally:
        conn.execute("ROLLBACK")


class Picture(NamedTuple):
    """An item's picture as exports describe it: its file name and size in pixels."""

    filename: str
    width: int
    height: int


def pictures(conn: SideConnection, project_id: int, first_item: int,
             last_item: int) -> dict[int, Picture]:
    """The pictures of a project's items from ``first_item`` to ``last_item`` (a page of
    an export), by item id; items without a picture are left out. Blocking."""
    rows = conn.execute(
        "SELECT i.id, m.filename, m.width, m.height FROM items i JOIN media m"
        " ON m.id = i.media_id WHERE i.project_id = ? AND i.id BETWEEN ? AND ?"
        " AND m.width IS NOT NULL AND m.height IS NOT NULL",
        (project_id, first_item, last_item)).fetchall()
    return {int(r[0]): Picture(str(r[1]), int(r[2]), int(r[3])) for r in rows}


@dataclass(frozen=True)
class ProjectCounts:
    """Work items only: gold checks and quiz questions are not work to finish."""

    items: int
    done: int
    in_progress: int
    answers: int
    workers: int
    active_workers: int


async def project_counts(conn: Connection, project_id: int, active_since: str
                         ) -> ProjectCounts:
    async with conn.execute(
        """
        SELECT count(*), coalesce(sum(CASE WHEN state = ? THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN state IN (1, 2) THEN 1 ELSE 0 END), 0)
        FROM items WHERE project_id = ? AND quiz = 0 AND gold IS NULL
        """, (DONE, project_id)) as cur:
        items, done, in_progress = map(int, await cur.fetchone() or (0, 0, 0))
    async with conn.execute(
        """
        SELECT count(*), count(DISTINCT worker_id),
               count(DISTINCT CASE WHEN answered_at >= ? THEN worker_id END)
        FROM assignments WHERE project_id = ? AND status = 'answered'
        """, (active_since, project_id)) as cur:
        answers, workers, active = map(int, await cur.fetchone() or (0, 0, 0))
    return ProjectCounts(items, done, in_progress, answers, workers, active)


async def item_kinds(conn: Connection, project_id: int
                     ) -> list[tuple[str, str, int]]:
    """(kind, language, count) of a project's items, kind being task, gold or quiz (as
    ``bot.domain.inventory.kind_of`` defines them); each part is read from its own index."""
    async with conn.execute(
        """
        SELECT 'task', lang, count(*) FROM items
        WHERE project_id = :p AND quiz = 0 AND gold IS NULL GROUP BY lang
        UNION ALL
        SELECT 'gold', lang, count(*) FROM items
        WHERE project_id = :p AND quiz = 0 AND gold IS NOT NULL GROUP BY lang
        UNION ALL
        SELECT 'quiz', lang, count(*) FROM items WHERE project_id = :p AND quiz = 1
        GROUP BY lang
        """, {"p": project_id}) as cur:
        return [(str(r[0]), str(r[1]), int(r[2])) for r in await cur.fetchall()]


async def left_by_language(conn: Connection, project_id: int) -> dict[str, int]:
    """Work items not done yet, per language ('' for none), from the serving index."""
    async with conn.execute(
        "SELECT lang, count(*) FROM items WHERE project_id = ? AND quiz = 0"
        " AND gold IS NULL AND state < ? GROUP BY lang ORDER BY count(*) DESC, lang = '', lang",
        (project_id, DONE)) as cur:
        return {str(r[0]): int(r[1]) for r in await cur.fetchall()}


@dataclass(frozen=True)
class QuizCounts:
    """What qualifying cost: every quiz answer (practice and exams, passed or not), the
    workers it qualified, and the answers of passed exams that were paid (``quiz.paid``:
    an attempt is paid when the ledger holds its entry, keyed by the attempt)."""

    answers: int
    qualified: int
    paid: int = 0


async def quiz_counts(conn: Connection, project_id: int, paid_key: str) -> QuizCounts:
    """``paid_key``: the prefix of a paid exam's ledger key, its attempt's id following."""
    async with conn.execute(
        "SELECT count(q.answer) FROM quiz_attempts a JOIN quiz_questions q"
        " ON q.attempt_id = a.id WHERE a.project_id = ?", (project_id,)) as cur:
        answers = int((await cur.fetchone() or (0,))[0])
    async with conn.execute(
        "SELECT count(*) FROM qualifications WHERE project_id = ? AND status = 'passed'",
        (project_id,)) as cur:
        qualified = int((await cur.fetchone() or (0,))[0])
    async with conn.execute(
        "SELECT count(q.answer) FROM quiz_attempts a JOIN quiz_questions q"
        " ON q.attempt_id = a.id WHERE a.project_id = ? AND a.phase = 'exam'"
        " AND EXISTS (SELECT 1 FROM ledger l"
        " WHERE l.key = ? || CAST(a.id AS TEXT))", (project_id, paid_key)) as cur:
        paid = int((await cur.fetchone() or (0,))[0])
    return QuizCounts(answers, qualified, paid)


async def activity(conn: Connection, project_id: int, hour_ago: str,
                   since: str) -> Activity:
    async with conn.execute(
        "SELECT count(*) FROM assignments WHERE project_id = ? AND status = 'answered'"
        " AND answered_at >= ?", (project_id, hour_ago)) as cur:
        last_hour = int((await cur.fetchone() or (0,))[0])
    async with conn.execute(
        "SELECT count(gold_correct), coalesce(sum(gold_correct), 0) FROM assignments"
        " WHERE project_id = ? AND gold_correct IS NOT NULL", (project_id,)) as cur:
        gold_total, gold_correct = await cur.fetchone() or (0, 0)
    async with conn.execute(
        "SELECT substr(answered_at, 1, 13), count(*) FROM assignments WHERE project_id = ?"
        " AND status = 'answered' AND answered_at >= ? GROUP BY 1 ORDER BY 1",
        (project_id, since)) as cur:
        per_hour = [(str(r[0]), int(r[1])) for r in await cur.fetchall()]
    median, _count = await median_seconds(conn, project_id)
    return Activity(last_hour, int(gold_total), int(gold_correct), median, per_hour)
