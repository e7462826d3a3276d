"""Settlement units: a worker's answers in a project, judged and paid together."""

from __future__ import annotations

from dataclasses import dataclass

from storage.connection import Connection, Row


@dataclass(frozen=True)
class Unit:
    id: int
    worker_id: int
    project_id: int
    size: int
    answers: int
    status: str          # filling | waiting | settled
    last_answer_at: str
    auto_at: str


@dataclass(frozen=True)
class UnitAnswer:
    assignment_id: int
    item_id: int
    ext_id: str
    text: str | None
    answer: str
    gold: str | None
    label: str | None     # the item's current aggregated answer
    state: int            # the item's state (3 = done)


def _unit(r: Row) -> Unit:
    return Unit(r["id"], r["worker_id"], r["project_id"], r["size"], r["answers"], r["status"],
                r["last_answer_at"], r["auto_at"])


async def add_answer(conn: Connection, worker_id: int, project_id: int,
                     assignment_id: int, size: int, now: str, auto_at: str) -> Unit:
    """Put an answer in the worker's filling unit (opening one if needed); the unit is
    paid in full at ``auto_at`` unless it is judged before.

    One upsert on the one-filling-unit-per-worker index rather than a look-up and then an
    insert or an update: it runs on every answer.
    """
    async with conn.execute(
        """
        INSERT INTO units (worker_id, project_id, size, answers, status, created_at,
                           last_answer_at, auto_at)
        VALUES (:worker, :project, :size, 1,
                CASE WHEN :size <= 1 THEN 'waiting' ELSE 'filling' END, :now, :now, :auto)
        ON CONFLICT (worker_id, project_id) WHERE status = 'filling' DO UPDATE SET
            answers = units.answers + 1, last_answer_at = :now, auto_at = :auto,
            status = CASE WHEN units.answers + 1 >= units.size THEN 'waiting'
                          ELSE units.status END
        RETURNING *
        """, {"worker": worker_id, "project": project_id, "size": size, "now": now,
              "auto": auto_at}) as cur:
        row = await cur.fetchone()
    assert row is not None
    await conn.execute("UPDATE assignments SET unit_id = ? WHERE id = ?",
                       (row["id"], assignment_id))
    return _unit(row)


PAGE = 200


async def due(conn: Connection, now: str, limit: int = PAGE) -> list[Unit]:
    """Units past their auto-approval time, then full units not judged since one of their
    items changed; a unit found unresolved waits until an item of it is resolved, so a
    crowd of unresolved units never starves the others."""
    async with conn.execute(
        "SELECT * FROM units WHERE status != 'settled' AND auto_at <= ? ORDER BY auto_at"
        " LIMIT ?", (now, limit)) as cur:
        overdue = [_unit(r) for r in await cur.fetchall()]
    async with conn.execute(
        "SELECT * FROM units WHERE status = 'waiting' AND checked_at IS NULL ORDER BY id"
        " LIMIT ?", (limit,)) as cur:
        waiting = [_unit(r) for r in await cur.fetchall()]
    seen = {u.id for u in overdue}
    return overdue + [u for u in waiting if u.id not in seen]


async def checked(conn: Connection, unit_id: int, now: str) -> None:
    await conn.execute("UPDATE units SET checked_at = ? WHERE id = ?", (now, unit_id))


async def item_resolved(conn: Connection, item_id: int) -> None:
    """An item's label became final: units holding an answer to it are worth a look."""
    await conn.execute(
        "UPDATE units SET checked_at = NULL WHERE status = 'waiting' AND checked_at IS NOT"
        " NULL AND id IN (SELECT unit_id FROM assignments WHERE item_id = ?"
        " AND unit_id IS NOT NULL)", (item_id,))


async def answers(conn: Connection, unit_id: int) -> list[UnitAnswer]:
    async with conn.execute(
        """
        SELECT a.id, i.id, i.ext_id, i.text, a.answer, i.gold, i.label, i.state
        FROM assignments a JOIN items i ON i.id = a.item_id
        WHERE a.unit_id = ? ORDER BY a.id
        """, (unit_id,)) as cur:
        return [UnitAnswer(int(r[0]), int(r[1]), str(r[2]), r[3], str(r[4]), r[5], r[6],
                           int(r[7])) for r in await cur.fetchall()]


async def settle(conn: Connection, unit_id: int, accuracy: float | None,
                 outcome: str, now: str) -> bool:
    """Mark settled once; False if another run settled it first."""
    cur = await conn.execute(
        "UPDATE units SET status = 'settled', settled_at = ?, accuracy = ?, outcome = ?"
        " WHERE id = ? AND status != 'settled'", (now, accuracy, outcome, unit_id))
    return cur.rowcount == 1
