"""Workers: the people who answer tasks, keyed by their Telegram user id."""

from __future__ import annotations

from bot.domain.records import Standing, Worker
from storage.connection import Connection, Row


def _row(row: Row) -> Worker:
    return Worker(row["id"], row["first_name"], row["language"], row["consent_at"],
                     bool(row["active"]), row["created_at"], row["display_name"],
                     bool(row["notify"]), row["timezone"], row["quiet_start"],
                     row["quiet_end"], bool(row["daily_summary"]), bool(row["senior"]),
                     bool(row["language_chosen"]), row["burst_until"],
                     tuple(filter(None, row["reads"].split(","))))


SETTINGS = ("notify", "timezone", "quiet_start", "quiet_end", "daily_summary", "senior",
            "language", "language_chosen", "display_name", "reads")


async def update_settings(conn: Connection, worker_id: int,
                          **values: object) -> None:
    """Change some of the worker's settings (names checked against ``SETTINGS``)."""
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    if not values:
        return
    columns = ", ".join(f"{name} = ?" for name in values)
    await conn.execute(f"UPDATE workers SET {columns} WHERE id = ?",
                       (*values.values(), worker_id))


#: ids per query: SQLite builds may allow as few as 32,766 parameters
CHUNK = 500


async def many(conn: Connection, worker_ids: list[int]) -> dict[int, Worker]:
    found: dict[int, Worker] = {}
    for start in range(0, len(worker_ids), CHUNK):
        chunk = worker_ids[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(f"SELECT * FROM workers WHERE id IN ({marks})",
                                chunk) as cur:
            found.update({int(r["id"]): _row(r) for r in await cur.fetchall()})
    return found


async def upsert_seen(conn: Connection, worker_id: int, first_name: str,
                      language: str, reads: str, now: str, timezone: str = "UTC"
                      ) -> Worker:
    """Record a visit. Writing to the bot again makes a blocked worker active again.
    ``reads`` (the languages a new worker reads) and ``timezone`` are a first visit's
    defaults; a known worker's stay as they are."""
    async with conn.execute(
        """
        INSERT INTO workers (id, first_name, language, reads, created_at, last_seen_at,
                             timezone)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name,
            last_seen_at = excluded.last_seen_at, active = 1,
            language = CASE WHEN workers.language_chosen = 1 THEN workers.language
                            ELSE excluded.language END
        RETURNING *
        """,
        (worker_id, first_name, language, reads, now, now, timezone),
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return _row(row)


async def get(conn: Connection, worker_id: int) -> Worker | None:
    async with conn.execute("SELECT * FROM workers WHERE id = ?", (worker_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def set_consent(conn: Connection, worker_id: int, now: str) -> bool:
    """True when this call gave consent (False when it had been given already)."""
    cur = await conn.execute(
        "UPDATE workers SET consent_at = ? WHERE id = ? AND consent_at IS NULL",
        (now, worker_id))
    return cur.rowcount == 1


async def set_active(conn: Connection, worker_id: int, active: bool) -> bool:
    cur = await conn.execute("UPDATE workers SET active = ? WHERE id = ? AND active != ?",
                             (int(active), worker_id, int(active)))
    return cur.rowcount == 1


async def set_display_name(conn: Connection, worker_id: int,
                           name: str | None) -> None:
    await conn.execute("UPDATE workers SET display_name = ? WHERE id = ?", (name, worker_id))


async def standing(conn: Connection, worker_id: int) -> list[Standing]:
    """Per project the worker has touched: answers, gold record and any suspension."""
    async with conn.execute(
        """
        SELECT p.id, p.name,
          (SELECT count(*) FROM assignments a WHERE a.worker_id = :w AND a.project_id = p.id
             AND a.status = 'answered'),
          (SELECT count(gold_correct) FROM assignments a WHERE a.worker_id = :w
             AND a.project_id = p.id AND a.gold_correct IS NOT NULL),
          (SELECT coalesce(sum(gold_correct), 0) FROM assignments a WHERE a.worker_id = :w
             AND a.project_id = p.id AND a.gold_correct IS NOT NULL),
          q.reason
        FROM projects p
        LEFT JOIN qualifications q ON q.project_id = p.id AND q.worker_id = :w
        WHERE q.worker_id IS NOT NULL OR EXISTS (SELECT 1 FROM assignments a
                                                 WHERE a.worker_id = :w AND a.project_id = p.id)
        ORDER BY p.id
        """, {"w": worker_id}) as cur:
        return [Standing(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5])
                for r in await cur.fetchall()]


async def with_daily_summary(conn: Connection) -> list[Worker]:
    async with conn.execute(
        "SELECT * FROM workers WHERE daily_summary = 1 AND active = 1") as cur:
        return [_row(r) for r in await cur.fetchall()]


async def start_burst(conn: Connection, worker_id: int, start: str, until: str
                      ) -> None:
    await conn.execute("UPDATE workers SET burst_from = ?, burst_until = ? WHERE id = ?",
                       (start, until, worker_id))


async def burst(conn: Connection, worker_id: int) -> tuple[str, str] | None:
    async with conn.execute("SELECT burst_from, burst_until FROM workers WHERE id = ?"
                            " AND burst_until IS NOT NULL", (worker_id,)) as cur:
        row = await cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


async def end_burst(conn: Connection, worker_id: int) -> tuple[str, str] | None:
    """Clear a burst once (call inside a transaction); returns its (from, until) to the one
    caller that ended it, None to anyone after."""
    current = await burst(conn, worker_id)
    if current is None:
        return None
    await conn.execute("UPDATE workers SET burst_from = NULL, burst_until = NULL WHERE id = ?",
                       (worker_id,))
    return current


async def bursts_over(conn: Connection, now: str) -> list[int]:
    async with conn.execute("SELECT id FROM workers WHERE burst_until IS NOT NULL"
                            " AND burst_until <= ?", (now,)) as cur:
        return [int(r[0]) for r in await cur.fetchall()]


async def busy(conn: Connection, worker_ids: list[int], quiz_since: str) -> set[int]:
    """Those in the middle of a task, or of a quiz opened after ``quiz_since``: a message
    now would push the question up out of sight."""
    found: set[int] = set()
    for start in range(0, len(worker_ids), CHUNK):
        chunk = worker_ids[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT worker_id FROM assignments WHERE status = 'open' AND worker_id IN"
            f" ({marks}) UNION SELECT worker_id FROM quiz_attempts WHERE status = 'open'"
            f" AND started_at > ? AND worker_id IN ({marks})",
            (*chunk, quiz_since, *chunk)) as cur:
            found.update(int(r[0]) for r in await cur.fetchall())
    return found
