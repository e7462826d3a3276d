"""Money: what each answer earns, how units are judged and paid, bonuses and payouts.

Every change of money is a ledger entry with an idempotency key; balances are sums of
entries and no entry is ever changed (the database refuses). The four buckets:

- ``pending``: earned by answers whose unit is not settled yet;
- ``available``: settled (after any discount) plus bonuses; may be paid out;
- ``reserved``: requested for payout, waiting for an operator;
- ``paid``: paid out.

A unit of ``settle_unit`` answers is judged when every item in it is resolved (gold
known, or its label final): at or above ``unit_accuracy`` it is paid in full, below it
``discount`` of its value, and the worker is told which answers were judged wrong and
what the accepted answer was. A unit idle for ``auto_approve_hours`` is paid in full.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, from_iso, to_iso
from bot.config import PayoutsConfig
from bot.domain import quality
from bot.domain.errors import TapworkError
from bot.domain.limits import MAX_AMOUNT, MAX_BALANCE, exam_pay
from bot.domain.money import MICROS
from bot.domain.notice_kinds import (
    BonusGiven,
    PayoutApproved,
    PayoutRejected,
    UnitSettled,
    WrongAnswer,
)
from bot.domain.projects import Project
from bot.domain.records import LedgerEntry, Payout
from storage import Database, outbox
from storage import ledger as ledger_store
from storage import payouts as payout_store
from storage import projects as project_store
from storage import quality as quality_store
from storage import units as unit_store
from storage.connection import Connection
from storage.items import DONE
from storage.units import Unit, UnitAnswer

log = logging.getLogger(__name__)

#: reasons on entries and notices; the phone turns each into a sentence
FULL, DISCOUNTED, AUTO = "full", "discounted", "auto"
#: the reason on a passed exam's pay (``quiz.paid``), and its idempotency key's prefix
#: (the attempt's id follows), by which reports find the paid attempts
EXAM = "quiz"
EXAM_KEY = "quiz:"


@dataclass(frozen=True)
class Wrong:
    """An answer judged wrong in a unit, with the answer that was accepted instead."""

    item: str
    text: str | None
    answer: str
    accepted: str


@dataclass(frozen=True)
class Verdict:
    outcome: str                   # full | discounted | auto
    accuracy: float | None
    wrong: tuple[Wrong, ...] = ()


def judge(project: Project, answers: list[UnitAnswer], idle: bool) -> Verdict | None:
    """How a unit is paid; None while some item is unresolved and the unit is not idle."""
    spec = project.spec
    resolved = all(a.gold is not None or (a.state == DONE and a.label is not None)
                   for a in answers)
    if not resolved:
        return Verdict(AUTO, None) if idle else None
    wrong = []
    for a in answers:
        accepted = a.gold if a.gold is not None else a.label
        assert accepted is not None
        if not quality.is_correct(spec, a.answer, accepted):
            wrong.append(Wrong(a.ext_id, a.text, a.answer, accepted))
    accuracy = 1 - len(wrong) / len(answers) if answers else 1.0
    full = accuracy >= spec.unit_accuracy - 1e-9
    return Verdict(FULL if full else DISCOUNTED, accuracy, tuple(wrong))


def per_hour(micros: int, seconds: float) -> int | None:
    """Micros per hour in integers: earned * 3600 s / time (to the millisecond); None when
    no time was recorded, rather than a rate divided by zero."""
    if seconds <= 0:
        return None
    return micros * 3_600_000 // max(1, round(seconds * 1000))


def discounted(value: int, project: Project) -> int:
    """The exact share of a unit's value paid below ``unit_accuracy`` (rounded down)."""
    share = project.spec.discount
    return value * share.numerator // share.denominator


@dataclass(frozen=True)
class Balance:
    currency: str
    pending: int = 0
    available: int = 0
    reserved: int = 0
    paid: int = 0


@dataclass(frozen=True)
class Wallet:
    balances: tuple[Balance, ...]
    earned_today: dict[str, int]
    earned_week: dict[str, int]
    #: micros earned by tasks (after discounts) per hour spent on them, per currency in
    #: which tasks earned something (None while no time was recorded); bonuses left out
    hourly: dict[str, int | None]
    #: (UTC day, micros) for the last 14 days, in the main currency
    chart: tuple[tuple[str, int], ...]
    chart_currency: str | None
    #: bonuses received (skill and operator), per currency: shown beside the hourly rate
    bonuses: dict[str, int] = field(default_factory=dict)
    #: the smallest payout, per currency the worker has a balance in
    minimum: dict[str, int] = field(default_factory=dict)

    def payable(self) -> tuple[Balance, ...]:
        """The balances that may be paid out now: something available, the minimum met."""
        return tuple(b for b in self.balances
                     if b.available > 0 and b.available >= self.minimum.get(b.currency, 0))


@dataclass(frozen=True)
class PayoutRequest:
    payout: Payout | None
    created: bool
    #: why nothing was requested: "nothing" or "below_minimum"
    refused: str | None = None
    minimum: int = 0
    available: int = 0
    currency: str = ""


@dataclass(frozen=True)
class ProjectMoney:
    spent: int
    committed: int
    accepted_answers: int
    per_answer: int | None
    median_hourly: int | None
    below_min_hourly: bool


class Payroll:
    """The work service's ``Earnings``: it books what answers earn, then settles and pays."""

    def __init__(self, db: Database, clock: Clock, payouts: PayoutsConfig) -> None:
        self.db = db
        self.clock = clock
        self.config = payouts

    # -- earning (inside the answer's transaction) --------------------------------
    async def earn(self, conn: Connection, worker_id: int, project: Project,
                   assignment_id: int, now: str) -> None:
        """An accepted answer earns its reward as pending money, in its unit."""
        auto_at = to_iso(from_iso(now) + timedelta(hours=project.spec.auto_approve_hours))
        unit = await unit_store.add_answer(conn, worker_id, project.id, assignment_id,
                                           project.spec.settle_unit, now, auto_at)
        await ledger_store.append(conn, [LedgerEntry(
            worker_id, project.spec.currency, "earning", "pending",
            project.spec.reward_micros, f"earn:{assignment_id}", project.id, unit.id,
            assignment_id=assignment_id)], now)

    async def item_resolved(self, conn: Connection, item_id: int) -> None:
        """An item's label is final: units waiting on it may be judged now."""
        await unit_store.item_resolved(conn, item_id)

    async def pay_exam(self, conn: Connection, worker_id: int, project: Project,
                       attempt_id: int, answers: int, now: str) -> int:
        """A passed exam's questions at the task price (``quiz.paid``), ready to pay out
        at once: the exam is already judged, so nothing waits for checks. A ``bonus``
        entry (reason ``quiz``), not an ``earning``: no time on tasks stands behind it,
        so it stays out of the hourly rate and the count of accepted answers, as
        bonuses do. The key is the attempt's: a repeated update, a double tap or a
        second replica finishing the same attempt writes nothing more."""
        amount = exam_pay(answers, project.spec.reward_micros)
        if not amount:
            return 0
        created = await ledger_store.append(conn, [LedgerEntry(
            worker_id, project.spec.currency, "bonus", "available", amount,
            f"{EXAM_KEY}{attempt_id}", project.id, reason=EXAM,
            detail={"answers": answers, "price": project.spec.reward_micros})], now)
        return amount if created else 0

    # -- settlement (a repeating job) ----------------------------------------------
    async def settle_due(self) -> int:
        """Judge and pay every unit that is due; returns how many were settled."""
        now = self.clock.now()
        settled = 0
        for _page in range(1000):  # each unit examined leaves the due set (settled or
            async with self.db.read() as conn:  # marked checked), so pages move on
                due = await unit_store.due(conn, to_iso(now))
            for unit in due:
                try:
                    settled += await self._settle(unit, now)
                except OverflowError:
                    # only a database from before the money bounds holds a unit worth more
                    # than one entry can: it waits, and the others are still paid
                    log.error("unit %d is worth more than one ledger entry can hold "
                              "(2**63 - 1 micros); it stays pending", unit.id)
            if len(due) < unit_store.PAGE:
                break
        return settled

    async def _settle(self, unit: Unit, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            row = await project_store.get(conn, unit.project_id)
            assert row is not None
            project = Project.from_row(row)
            stamp = to_iso(now)
            idle = unit.auto_at <= stamp
            answers = await unit_store.answers(conn, unit.id)
            if unit.status == "filling" and not idle:
                return False  # a partly filled unit waits for its worker or the deadline
            verdict = judge(project, answers, idle)
            if verdict is None:
                await unit_store.checked(conn, unit.id, stamp)
                return False
            if not await unit_store.settle(conn, unit.id, verdict.accuracy, verdict.outcome,
                                           stamp):
                return False
            await self._pay_unit(conn, unit, project, verdict, stamp)
            return True

    async def _pay_unit(self, conn: Connection, unit: Unit, project: Project,
                        verdict: Verdict, now: str) -> None:
        spec = project.spec
        earned = [e for e in await ledger_store.unit_entries(conn, unit.id)
                  if e.kind == "earning"]
        value = sum(e.amount for e in earned)
        paid = value if verdict.outcome != DISCOUNTED else discounted(value, project)
        # released in the currency it was earned in (a project's currency is fixed once
        # money moved, but an entry is the truth)
        currency = earned[0].currency if earned else spec.currency

        def entry(kind: str, bucket: str, amount: int, key: str, reason: str,
                  detail: dict[str, Any] | None = None) -> LedgerEntry:
            """One of this unit's entries: same worker, currency, project and unit."""
            return LedgerEntry(worker_id=unit.worker_id, currency=currency, kind=kind,
                               bucket=bucket, amount=amount, key=f"unit:{unit.id}:{key}",
                               project_id=project.id, unit_id=unit.id, reason=reason,
                               detail=detail if detail is not None else {})

        detail = {"answers": len(earned), "accuracy": verdict.accuracy,
                  "needed": spec.unit_accuracy, "value": value, "paid": paid,
                  "wrong": [w.__dict__ for w in verdict.wrong]}
        entries = [
            entry("release", "pending", -value, "release:pending", verdict.outcome),
            entry("release", "available", value, "release:available", verdict.outcome,
                  detail),
        ]
        if paid < value:
            entries.append(entry("discount", "available", paid - value, "discount",
                                 DISCOUNTED, detail))
        bonus = await self._skill_bonus(conn, unit, project, paid)
        if bonus:
            entries.append(entry("bonus", "available", bonus, "skill", "skill",
                                 {"percent": spec.skill_bonus.percent
                                  if spec.skill_bonus else 0}))
        if await ledger_store.append(conn, entries, now):
            # the id, not the slug, names the project: the phone shows its title in the
            # reader's language when the notice goes out
            await outbox.put(conn, unit.worker_id, UnitSettled(
                project_id=project.id, outcome=verdict.outcome, currency=currency,
                answers=len(earned), needed=spec.unit_accuracy, value=value, paid=paid,
                accuracy=verdict.accuracy, bonus=bonus,
                wrong=tuple(WrongAnswer(w.item, w.text, w.answer, w.accepted)
                            for w in verdict.wrong)), f"unit:{unit.id}", now)

    async def _skill_bonus(self, conn: Connection, unit: Unit, project: Project,
                           paid: int) -> int:
        rule = project.spec.skill_bonus
        if rule is None or paid <= 0:
            return 0
        total, correct = await quality_store.gold_stats(conn, unit.worker_id, project.id)
        if total < project.spec.min_gold or correct < rule.min_accuracy * total - 1e-9:
            return 0
        return paid * rule.percent // 100

    # -- bonuses ---------------------------------------------------------------------
    async def bonus(self, worker_id: int, amount: int, currency: str, reason: str,
                    key: str) -> bool:
        """An operator's bonus; the same key never pays twice. The reason reaches the
        worker with the next message the bot sends them."""
        if amount <= 0:
            raise TapworkError("a bonus must be more than zero")
        if amount > MAX_AMOUNT:
            raise TapworkError("a bonus must be at most {most} {currency}", most=MAX_AMOUNT
                               // MICROS, currency=currency)
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            held = await ledger_store.worker_total(conn, worker_id, currency)
            if held + amount > MAX_BALANCE:
                raise TapworkError(
                    "worker {id} would then hold more than {most} {currency}, the most one "
                    "worker may hold in a currency; nothing was recorded", id=worker_id,
                    most=MAX_BALANCE // MICROS, currency=currency)
            created = await ledger_store.append(conn, [LedgerEntry(
                worker_id, currency, "bonus", "available", amount, f"bonus:{key}",
                reason="operator", detail={"text": reason})], now)
            if created:
                await outbox.put(conn, worker_id, BonusGiven(amount, currency, reason),
                                 f"bonus:{key}", now)
        return created

    # -- payouts -----------------------------------------------------------------
    def minimum(self, currency: str) -> int:
        return self.config.min_payout.get(currency, self.config.default_min_payout)

    async def request_payout(self, worker_id: int, key: str) -> list[PayoutRequest]:
        """Reserve the whole available balance, per currency, at once.

        The same key (a repeated tap) returns the request it made before; a second key
        finds nothing left to request, because the money is already reserved.
        """
        now = to_iso(self.clock.now())
        results: list[PayoutRequest] = []
        async with self.db.transaction() as conn:
            made = await payout_store.by_key_prefix(conn, f"{key}:")
            if made:
                return [PayoutRequest(p, False, currency=p.currency) for p in made]
            sums = await ledger_store.balances(conn, worker_id)
            for currency in sorted({c for (_, c, _) in sums}):
                request_key = f"{key}:{currency}"
                available = sums.get((worker_id, currency, "available"), 0)
                minimum = self.minimum(currency)
                if available <= 0:
                    continue
                if available < minimum:
                    results.append(PayoutRequest(None, False, "below_minimum", minimum,
                                                 available, currency))
                    continue
                # only a database from before the money bounds holds more than a worker
                # may: one request reserves at most that, the rest waits for the next
                available = min(available, MAX_BALANCE)
                payout, created = await payout_store.create(conn, worker_id, currency,
                                                            available, request_key, now)
                await ledger_store.append(conn, [
                    LedgerEntry(worker_id, currency, "payout", "available", -available,
                                f"payout:{payout.id}:reserve:available", payout_id=payout.id,
                                reason="requested"),
                    LedgerEntry(worker_id, currency, "payout", "reserved", available,
                                f"payout:{payout.id}:reserve:reserved", payout_id=payout.id,
                                reason="requested"),
                ], now)
                results.append(PayoutRequest(payout, created, currency=currency))
        if not results:
            results.append(PayoutRequest(None, False, "nothing"))
        return results

    async def decide_payout(self, payout_id: int, approve: bool, reason: str = "") -> Payout:
        """Approve (the money counts as paid) or reject (it returns, with the reason)."""
        now = to_iso(self.clock.now())
        async with self.db.transaction() as conn:
            payout = await payout_store.get(conn, payout_id)
            if payout is None:
                raise TapworkError("no payout request {id}", id=payout_id)
            if payout.status != "requested":
                raise TapworkError("payout {id} was already {status}", id=payout_id,
                                   status=payout.status)
            if not approve and not reason.strip():
                raise TapworkError("a rejection needs a reason (--reason TEXT): the worker "
                                   "is told it")
            status = "approved" if approve else "rejected"
            await payout_store.decide(conn, payout_id, status, reason or None, now)
            target, kind = ("paid", "payout") if approve else ("available", "reversal")
            await ledger_store.append(conn, [
                LedgerEntry(payout.worker_id, payout.currency, kind, "reserved", -payout.amount,
                            f"payout:{payout.id}:{status}:reserved", payout_id=payout.id,
                            reason=status, detail={"text": reason} if reason else {}),
                LedgerEntry(payout.worker_id, payout.currency, kind, target, payout.amount,
                            f"payout:{payout.id}:{status}:{target}", payout_id=payout.id,
                            reason=status, detail={"text": reason} if reason else {}),
            ], now)
            notice = (PayoutApproved(payout.amount, payout.currency) if approve
                      else PayoutRejected(payout.amount, payout.currency, reason))
            await outbox.put(conn, payout.worker_id, notice, f"payout:{payout.id}:{status}",
                             now)
            decided = await payout_store.get(conn, payout_id)
        assert decided is not None
        return decided

    async def payouts(self, status: str | None = None) -> list[Payout]:
        async with self.db.read() as conn:
            return await payout_store.listing(conn, status)

    # -- reading -------------------------------------------------------------------
    async def balances(self, worker_id: int | None = None) -> dict[int, list[Balance]]:
        async with self.db.read() as conn:
            sums = await ledger_store.balances(conn, worker_id)
        per: dict[tuple[int, str], dict[str, int]] = {}
        for (worker, currency, bucket), amount in sums.items():
            per.setdefault((worker, currency), {})[bucket] = amount
        result: dict[int, list[Balance]] = {}
        for (worker, currency), buckets in sorted(per.items()):
            result.setdefault(worker, []).append(Balance(currency, **buckets))
        return result

    async def wallet(self, worker_id: int) -> Wallet:
        now = self.clock.now()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        week = today - timedelta(days=today.weekday())
        since_chart = today - timedelta(days=13)
        balances = (await self.balances(worker_id)).get(worker_id, [])
        async with self.db.read() as conn:
            earned_today = await ledger_store.earned_total(conn, worker_id, to_iso(today))
            earned_week = await ledger_store.earned_total(conn, worker_id, to_iso(week))
            earned_all = await ledger_store.earned_total(conn, worker_id)
            by_source = await ledger_store.earned_by_source(conn, worker_id)
            seconds = await ledger_store.seconds_by_currency(conn, worker_id)
            days = await ledger_store.earned_by_day(conn, worker_id, to_iso(since_chart))
        hourly = {c: per_hour(tasks, seconds.get(c, 0.0))
                  for c, (tasks, _bonus) in by_source.items() if tasks}
        bonuses = {c: bonus for c, (_tasks, bonus) in by_source.items() if bonus}
        main = max(earned_all, key=lambda c: earned_all[c]) if earned_all else None
        per_day = {d: v for d, c, v in days if c == main}
        chart = tuple(((since_chart + timedelta(days=i)).strftime("%Y-%m-%d"),
                       per_day.get((since_chart + timedelta(days=i)).strftime("%Y-%m-%d"), 0))
                      for i in range(14))
        return Wallet(tuple(balances), earned_today, earned_week, hourly, chart, main,
                      bonuses, {b.currency: self.minimum(b.currency) for b in balances})

    async def history(self, worker_id: int, limit: int = 10) -> list[LedgerEntry]:
        """The worker's latest entries, leaving out the internal moves between buckets."""
        async with self.db.read() as conn:
            entries = await ledger_store.history(conn, worker_id, limit * 3)
        visible = [e for e in entries if not (e.kind in ("release", "payout", "reversal")
                                              and e.bucket in ("pending", "reserved"))]
        return visible[:limit]

    async def project_money(self, project: Project,
                            conn: Connection | None = None) -> ProjectMoney:
        """``conn``: a report's own read connection (on its thread); else the shared one."""
        if conn is None:
            async with self.db.read() as shared:
                return await self.project_money(project, shared)
        spent, committed = await ledger_store.project_money(conn, project.id)
        rates = await ledger_store.project_worker_rates(conn, project.id)
        accepted = await ledger_store.earning_count(conn, project.id)
        hourly = [rate for _, earned, seconds in rates
                  if (rate := per_hour(earned, seconds)) is not None]
        median = int(statistics.median(hourly)) if hourly else None
        floor = project.spec.min_hourly_micros
        return ProjectMoney(spent, committed, accepted,
                            (spent + committed) // accepted if accepted else None, median,
                            floor is not None and median is not None and median < floor)

    async def top(self, project: Project, since: datetime, limit: int = 10
                  ) -> list[tuple[int, str | None, int]]:
        async with self.db.read() as conn:
            return await ledger_store.top_earners(conn, project.id, to_iso(since), limit)
