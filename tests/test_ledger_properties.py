"""Property-based: any sequence of money operations keeps the ledger's invariants.

Hypothesis draws sequences of answers (right or wrong against gold, or plain labels),
settlement runs, clock jumps, operator bonuses (keys repeat), payout requests (double
taps repeat their key), approvals, rejections (with and without a reason) and replays of
earlier operations. Each example runs on its own SQLite file; after every step the
invariants are checked against the raw rows of the ledger.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock, from_iso, to_iso
from bot.config import Config, PayoutsConfig, StorageConfig
from bot.domain.errors import TapworkError
from bot.domain.projects import parse_project
from bot.services.ledger import AUTO, DISCOUNTED, FULL
from bot.services.work import Outcome
from bot.wiring import Services
from storage import assignments as assignment_store
from storage import items as item_store
from storage.items import DONE
from tests.conftest import FixedRandom, add_worker, sentiment_doc
from tests.state import (
    bucket_sums,
    duplicate_keys,
    gold_standing,
    ledger_count,
    ledger_entries,
    outbox_rows,
    project_names,
    units,
    with_items,
)

LABELS = ("positive", "neutral", "negative")
NOW = "2026-01-01T00:00:00.000000Z"
WORKERS = (1, 2)  # few, so that answers, bonuses and taps meet on the same worker
EARNED_KINDS = ("earning", "bonus", "discount")
MINIMUM = {"USD": 30_000}  # a full USD unit (60_000) reaches it, a discounted one not
DEFAULT_MINIMUM = 10

#: two projects whose rules differ in every way that touches money
PROJECTS: dict[str, dict[str, Any]] = {
    "usd": {"reward": "0.02", "currency": "USD", "settle_unit": 3, "overlap": 2,
            "unit_accuracy": 0.6, "discount": "0.3", "auto_approve_hours": 24,
            "min_gold": 1, "skill_bonus": {"min_accuracy": 0.5, "percent": 15}},
    "cny": {"reward": "0.000007", "currency": "CNY", "settle_unit": 2, "overlap": 1,
            "unit_accuracy": 1.0, "discount": "0.333333", "auto_approve_hours": 0.5},
}


# -- operations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    worker: int
    project: str
    gold: bool
    right: bool
    label: int
    seconds: int


@dataclass(frozen=True)
class Settle:
    pass


@dataclass(frozen=True)
class Advance:
    hours: float


@dataclass(frozen=True)
class Bonus:
    worker: int
    amount: int
    currency: str
    key: int


@dataclass(frozen=True)
class Request:
    worker: int
    tap: int


@dataclass(frozen=True)
class Decide:
    pick: int
    #: pick among the requests still open (else among all, decided ones included)
    open_only: bool
    approve: bool
    reason: str


@dataclass(frozen=True)
class Replay:
    pick: int


Op = Answer | Settle | Advance | Bonus | Request | Decide | Replay

workers = st.sampled_from(WORKERS)
answers = st.builds(Answer, workers, st.sampled_from(sorted(PROJECTS)), st.booleans(),
                    st.booleans(), st.integers(0, 2), st.integers(1, 120))
requests = st.builds(Request, workers, st.integers(0, 2))
decisions = st.builds(Decide, st.integers(0, 20), st.booleans(), st.booleans(),
                      st.sampled_from(["", "  ", "bank details wrong", "no account"]))
operations = st.one_of(
    answers,
    answers,
    st.just(Settle()),
    st.builds(Advance, st.sampled_from([0.1, 1.0, 6.0, 25.0, 49.0, 80.0])),
    st.builds(Bonus, workers, st.integers(1, 200_000), st.sampled_from(["USD", "CNY"]),
              st.integers(0, 3)),
    requests,
    requests,
    decisions,
    decisions,
    st.builds(Replay, st.integers(0, 1000)),
)


# -- the run -----------------------------------------------------------------------------


@dataclass
class Run:
    services: Services
    clock: FakeClock
    #: the operations done so far, each with what a replay needs (assignment, choice …)
    done: list[tuple[Op, dict[str, Any]]] = field(default_factory=list)
    bonus_keys: set[str] = field(default_factory=set)
    #: (request key, currency) -> payout id
    requests: dict[tuple[str, str], int] = field(default_factory=dict)
    #: the ledger as last seen: id -> row
    seen: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    #: what the operation being done leaves for a replay of it
    last: dict[str, Any] = field(default_factory=dict)

    async def count(self) -> int:
        return ledger_count(self.services.db)

    # -- doing -------------------------------------------------------------------------
    async def do(self, op: Op, replay: bool = False) -> None:
        before = await self.count()
        self.last = {}
        if isinstance(op, Answer):
            await self.answer(op, before)
        elif isinstance(op, Settle):
            await self.settle()
        elif isinstance(op, Advance):
            self.clock.advance(hours=op.hours)
        elif isinstance(op, Bonus):
            await self.bonus(op, before)
        elif isinstance(op, Request):
            await self.request(op, before)
        elif isinstance(op, Decide):
            await self.decide(op, before)
        elif isinstance(op, Replay):
            await self.replay(op, before)
        if not replay and not isinstance(op, Replay):
            self.done.append((op, self.last))
        await self.check()

    async def answer(self, op: Answer, before: int) -> None:
        work = self.services.work
        # decides this task if a new one is leased now, else the one leased after it
        work.rng = FixedRandom(0.0 if op.gold else 0.99)
        served = await work.start(op.worker, op.project)  # the open task, if any
        task = served.task
        if task is None:  # nothing left for this worker
            return
        async with self.services.db.read() as conn:
            item = await item_store.get(conn, task.item_id)
            lease = await assignment_store.get(conn, task.assignment_id)
        assert item is not None and lease is not None
        if item.gold is not None:
            value = item.gold if op.right else LABELS[(LABELS.index(item.gold) + 1) % 3]
        else:
            value = LABELS[op.label]
        choice = LABELS.index(value)
        await work.delivered(task, op.worker, 1000 + task.assignment_id)
        # think inside the lease: an answer after it ran out is the expiry tests' business
        left = (from_iso(lease.expires_at) - self.clock.now()).total_seconds()
        self.clock.advance(seconds=min(op.seconds, max(0.0, left - 1)))
        result = await work.answer_choice(op.worker, task.assignment_id, choice)
        assert result.outcome is Outcome.ACCEPTED
        self.last = {"assignment": task.assignment_id, "choice": choice}
        new = [(e.kind, e.bucket, e.amount, e.currency, e.key)
               for e in ledger_entries(self.services.db)[-1:]]
        assert await self.count() == before + 1
        spec = parse_project(project_doc(op.project))
        assert new == [("earning", "pending", spec.reward_micros, spec.currency,
                         f"earn:{task.assignment_id}")]

    async def settle(self) -> None:
        db = self.services.db
        waiting = {u.id for u in units(db) if u.status != "settled"}
        # gold standing now: no answer comes in while the job runs
        gold = gold_standing(db)
        settled = await self.services.payroll.settle_due()
        now_settled = {u.id for u in units(db) if u.status == "settled"}
        assert settled == len(waiting & now_settled)
        # nothing the job could pay is left behind: every unit still open waits for an
        # answer, for another worker's answer, or for its auto-approval time
        now = self.clock.now()
        names = project_names(db)
        final: dict[int, list[bool]] = defaultdict(list)  # unit -> its items judged yet
        for a, i in with_items(db):
            if a.unit_id is not None:
                final[a.unit_id].append(i.gold is not None
                                        or (i.state == DONE and i.label is not None))
        for unit in units(db):
            if unit.status == "settled" or unit.id not in final:
                continue
            unit_id, status, last = unit.id, unit.status, unit.last_answer_at
            hours = PROJECTS[names[unit.project_id]]["auto_approve_hours"]
            assert last > to_iso(now - timedelta(hours=hours)), f"unit {unit_id} is overdue"
            assert not (status == "waiting" and min(final[unit_id])), \
                f"unit {unit_id} can be judged"
        for unit_id, worker, project, name, outcome in [
                (u.id, u.worker_id, u.project_id, names[u.project_id], u.outcome)
                for u in units(db) if u.status == "settled"]:
            if unit_id not in waiting:
                continue
            event(f"unit settled: {outcome}")
            # the skill bonus: a share of the pay, only for good gold work
            spec = parse_project(project_doc(name))
            paid = sum(e.amount for e in ledger_entries(db) if e.unit_id == unit_id
                       and e.bucket == "available" and e.kind in ("release", "discount"))
            total, correct = gold.get((worker, project), (0, 0))
            rule = spec.skill_bonus
            expected = 0
            if rule is not None and paid > 0 and total >= spec.min_gold \
                    and Fraction(correct) >= Fraction(str(rule.min_accuracy)) * total:
                expected = paid * rule.percent // 100
            bonus = [(e.amount, e.bucket, e.key) for e in ledger_entries(db)
                     if e.unit_id == unit_id and e.kind == "bonus"]
            assert bonus == ([(expected, "available", f"unit:{unit_id}:skill")]
                             if expected else [])
            if expected:
                event("skill bonus")

    async def bonus(self, op: Bonus, before: int) -> None:
        key = f"k{op.key}"
        created = await self.services.payroll.bonus(op.worker, op.amount, op.currency,
                                                    "thanks", key)
        assert created == (key not in self.bonus_keys)
        event("bonus paid" if created else "bonus key repeated")
        assert await self.count() == before + created
        self.bonus_keys.add(key)

    async def request(self, op: Request, before: int) -> None:
        key = f"req:{op.worker}:{op.tap}"
        available = {c: v for (w, c, b), v in (await self.sums()).items()
                     if w == op.worker and b == "available"}
        results = await self.services.payroll.request_payout(op.worker, key)
        made_before = {pid for (k, _c), pid in self.requests.items() if k == key}
        if made_before:  # a repeated tap returns what it made, whatever arrived since
            assert {r.payout.id for r in results if r.payout} == made_before
            assert not any(r.created for r in results)
            event("payout request repeated")
            assert await self.count() == before
            return
        created = 0
        for r in results:
            if r.refused == "nothing":
                assert r.payout is None and len(results) == 1
                continue
            known = self.requests.get((key, r.currency))
            if known is not None:  # a double tap: the request made before, nothing new
                assert r.payout is not None and r.payout.id == known and not r.created
                event("payout request repeated")
                continue
            minimum = MINIMUM.get(r.currency, DEFAULT_MINIMUM)
            if r.refused == "below_minimum":
                assert 0 < r.available == available[r.currency] < minimum == r.minimum
                event("payout below minimum")
                continue
            assert r.created and r.payout is not None
            assert r.payout.amount == available[r.currency] >= minimum
            assert r.payout.worker_id == op.worker and r.payout.status == "requested"
            self.requests[(key, r.currency)] = r.payout.id
            event("payout requested")
            created += 1
        for currency, amount in available.items():  # nothing reservable is left behind
            after = (await self.sums()).get((op.worker, currency, "available"), 0)
            assert after == 0 or after == amount < MINIMUM.get(currency, DEFAULT_MINIMUM) \
                or (key, currency) in self.requests
        assert await self.count() == before + 2 * created

    async def decide(self, op: Decide, before: int) -> None:
        payouts = await self.services.payroll.payouts("requested" if op.open_only else None)
        if not payouts:
            return
        payout = payouts[op.pick % len(payouts)]
        self.last = {"payout": payout.id}
        await self.decide_on(payout.id, op.approve, op.reason, before)

    async def decide_on(self, payout_id: int, approve: bool, reason: str,
                        before: int) -> None:
        [payout] = [p for p in await self.services.payroll.payouts() if p.id == payout_id]
        notices = len(outbox_rows(self.services.db))
        refused = payout.status != "requested" or (not approve and not reason.strip())
        if refused:
            with pytest.raises(TapworkError):
                await self.services.payroll.decide_payout(payout_id, approve, reason)
            assert await self.count() == before
            assert len(outbox_rows(self.services.db)) == notices
            [again] = [p for p in await self.services.payroll.payouts() if p.id == payout_id]
            assert again == payout
            event("decision refused")
            return
        decided = await self.services.payroll.decide_payout(payout_id, approve, reason)
        assert decided.status == ("approved" if approve else "rejected")
        event(f"payout {decided.status}")
        assert await self.count() == before + 2
        kind = "payout_approved" if approve else "payout_rejected"
        told = [n for n in outbox_rows(self.services.db)
                if n.key == f"payout:{payout_id}:{decided.status}"]
        [payload] = [n.payload for n in told]
        assert json.loads(payload)["amount"] == payout.amount
        assert [(n.kind,) for n in told] == [(kind,)]
        if not approve:
            assert decided.reason == reason and json.loads(payload)["reason"] == reason

    async def replay(self, op: Replay, before: int) -> None:
        """The same update again (a webhook retry, a double tap, a re-run job)."""
        if not self.done:
            return
        original, facts = self.done[op.pick % len(self.done)]
        if isinstance(original, Answer):
            if not facts:
                return
            result = await self.services.work.answer_choice(
                original.worker, facts["assignment"], facts["choice"])
            assert result.outcome is Outcome.ALREADY_ANSWERED
            event("answer replayed")
            # the same button pressed by someone else (forged callback data)
            other = next(w for w in WORKERS if w != original.worker)
            forged = await self.services.work.answer_choice(other, facts["assignment"], 0)
            assert forged.outcome is Outcome.FORGED
            assert await self.count() == before
        elif isinstance(original, Decide):
            if facts:
                await self.decide_on(facts["payout"], original.approve, original.reason,
                                     before)
        elif not isinstance(original, Advance):  # time is not an update: never replayed
            await self.do(original, replay=True)

    # -- checking ------------------------------------------------------------------------
    async def sums(self) -> dict[tuple[int, str, str], int]:
        return bucket_sums(self.services.db)

    async def check(self) -> None:
        """Every invariant of the ledger after a step, one method each, on the same rows."""
        db = self.services.db
        rows: dict[int, tuple[Any, ...]] = {e.id: e for e in ledger_entries(db)}
        self._check_append_only(rows)
        raw = await self.sums()
        await self._check_balances(raw)
        self._check_money_flow(rows, raw)
        await self._check_payouts(raw)
        self._check_pending(raw)
        self._check_settled_units(rows)

    def _check_append_only(self, rows: dict[int, tuple[Any, ...]]) -> None:
        db = self.services.db
        # entries are never modified or removed; new ones only come after the old ones
        for entry_id, row in self.seen.items():
            assert rows.get(entry_id) == row, f"entry {entry_id} changed"
        assert all(i > max(self.seen, default=0) for i in set(rows) - set(self.seen))
        self.seen = rows
        # one key never makes two entries
        assert duplicate_keys(db) == {"ledger": [], "outbox": []}
        assert all(type(r[5]) is int for r in rows.values())  # amounts are integer micros

    async def _check_balances(self, raw: dict[tuple[int, str, str], int]) -> None:
        # balances are sums of entries, never negative
        assert all(v >= 0 for v in raw.values()), raw
        shown = await self.services.payroll.balances()
        for worker, balances in shown.items():
            for b in balances:
                for name in ("pending", "available", "reserved", "paid"):
                    assert getattr(b, name) == raw.get((worker, b.currency, name), 0)
        assert {(w, b.currency) for w, bs in shown.items() for b in bs} \
            == {(w, c) for w, c, _ in raw}

    @staticmethod
    def _check_money_flow(rows: dict[int, tuple[Any, ...]],
                          raw: dict[tuple[int, str, str], int]) -> None:
        # money only enters as earnings, bonuses and discounts; moves net to zero;
        # nobody is paid more than they earned
        earned: dict[tuple[int, str], int] = defaultdict(int)
        held: dict[tuple[int, str], int] = defaultdict(int)
        for r in rows.values():
            held[(r[1], r[2])] += r[5]
            if r[3] in EARNED_KINDS:
                earned[(r[1], r[2])] += r[5]
        assert dict(held) == dict(earned)
        for (w, c), value in earned.items():
            assert 0 <= raw.get((w, c, "paid"), 0) <= value
        assert sum(v for (_, _, b), v in raw.items() if b == "paid") <= sum(earned.values())

    async def _check_payouts(self, raw: dict[tuple[int, str, str], int]) -> None:
        # reserved and paid match the payout requests
        requested: dict[tuple[int, str], int] = defaultdict(int)
        approved: dict[tuple[int, str], int] = defaultdict(int)
        for p in await self.services.payroll.payouts():
            if p.status == "requested":
                requested[(p.worker_id, p.currency)] += p.amount
            elif p.status == "approved":
                approved[(p.worker_id, p.currency)] += p.amount
        for (w, c, b), v in raw.items():
            if b == "reserved":
                assert v == requested.get((w, c), 0)
            if b == "paid":
                assert v == approved.get((w, c), 0)
        assert all(raw.get((w, c, "reserved"), 0) == v for (w, c), v in requested.items())

    def _check_pending(self, raw: dict[tuple[int, str, str], int]) -> None:
        # pending is exactly the earnings of units not settled yet
        db = self.services.db
        pending: dict[tuple[int, str], int] = defaultdict(int)
        open_units = {u.id for u in units(db) if u.status != "settled"}
        for e in ledger_entries(db):
            if e.kind == "earning" and e.unit_id in open_units:
                pending[(e.worker_id, e.currency)] += e.amount
        for (w, c, b), v in raw.items():
            if b == "pending":
                assert v == pending.get((w, c), 0)

    def _check_settled_units(self, rows: dict[int, tuple[Any, ...]]) -> None:
        # a settled unit is paid as its verdict says, and its worker is told once
        db = self.services.db
        names = project_names(db)
        for unit_id, outcome, name, settled in [
                (u.id, u.outcome, names[u.project_id], u.status == "settled")
                for u in units(db)]:
            entries = [r for r in rows.values() if r[7] == unit_id]
            value = sum(r[5] for r in entries if r[3] == "earning")
            notices = [(n.kind,) for n in outbox_rows(db) if n.key == f"unit:{unit_id}"]
            if not settled:
                assert all(r[3] == "earning" for r in entries) and notices == []
                continue
            assert notices == [("settled",)]
            spec = parse_project(project_doc(name))
            released = sum(r[5] for r in entries if r[3] == "release" and r[4] == "available")
            assert released == value == -sum(r[5] for r in entries
                                             if r[3] == "release" and r[4] == "pending")
            paid = released + sum(r[5] for r in entries if r[3] == "discount")
            if outcome in (FULL, AUTO):
                assert paid == value
            else:
                assert outcome == DISCOUNTED
                assert paid == value * spec.discount.numerator // spec.discount.denominator
                assert Fraction(paid) <= spec.discount * value < paid + 1

def project_doc(name: str) -> dict[str, object]:
    return sentiment_doc(name=name, min_accuracy=0.0, **PROJECTS[name])


async def open_run(path: Path) -> Run:
    config = Config(storage=StorageConfig(path=str(path)),
                    payouts=PayoutsConfig(min_payout=dict(MINIMUM),
                                          default_min_payout=DEFAULT_MINIMUM))
    clock = FakeClock()
    services = await Services.open(config, clock)
    try:
        for name in PROJECTS:
            project, _ = await services.catalog.save(parse_project(project_doc(name)))
            async with services.db.transaction() as conn:
                await item_store.insert_many(conn, project.id, [
                    item_store.NewItem(f"{name}-{i}", f"{name} {i}", None,
                                       LABELS[i % 3] if i >= 30 else None, False, None,
                                       None)
                    for i in range(42)], NOW)  # 30 plain items, 12 gold
        for worker in WORKERS:
            await add_worker(services, worker)
    except BaseException:
        await services.close()
        raise
    return Run(services, clock)


async def play(path: Path, ops: list[Op]) -> None:
    run = await open_run(path)
    try:
        await run.check()
        for op in ops:
            await run.do(op)
    finally:
        await run.services.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operations, min_size=10, max_size=40))
def test_any_sequence_keeps_the_ledger_whole(tmp_path_factory: pytest.TempPathFactory,
                                             ops: list[Op]) -> None:
    asyncio.run(play(tmp_path_factory.mktemp("db") / "t.db", ops))


# a sequence weighted towards money moving: many answers, then settling and paying
busy = st.lists(st.one_of(
    answers,
    answers,
    answers,
    st.just(Settle()),
    st.builds(Advance, st.sampled_from([25.0, 49.0])),
    requests,
    decisions,
    st.builds(Replay, st.integers(0, 1000)),
), min_size=20, max_size=50)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=busy)
def test_busy_sequences_keep_the_ledger_whole(tmp_path_factory: pytest.TempPathFactory,
                                              ops: list[Op]) -> None:
    asyncio.run(play(tmp_path_factory.mktemp("db") / "t.db", ops))


# rounds in which one worker answers a few items and the job may run in between, so units
# found unresolved must be judged again once the other worker makes their items final
def rounds(plan: list[tuple[int, int, int, bool, float]]) -> list[Op]:
    ops: list[Op] = []
    for worker, count, label, settle, hours in plan:
        ops += [Answer(worker, "usd", False, True, label, 10)] * count
        ops += [Settle()] if settle else []
        ops += [Advance(hours)] if hours else []
    return ops


settling = st.lists(st.tuples(workers, st.integers(1, 4), st.sampled_from([0, 0, 1]),
                              st.booleans(), st.sampled_from([0.0, 0.0, 0.0, 0.1, 30.0])),
                    min_size=3, max_size=14).map(rounds)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=settling)
def test_settling_between_answers_pays_every_unit_in_time(
        tmp_path_factory: pytest.TempPathFactory, ops: list[Op]) -> None:
    asyncio.run(play(tmp_path_factory.mktemp("db") / "t.db", ops))
