"""Payout requests as the CSV a bank or wallet batch tool reads: one layout for
``tapwork payouts export`` and the dashboard's download, amounts as exact decimals,
every cell a spreadsheet could run as a formula quoted (``bot.domain.csvsafe``)."""

from __future__ import annotations

import io
from collections.abc import Iterable

from bot.domain import csvsafe
from bot.domain.money import MICROS
from bot.domain.records import Payout

HEADER = ("payout_id", "worker_id", "currency", "amount", "status", "requested_at",
          "decided_at", "reason")


def decimal_text(micros: int) -> str:
    """Exact decimal text of an amount: 20000 micros -> "0.020000"."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS)
    return f"{sign}{whole}.{frac:06d}"


def payouts_csv(rows: Iterable[Payout]) -> str:
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)  # the operator's reasons reach spreadsheets
    writer.writerow(HEADER)
    for p in rows:
        writer.writerow([p.id, p.worker_id, p.currency, decimal_text(p.amount), p.status,
                         p.requested_at, p.decided_at or "", p.reason or ""])
    return buffer.getvalue()
