"""Broadcast queues and the audience queries behind them and behind notifications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.records import POSTING, Broadcast, BroadcastProgress
from storage.connection import Connection, Row
from storage.dialect import is_postgres


def _broadcast(r: Row) -> Broadcast:
    return Broadcast(r["id"], r["project_id"], r["text"], r["status"], bool(r["paid"]),
                     float(r["rate"]), r["operator_chat"], r["progress_message"])


@dataclass(frozen=True)
class Reach:
    """Who can be told about a project: the item languages with work left (``''`` for
    items that need no reading), and for each whether a newcomer could qualify in it (its
    quiz pool is big enough; always true without a quiz)."""

    project_id: int
    quiz: bool
    attempts: int
    languages: tuple[tuple[str, bool], ...]
    now: str
    #: a quiz attempt opened after this is someone in the middle of a question
    busy_since: str


def _contains(pg: bool, text: str, part: str) -> str:
    """SQL true when ``part`` occurs in ``text`` (SQLite's ``instr``, PostgreSQL's
    ``strpos``: both positions from 1, 0 when absent)."""
    return f"{'strpos' if pg else 'instr'}({text}, {part}) > 0"


def _audience(reach: Reach, pg: bool) -> tuple[str, dict[str, object]]:
    """Workers who can take at least one item of the project now: active, notifications
    on, consented, not suspended there, not in cooldown, qualified or still allowed to
    try, reading a language with work left that they have not had yet, and not in the
    middle of a task or a quiz question (a message would push it out of sight)."""
    params: dict[str, object] = {
        "project": reach.project_id, "quiz": int(reach.quiz), "attempts": reach.attempts,
        "now": reach.now, "busy_since": reach.busy_since}
    clauses = []
    for n, (lang, quiz_open) in enumerate(reach.languages):
        params[f"lang{n}"], params[f"tag{n}"] = lang, f",{lang},"
        packed = "',' || w.reads || ','"
        reads = f"{_contains(pg, packed, f':tag{n}')} AND " if lang else ""
        qualifies = "" if quiz_open else "(:quiz = 0 OR q.status = 'passed') AND "
        clauses.append(
            f"({reads}{qualifies}EXISTS (SELECT 1 FROM items i WHERE i.project_id = :project"
            f" AND i.lang = :lang{n} AND i.state IN (0, 1) AND i.quiz = 0 AND i.gold IS NULL"
            f" AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.item_id = i.id"
            f" AND a.worker_id = w.id)))")
    languages = " OR ".join(clauses) or "1 = 0"
    return f"""
    SELECT w.id FROM workers w
    LEFT JOIN qualifications q ON q.worker_id = w.id AND q.project_id = :project
    WHERE w.active = 1 AND w.notify = 1 AND w.consent_at IS NOT NULL
      AND q.reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM assignments a           -- busy working right now
                      WHERE a.worker_id = w.id AND a.status = 'open')
      AND NOT EXISTS (SELECT 1 FROM quiz_attempts qa        -- or answering a quiz
                      WHERE qa.worker_id = w.id AND qa.status = 'open'
                        AND qa.started_at > :busy_since)
      AND (:quiz = 0 OR q.status = 'passed' OR (coalesce(q.attempts, 0) < :attempts
           AND (q.retry_at IS NULL OR q.retry_at <= :now)))
      AND ({languages})
    """, params


async def audience(conn: Connection, reach: Reach) -> list[int]:
    sql, params = _audience(reach, is_postgres(conn))
    async with conn.execute(sql + " ORDER BY w.id", params) as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def create(conn: Connection, reach: Reach, text: str | None, paid: bool,
                 rate: float, operator_chat: int | None, now: str) -> tuple[int, int]:
    """Queue a broadcast and its whole audience at once; returns (id, recipients)."""
    async with conn.execute(
        "INSERT INTO broadcasts (project_id, text, status, paid, rate, operator_chat,"
        " created_at) VALUES (?, ?, 'sending', ?, ?, ?, ?) RETURNING id",
        (reach.project_id, text, int(paid), rate, operator_chat, now)) as cur:
        row = await cur.fetchone()
    assert row is not None
    broadcast_id = int(row[0])
    sql, params = _audience(reach, is_postgres(conn))
    cur2 = await conn.execute(
        "INSERT INTO broadcast_targets (broadcast_id, worker_id, status) "
        f"SELECT :broadcast, id, 'pending' FROM ({sql}) AS audience",
        {"broadcast": broadcast_id, **params})
    return broadcast_id, cur2.rowcount


async def target_languages(conn: Connection, broadcast_id: int) -> list[str]:
    """The languages each recipient reads (packed), for the audience's count per language."""
    async with conn.execute(
        "SELECT w.reads FROM broadcast_targets t JOIN workers w ON w.id = t.worker_id"
        " WHERE t.broadcast_id = ?", (broadcast_id,)) as cur:
        return [str(r[0]) for r in await cur.fetchall()]


async def forget_notified(conn: Connection, project_id: int, worker_id: int) -> None:
    """The worker asked to hear about this project: the next notice is not held back."""
    await conn.execute("DELETE FROM project_notices WHERE project_id = ? AND worker_id = ?",
                       (project_id, worker_id))


async def get(conn: Connection, broadcast_id: int) -> Broadcast | None:
    async with conn.execute("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,)) as cur:
        row = await cur.fetchone()
    return _broadcast(row) if row else None


async def unfinished(conn: Connection) -> list[Broadcast]:
    async with conn.execute("SELECT * FROM broadcasts WHERE status = 'sending' ORDER BY id"
                            ) as cur:
        return [_broadcast(r) for r in await cur.fetchall()]


async def take_progress_message(conn: Connection, broadcast_id: int) -> int | None:
    """The operator's progress message: its id, ``POSTING`` while one replica is posting
    it, or None for the caller, who now holds the right to post it (the row says
    ``POSTING`` from here on, so a second replica does not post another)."""
    async with conn.execute("SELECT progress_message FROM broadcasts WHERE id = ?",
                            (broadcast_id,)) as cur:
        row = await cur.fetchone()
    if row is None or row[0] is not None:
        return POSTING if row is None else int(row[0])
    cur2 = await conn.execute("UPDATE broadcasts SET progress_message = ? WHERE id = ?"
                              " AND progress_message IS NULL", (POSTING, broadcast_id))
    return None if cur2.rowcount == 1 else POSTING


async def set_progress_message(conn: Connection, broadcast_id: int,
                               message_id: int | None) -> None:
    await conn.execute("UPDATE broadcasts SET progress_message = ? WHERE id = ?",
                       (message_id, broadcast_id))


async def claim(conn: Connection, broadcast_id: int, limit: int, now: str) -> list[int]:
    """Mark the next pending recipients as being sent to, and return them.

    A recipient is claimed before its message goes out and marked after, so after a crash
    only the few claimed-but-unconfirmed ones are in doubt, and they are never sent again.
    ``status = 'pending'`` is checked on the row updated too, not only in the subquery:
    a backend that re-reads a row another transaction changed meanwhile (PostgreSQL's
    READ COMMITTED) then skips a recipient another replica claimed first.
    """
    async with conn.execute(
        "UPDATE broadcast_targets SET status = 'sending', attempts = attempts + 1,"
        " claimed_at = ? WHERE broadcast_id = ? AND status = 'pending'"
        " AND worker_id IN (SELECT worker_id FROM broadcast_targets"
        " WHERE broadcast_id = ? AND status = 'pending' ORDER BY worker_id LIMIT ?)"
        " RETURNING worker_id", (now, broadcast_id, broadcast_id, limit)) as cur:
        return sorted(int(r[0]) for r in await cur.fetchall())


async def mark(conn: Connection, broadcast_id: int, worker_ids: Sequence[int],
               status: str, now: str) -> None:
    await conn.executemany(
        "UPDATE broadcast_targets SET status = ?, sent_at = ? WHERE broadcast_id = ?"
        " AND worker_id = ? AND status = 'sending'",
        [(status, now, broadcast_id, w) for w in worker_ids])


async def abandon_claims(conn: Connection, broadcast_id: int,
                         claimed_before: str | None = None) -> int:
    """After a crash: recipients that were claimed but never confirmed. They may have got
    the message; they are not sent it again ("unconfirmed"). With ``claimed_before``
    only those claimed before then (other replicas may be sending the rest right now);
    a claim from before claims were timed counts as old."""
    if claimed_before is None:
        cur = await conn.execute(
            "UPDATE broadcast_targets SET status = 'unconfirmed' WHERE broadcast_id = ?"
            " AND status = 'sending'", (broadcast_id,))
    else:
        cur = await conn.execute(
            "UPDATE broadcast_targets SET status = 'unconfirmed' WHERE broadcast_id = ?"
            " AND status = 'sending' AND (claimed_at IS NULL OR claimed_at < ?)",
            (broadcast_id, claimed_before))
    return cur.rowcount


async def progress(conn: Connection, broadcast_id: int) -> BroadcastProgress:
    async with conn.execute(
        "SELECT count(*), coalesce(sum(CASE WHEN status IN ('sent', 'deferred') THEN 1 END), 0),"
        " coalesce(sum(CASE WHEN status IN ('failed', 'blocked') THEN 1 END), 0),"
        " coalesce(sum(CASE WHEN status IN ('pending', 'sending') THEN 1 END), 0),"
        " coalesce(sum(CASE WHEN status = 'unconfirmed' THEN 1 END), 0)"
        " FROM broadcast_targets WHERE broadcast_id = ?", (broadcast_id,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    return BroadcastProgress(int(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))


async def finish(conn: Connection, broadcast_id: int, now: str) -> bool:
    """Mark it done; False when another sender (another replica) did first."""
    cur = await conn.execute(
        "UPDATE broadcasts SET status = 'done', finished_at = ? WHERE id = ?"
        " AND status = 'sending'", (now, broadcast_id))
    return cur.rowcount == 1


async def last_notified(conn: Connection, project_id: int,
                        worker_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(worker_ids), 500):  # within any SQLite's parameter limit
        chunk = list(worker_ids[start:start + 500])
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT worker_id, last_sent_at FROM project_notices WHERE project_id = ?"
            f" AND worker_id IN ({marks})", (project_id, *chunk)) as cur:
            found.update({int(r[0]): str(r[1]) for r in await cur.fetchall()})
    return found


async def set_notified(conn: Connection, project_id: int,
                       worker_ids: Sequence[int], now: str) -> None:
    await conn.executemany(
        "INSERT INTO project_notices (worker_id, project_id, last_sent_at) VALUES (?, ?, ?)"
        " ON CONFLICT (worker_id, project_id) DO UPDATE SET last_sent_at = excluded.last_sent_at",
        [(w, project_id, now) for w in worker_ids])


async def add_event(conn: Connection, project_id: int, kind: str, now: str) -> None:
    await conn.execute(
        "INSERT INTO project_events (project_id, kind, created_at) VALUES (?, ?, ?)",
        (project_id, kind, now))


async def open_events(conn: Connection) -> list[tuple[int, int, str]]:
    async with conn.execute(
        "SELECT id, project_id, kind FROM project_events WHERE done_at IS NULL ORDER BY id"
    ) as cur:
        return [(int(r[0]), int(r[1]), str(r[2])) for r in await cur.fetchall()]


async def close_event(conn: Connection, event_id: int, now: str) -> bool:
    """Close an open event; False when it was closed already (by another replica)."""
    cur = await conn.execute("UPDATE project_events SET done_at = ? WHERE id = ?"
                             " AND done_at IS NULL", (now, event_id))
    return cur.rowcount == 1


async def recent(conn: Connection, project_id: int, limit: int) -> list[Broadcast]:
    """A project's latest broadcasts, newest first (the dashboard's list)."""
    async with conn.execute("SELECT * FROM broadcasts WHERE project_id = ? ORDER BY id DESC"
                            " LIMIT ?", (project_id, limit)) as cur:
        return [_broadcast(r) for r in await cur.fetchall()]
