"""The ledger: append-only money entries (triggers refuse UPDATE and DELETE).

Balances are always sums of entries, never stored, so they cannot drift from history.
Every entry carries an idempotency key; a group of entries written for one event shares
a key prefix and is written only when its first key is new.

Sums never overflow. SQLite's ``sum()`` of integers fails ("integer overflow") once a
total passes 2**63 - 1, and one such total made ``/wallet``, ``tapwork ledger`` and
``stats`` fail for everyone. Amounts are bounded when they are entered (``bot.domain.limits``),
but a database written before those bounds may hold larger ones, so every sum here is
taken in two halves (``_exact``): the high and low 32 bits of each amount, summed by
SQLite and joined in Python, where integers have no limit. Neither half can overflow
before 2**31 entries share one total; the result is exact and may exceed 64 bits.
PostgreSQL's ``sum()`` of a BIGINT column is ``numeric``, exact at any size: there the
sum is taken whole (and comes back as a Python ``int``: ``storage.pgtypes``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.records import LedgerEntry
from storage.connection import Connection, Row
from storage.dialect import is_postgres

BUCKETS = ("pending", "available", "reserved", "paid")


def _exact(expr: str, pg: bool, named: str = "") -> str:
    """Two SQL columns whose ``_joined`` is the exact sum of ``expr``. SQLite: the sums of
    the high and of the low 32 bits (``>>`` keeps the sign, ``&`` gives the low bits as a
    positive number). PostgreSQL: 0 and the sum itself (numeric cannot overflow).
    ``named``: the columns are called ``named_high`` and ``named_low``."""
    high, low = (f" AS {named}_high", f" AS {named}_low") if named else ("", "")
    if pg:
        return f"0{high}, sum({expr}){low}"
    return f"sum(({expr}) >> 32){high}, sum(({expr}) & 4294967295){low}"


def _joined(high: int | None, low: int | None) -> int:
    """The exact total of the halves summed by ``_exact`` (NULL when no row counted)."""
    return (int(high or 0) << 32) + int(low or 0)


_AMOUNT = "amount"
_TASKS = "CASE WHEN kind IN ('earning', 'discount') THEN amount END"
_BONUSES = "CASE WHEN kind = 'bonus' THEN amount END"
_SPENT = ("CASE WHEN bucket = 'available' AND kind IN ('release', 'bonus', 'discount')"
          " THEN amount END")
_COMMITTED = "CASE WHEN bucket = 'pending' THEN amount END"


_INSERT = ("INSERT INTO ledger (worker_id, currency, kind, bucket, amount, project_id,"
           " unit_id, payout_id, assignment_id, reason, detail, key, created_at)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_INSERT_NEW = _INSERT.replace(" VALUES (", " SELECT ").removesuffix(")") + \
    " WHERE NOT EXISTS (SELECT 1 FROM ledger WHERE key = ?)"


def _values(e: LedgerEntry, now: str) -> tuple[Any, ...]:
    return (e.worker_id, e.currency, e.kind, e.bucket, e.amount, e.project_id, e.unit_id,
            e.payout_id, e.assignment_id, e.reason,
            json.dumps(e.detail, ensure_ascii=False) if e.detail else None, e.key, now)


async def append(conn: Connection, entries: Sequence[LedgerEntry], now: str) -> bool:
    """Write a group of entries, or nothing if its first key was written before.

    Call inside a transaction: the group lands together or not at all. A lone entry (an
    answer's earning, on every answer) is one insert that skips a key already there.
    """
    if not entries:
        return False
    if len(entries) == 1:
        # the database refuses an existing key outright (a trigger: see migration 8), so
        # "skip it if written before" is said in the statement itself
        cur = await conn.execute(_INSERT_NEW, (*_values(entries[0], now), entries[0].key))
        return cur.rowcount == 1
    async with conn.execute("SELECT 1 FROM ledger WHERE key = ?", (entries[0].key,)) as cur:
        if await cur.fetchone() is not None:
            return False
    await conn.executemany(_INSERT, [_values(e, now) for e in entries])
    return True


async def balances(conn: Connection, worker_id: int | None = None
                   ) -> dict[tuple[int, str, str], int]:
    """(worker, currency, bucket) -> micros."""
    where, args = ("WHERE worker_id = ?", (worker_id,)) if worker_id is not None else ("", ())
    async with conn.execute(
        f"SELECT worker_id, currency, bucket, {_exact(_AMOUNT, is_postgres(conn))}"
        f" FROM ledger {where}"
        " GROUP BY worker_id, currency, bucket", args) as cur:
        return {(int(r[0]), str(r[1]), str(r[2])): _joined(r[3], r[4])
                for r in await cur.fetchall()}


async def worker_total(conn: Connection, worker_id: int, currency: str) -> int:
    """Everything a worker holds in a currency, all buckets together: what they earned,
    net of discounts, plus bonuses (moves between buckets cancel out)."""
    async with conn.execute(f"SELECT {_exact(_AMOUNT, is_postgres(conn))} FROM ledger"
                            " WHERE worker_id = ? AND currency = ?",
                            (worker_id, currency)) as cur:
        row = await cur.fetchone()
    return _joined(row[0], row[1]) if row else 0


def _entry(r: Row) -> LedgerEntry:
    return LedgerEntry(r["worker_id"], r["currency"], r["kind"], r["bucket"], r["amount"], r["key"],
                 r["project_id"], r["unit_id"], r["payout_id"], r["assignment_id"],
                 r["reason"], json.loads(r["detail"]) if r["detail"] else {},
                 r["created_at"], r["id"])


async def history(conn: Connection, worker_id: int, limit: int) -> list[LedgerEntry]:
    async with conn.execute(
        "SELECT * FROM ledger WHERE worker_id = ? ORDER BY id DESC LIMIT ?",
        (worker_id, limit)) as cur:
        return [_entry(r) for r in await cur.fetchall()]


async def unit_entries(conn: Connection, unit_id: int) -> list[LedgerEntry]:
    async with conn.execute("SELECT * FROM ledger WHERE unit_id = ? ORDER BY id",
                            (unit_id,)) as cur:
        return [_entry(r) for r in await cur.fetchall()]


#: what counts as earned: answers' pay, bonuses, and discounts taken off
EARNED_KINDS = ("earning", "bonus", "discount")


async def earned_by_day(conn: Connection, worker_id: int, since: str
                        ) -> list[tuple[str, str, int]]:
    """(UTC day, currency, micros earned) since a moment."""
    async with conn.execute(
        f"SELECT substr(created_at, 1, 10), currency, {_exact(_AMOUNT, is_postgres(conn))}"
        " FROM ledger"
        " WHERE worker_id = ? AND created_at >= ? AND kind IN ('earning', 'bonus', 'discount')"
        " AND bucket IN ('pending', 'available')"
        " GROUP BY 1, 2 ORDER BY 1", (worker_id, since)) as cur:
        return [(str(r[0]), str(r[1]), _joined(r[2], r[3])) for r in await cur.fetchall()]


async def earned_total(conn: Connection, worker_id: int, since: str = ""
                       ) -> dict[str, int]:
    async with conn.execute(
        f"SELECT currency, {_exact(_AMOUNT, is_postgres(conn))} FROM ledger"
        " WHERE worker_id = ? AND created_at >= ?"
        " AND kind IN ('earning', 'bonus', 'discount') AND bucket IN ('pending', 'available')"
        " GROUP BY currency", (worker_id, since)) as cur:
        return {str(r[0]): _joined(r[1], r[2]) for r in await cur.fetchall()}


async def earned_by_source(conn: Connection, worker_id: int
                           ) -> dict[str, tuple[int, int]]:
    """Per currency: (micros earned by tasks, discounts taken off; micros of bonuses)."""
    async with conn.execute(
        f"SELECT currency, {_exact(_TASKS, is_postgres(conn))},"
        f" {_exact(_BONUSES, is_postgres(conn))}"
        " FROM ledger WHERE worker_id = ? AND kind IN ('earning', 'bonus', 'discount')"
        " AND bucket IN ('pending', 'available') GROUP BY currency", (worker_id,)) as cur:
        return {str(r[0]): (_joined(r[1], r[2]), _joined(r[3], r[4]))
                for r in await cur.fetchall()}


async def project_money(conn: Connection, project_id: int) -> tuple[int, int]:
    """(spent: released to workers, bonuses and discounts included; committed: pending)."""
    async with conn.execute(
        f"SELECT {_exact(_SPENT, is_postgres(conn))}, {_exact(_COMMITTED, is_postgres(conn))}"
        " FROM ledger WHERE project_id = ?", (project_id,)) as cur:
        row = await cur.fetchone()
    return (_joined(row[0], row[1]), _joined(row[2], row[3])) if row else (0, 0)


async def project_worker_rates(conn: Connection, project_id: int
                               ) -> list[tuple[int, int, float]]:
    """Per worker of a project: (worker, micros earned by its tasks after discounts,
    seconds spent on them). Bonuses are left out: they are not pay for the time."""
    async with conn.execute(
        f"""
        SELECT w.worker_id, w.paid_high, w.paid_low, coalesce(t.seconds, 0) FROM
          (SELECT worker_id, {_exact(_AMOUNT, is_postgres(conn), "paid")}
           FROM ledger WHERE project_id = ?
             AND kind IN ('earning', 'discount') AND bucket IN ('pending', 'available')
           GROUP BY worker_id) w
        LEFT JOIN (SELECT worker_id, sum(seconds) AS seconds FROM assignments
                   WHERE project_id = ? AND status = 'answered' GROUP BY worker_id) t
          ON t.worker_id = w.worker_id
        """, (project_id, project_id)) as cur:
        return [(int(r[0]), _joined(r[1], r[2]), float(r[3])) for r in await cur.fetchall()]


async def top_earners(conn: Connection, project_id: int, since: str, limit: int
                      ) -> list[tuple[int, str | None, int]]:
    """(worker, display name if they opted in, micros earned) since a moment.

    Ranked by ``total()``, SQLite's floating-point sum, which cannot overflow and orders
    exactly while totals stay below 2**53 micros (9 billion major units); on PostgreSQL
    by the exact sum."""
    pg = is_postgres(conn)
    async with conn.execute(
        f"SELECT l.worker_id, w.display_name, {_exact('l.amount', pg)} FROM ledger l"
        " JOIN workers w ON w.id = l.worker_id"
        " WHERE l.project_id = ? AND l.created_at >= ?"
        " AND l.kind IN ('earning', 'bonus', 'discount') AND l.bucket IN ('pending', 'available')"
        f" GROUP BY l.worker_id, w.display_name"
        f" ORDER BY {'sum' if pg else 'total'}(l.amount) DESC, l.worker_id LIMIT ?",
        (project_id, since, limit)) as cur:
        return [(int(r[0]), r[1], _joined(r[2], r[3])) for r in await cur.fetchall()]


async def earning_count(conn: Connection, project_id: int) -> int:
    """Answers that earned money in a project."""
    async with conn.execute(
        "SELECT count(*) FROM ledger WHERE project_id = ? AND kind = 'earning'",
        (project_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def project_has_money(conn: Connection, project_id: int) -> bool:
    async with conn.execute("SELECT 1 FROM ledger WHERE project_id = ? LIMIT 1",
                            (project_id,)) as cur:
        return await cur.fetchone() is not None


async def seconds_by_currency(conn: Connection, worker_id: int) -> dict[str, float]:
    """Time spent on tasks, split by the currency each project pays in."""
    currency = ("CAST(p.spec AS jsonb) ->> 'currency'" if is_postgres(conn)
                else "json_extract(p.spec, '$.currency')")
    async with conn.execute(
        f"SELECT {currency}, coalesce(sum(a.seconds), 0)"
        " FROM assignments a JOIN projects p ON p.id = a.project_id"
        " WHERE a.worker_id = ? AND a.status = 'answered' GROUP BY 1", (worker_id,)) as cur:
        return {str(r[0]): float(r[1]) for r in await cur.fetchall()}
