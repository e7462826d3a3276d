"""Messages for workers, queued in the database and sent by the running bot.

A CLI command (a bonus, a payout decision) or a job (settlement) decides something a
worker must hear; the decision and its message are written in one transaction, and the
bot sends it later. Nothing exists only in memory, so a restart loses no message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.domain.notice_kinds import Notice, NoticeBody, Unreadable
from storage.connection import Connection
from storage.connection import Row as DbRow
from storage.notice_json import BadNotice, dumps, loads

#: what a row reads as: a notice, or one this version cannot read (finished as failed)
Row = Notice | Unreadable


async def put(conn: Connection, worker_id: int, body: NoticeBody, key: str,
              now: str, not_before: str | None = None) -> bool:
    """Queue once per key; ``not_before`` holds it (quiet hours)."""
    cur = await conn.execute(
        "INSERT INTO outbox (worker_id, kind, payload, key, created_at, not_before)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (worker_id, body.KIND, dumps(body), key, now, not_before or now))
    return cur.rowcount == 1


async def put_many(conn: Connection, body: NoticeBody,
                   recipients: Sequence[tuple[int, str, str | None]], now: str) -> None:
    """One notice to many workers, each ``(worker, key, not_before)``, in one statement
    run over all of them; each is queued once per key, as ``put`` does."""
    payload = dumps(body)
    await conn.executemany(
        "INSERT INTO outbox (worker_id, kind, payload, key, created_at, not_before)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
        [(worker, body.KIND, payload, key, now, not_before or now)
         for worker, key, not_before in recipients])


def _read(rows: Iterable[DbRow]) -> list[Row]:
    read: list[Row] = []
    for r in rows:
        notice_id, worker_id, kind = int(r[0]), int(r[1]), str(r[2])
        try:
            read.append(Notice(notice_id, worker_id, loads(kind, str(r[3]))))
        except BadNotice as exc:
            read.append(Unreadable(notice_id, worker_id, kind, str(exc)))
    return read


async def due(conn: Connection, now: str, limit: int = 50) -> list[Row]:
    """Notices waiting to go out; one another delivery has claimed is not among them."""
    async with conn.execute(
        # in outbox_due's order: ORDER BY id alone made SQLite walk every notice ever sent
        "SELECT id, worker_id, kind, payload FROM outbox WHERE sent_at IS NULL"
        " AND not_before <= ? AND claim IS NULL ORDER BY not_before, id LIMIT ?",
        (now, limit)) as cur:
        return _read(await cur.fetchall())


async def claim(conn: Connection, notice_id: int, token: str, now: str) -> bool:
    """Mark a waiting notice as being sent by ``token``; False when another delivery has
    it, or it was finished meanwhile. Committed before the send, so a crash leaves it
    in flight (in doubt) rather than waiting (sent again)."""
    cur = await conn.execute(
        "UPDATE outbox SET claim = ?, claimed_at = ? WHERE id = ? AND sent_at IS NULL"
        " AND claim IS NULL", (token, now, notice_id))
    return cur.rowcount == 1


async def finish(conn: Connection, notice_id: int, claim: str | None,
                 outcome: str, now: str) -> bool:
    """The end of a notice: ``claim`` is the token that sent it, or None for one that
    was never claimed (nobody to tell, nothing to say any more); either way only while
    that still holds, so another delivery's claim is never overwritten."""
    if claim is None:
        cur = await conn.execute(
            "UPDATE outbox SET sent_at = ?, outcome = ? WHERE id = ? AND sent_at IS NULL"
            " AND claim IS NULL", (now, outcome, notice_id))
    else:
        # sent_at may already be set: a restart that found the claim counted it in doubt
        # while this process, not dead after all, was still sending; the truth wins
        cur = await conn.execute(
            "UPDATE outbox SET sent_at = ?, outcome = ? WHERE id = ? AND claim = ?",
            (now, outcome, notice_id, claim))
    return cur.rowcount == 1


async def fail(conn: Connection, notice_id: int, reason: str, now: str) -> bool:
    """Finish a waiting notice this version cannot read as ``failed``, keeping why: it
    would fail the same way on every try."""
    cur = await conn.execute(
        "UPDATE outbox SET sent_at = ?, outcome = 'failed', error = ? WHERE id = ?"
        " AND sent_at IS NULL AND claim IS NULL", (now, reason, notice_id))
    return cur.rowcount == 1


async def retry_later(conn: Connection, notice_id: int, claim: str,
                      not_before: str) -> int | None:
    """Give back a claim whose send certainly failed, count the try and hold the notice;
    returns the tries so far (None when the claim was not this one's)."""
    async with conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, not_before = ?, claim = NULL,"
        " claimed_at = NULL WHERE id = ? AND claim = ? AND sent_at IS NULL"
        " RETURNING attempts", (not_before, notice_id, claim)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def postpone(conn: Connection, notice_id: int, not_before: str) -> None:
    """Hold a waiting notice (quiet hours, a worker mid-task); one in flight is left be."""
    await conn.execute("UPDATE outbox SET not_before = ? WHERE id = ? AND sent_at IS NULL"
                       " AND claim IS NULL", (not_before, notice_id))


async def settle_in_flight(conn: Connection, now: str,
                           claimed_before: str | None = None) -> list[Row]:
    """At start-up, with the run lock held: every notice still claimed was on the wire
    when a process died. It may have arrived, so it is finished as ``in_doubt`` and
    never sent again; returns them for the log. With ``claimed_before`` (several
    replicas, no run lock) only claims older than that: the others may be on the wire
    from a replica alive right now."""
    sql = ("UPDATE outbox SET sent_at = ?, outcome = 'in_doubt' WHERE sent_at IS NULL"
           " AND claim IS NOT NULL{older} RETURNING id, worker_id, kind, payload")
    if claimed_before is None:
        pending = conn.execute(sql.format(older=""), (now,))
    else:
        pending = conn.execute(sql.format(older=" AND claimed_at < ?"), (now, claimed_before))
    async with pending as cur:
        return sorted(_read(await cur.fetchall()), key=lambda n: n.id)


async def outcomes(conn: Connection) -> dict[str, int]:
    """How the notices ended, by outcome ("waiting" and "in_flight" for the rest)."""
    async with conn.execute(
        "SELECT CASE WHEN sent_at IS NOT NULL THEN coalesce(outcome, 'sent')"
        " WHEN claim IS NOT NULL THEN 'in_flight' ELSE 'waiting' END, count(*)"
        " FROM outbox GROUP BY 1") as cur:
        return {str(r[0]): int(r[1]) for r in await cur.fetchall()}
