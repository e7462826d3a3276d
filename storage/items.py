"""Items: the things to label, and the counters that decide who may get them next."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from storage.connection import Connection, Row

#: item states: fresh (no answers, no lease), started, full (every slot answered or leased),
#: done (enough answers). Kept in a column so the next item comes straight from an index.
FRESH, STARTED, FULL, DONE = 0, 1, 2, 3


@dataclass(frozen=True)
class ItemRow:
    id: int
    project_id: int
    ext_id: str
    text: str | None
    media_id: int | None
    gold: str | None
    quiz: bool
    explain: dict[str, str] | None
    prelabel: str | None
    answers: int
    leases: int
    state: int
    #: the live estimate of the item's label, and how sure it is (issue #3)
    label: str | None = None
    confidence: float | None = None
    #: the item's language (a primary subtag such as ``ko``), '' when reading is not needed
    lang: str = ""
    #: how much one more answer is worth here (``bot.domain.routing``: 0 sure, 1 open,
    #: 2 split), kept in the serving index
    need: int = 1


@dataclass(frozen=True)
class NewItem:
    ext_id: str
    text: str | None
    media_id: int | None
    gold: str | None
    quiz: bool
    explain: dict[str, str] | None
    prelabel: str | None
    lang: str = ""


def _row(r: Row) -> ItemRow:
    return ItemRow(r["id"], r["project_id"], r["ext_id"], r["text"], r["media_id"], r["gold"],
                   bool(r["quiz"]), json.loads(r["explain"]) if r["explain"] else None,
                   r["prelabel"], r["answers"], r["leases"], r["state"], r["label"],
                   r["confidence"], r["lang"], r["need"])


async def insert_many(conn: Connection, project_id: int, items: Iterable[NewItem],
                      now: str) -> int:
    rows = [(project_id, it.ext_id, it.text, it.media_id, it.gold, int(it.quiz),
             json.dumps(it.explain, ensure_ascii=False) if it.explain else None,
             it.prelabel, it.lang, now) for it in items]
    await conn.executemany(
        "INSERT INTO items (project_id, ext_id, text, media_id, gold, quiz, explain, prelabel,"
        " lang, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


async def get(conn: Connection, item_id: int) -> ItemRow | None:
    async with conn.execute("SELECT * FROM items WHERE id = ?", (item_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def next_for_worker(conn: Connection, project_id: int, worker_id: int,
                          state: int, lang: str, need: int) -> ItemRow | None:
    """The oldest item in ``state``, ``lang`` and ``need`` bucket this worker has never been
    given (served by index: one equality prefix, then id order), the whole row: the lease
    needs it next."""
    async with conn.execute(
        """
        SELECT i.* FROM items i
        WHERE i.project_id = ? AND i.lang = ? AND i.state = ? AND i.need = ? AND i.quiz = 0
          AND i.gold IS NULL AND NOT EXISTS (SELECT 1 FROM assignments a
                          WHERE a.item_id = i.id AND a.worker_id = ?)
        ORDER BY i.id LIMIT 1
        """, (project_id, lang, state, need, worker_id)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def open_count(conn: Connection, project_id: int, lang: str,
                     worker_id: int | None, cap: int) -> int:
    """Items in ``lang`` that still want answers (and that ``worker_id`` has never been
    given, when set), counted up to ``cap``: every index entry counted is a step, and a
    phone only shows "10000+" past that."""
    async with conn.execute(
        """
        SELECT count(*) FROM (SELECT 1 FROM items i
          WHERE i.project_id = :p AND i.lang = :lang AND i.state IN (0, 1) AND i.quiz = 0
            AND i.gold IS NULL AND (CAST(:w AS BIGINT) IS NULL OR NOT EXISTS (
              SELECT 1 FROM assignments a WHERE a.item_id = i.id AND a.worker_id = :w))
          LIMIT :cap) AS open_items
        """, {"p": project_id, "lang": lang, "w": worker_id, "cap": cap}) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def set_progress(conn: Connection, item_id: int, answers: int, leases: int,
                       state: int, label: str | None, confidence: float | None,
                       need: int = 1) -> None:
    """Counters, state, live estimate and need bucket in one write.

    The caller read the row in the same transaction (the database lock is held from
    ``BEGIN IMMEDIATE`` to ``COMMIT``), so absolute values are safe, and one UPDATE costs
    a third of three.
    """
    await conn.execute(
        "UPDATE items SET answers = ?, leases = ?, state = ?, label = ?, confidence = ?,"
        " need = ? WHERE id = ?", (answers, leases, state, label, confidence, need, item_id))
