"""Projects: the operator's definition, kept as the validated document in JSON."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.records import ProjectRow
from storage.connection import Connection, Row


def _row(row: Row) -> ProjectRow:
    return ProjectRow(row["id"], row["name"], row["kind"], row["spec"], row["status"],
                      tuple(filter(None, row["languages"].split(","))))


async def upsert(conn: Connection, name: str, kind: str,
                 document: dict[str, Any], now: str) -> tuple[ProjectRow, bool]:
    """Create or update by name; returns the row and whether it was created."""
    existing = await get_by_name(conn, name)
    # NaN and Infinity are not JSON to SQLite: the domain never passes them, and if it did
    # this refuses rather than store a document json_extract cannot read (migration 9)
    spec = json.dumps(document, ensure_ascii=False, sort_keys=True, allow_nan=False)
    if existing is None:
        async with conn.execute(
            "INSERT INTO projects (name, kind, spec, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING *", (name, kind, spec, now, now)) as cur:
            row = await cur.fetchone()
        assert row is not None
        return _row(row), True
    async with conn.execute(
        "UPDATE projects SET kind = ?, spec = ?, updated_at = ? WHERE id = ? RETURNING *",
        (kind, spec, now, existing.id)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _row(row), False


async def get_by_name(conn: Connection, name: str) -> ProjectRow | None:
    async with conn.execute("SELECT * FROM projects WHERE name = ?", (name,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def get(conn: Connection, project_id: int) -> ProjectRow | None:
    async with conn.execute("SELECT * FROM projects WHERE id = ?", (project_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def all_projects(conn: Connection) -> list[ProjectRow]:
    async with conn.execute("SELECT * FROM projects ORDER BY id") as cur:
        return [_row(r) for r in await cur.fetchall()]


async def item_count(conn: Connection, project_id: int) -> int:
    async with conn.execute("SELECT count(*) FROM items WHERE project_id = ?",
                            (project_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def refresh_languages(conn: Connection, project_id: int
                            ) -> tuple[str, ...]:
    """Recompute ``projects.languages`` from the project's items and store it.

    Serving reads the column on every task, so it is kept in the row; recomputing (rather
    than adding an import's languages) keeps it true whatever changed the items. Each step
    of the recursion is one seek in an index that leads with (project, lang), so this
    costs a few lookups per language, not a pass over a million items. Items with no
    language ('') are not listed.
    """
    async with conn.execute(
        """
        WITH RECURSIVE
          task(lang) AS (
            SELECT min(lang) FROM items WHERE project_id = :p AND quiz = 0 AND gold IS NULL
            UNION ALL
            SELECT (SELECT min(lang) FROM items WHERE project_id = :p AND quiz = 0
                    AND gold IS NULL AND lang > task.lang) FROM task WHERE lang IS NOT NULL),
          gold(lang) AS (
            SELECT min(lang) FROM items WHERE project_id = :p AND quiz = 0
                   AND gold IS NOT NULL
            UNION ALL
            SELECT (SELECT min(lang) FROM items WHERE project_id = :p AND quiz = 0
                    AND gold IS NOT NULL AND lang > gold.lang) FROM gold
            WHERE lang IS NOT NULL),
          quiz(lang) AS (
            SELECT min(lang) FROM items WHERE project_id = :p AND quiz = 1
            UNION ALL
            SELECT (SELECT min(lang) FROM items WHERE project_id = :p AND quiz = 1
                    AND lang > quiz.lang) FROM quiz WHERE lang IS NOT NULL)
        SELECT lang FROM task WHERE lang > '' UNION SELECT lang FROM gold WHERE lang > ''
        UNION SELECT lang FROM quiz WHERE lang > ''
        """, {"p": project_id}) as cur:
        languages = tuple(sorted(str(r[0]) for r in await cur.fetchall()))
    await conn.execute("UPDATE projects SET languages = ? WHERE id = ?",
                       (",".join(languages), project_id))
    return languages


async def open_projects(conn: Connection, cap: int
                        ) -> list[tuple[ProjectRow, int]]:
    """Open projects with how many items still want answers, counted up to ``cap``.

    Counting stops at ``cap`` because every index entry counted is a step: a million
    open items took 110-140 ms, on the event loop, for every /tasks.
    """
    async with conn.execute(
        """
        SELECT p.*, (SELECT count(*) FROM (SELECT 1 FROM items i WHERE i.project_id = p.id
                     AND i.state < 2 AND i.quiz = 0 AND i.gold IS NULL LIMIT :cap) AS w)
                    AS waiting
        FROM projects p WHERE p.status = 'open' ORDER BY p.id
        """, {"cap": cap}) as cur:
        return [(_row(r), int(r["waiting"])) for r in await cur.fetchall()]


async def set_status(conn: Connection, project_id: int, status: str, now: str
                     ) -> None:
    await conn.execute("UPDATE projects SET status = ?, updated_at = ? WHERE id = ?",
                       (status, now, project_id))
