"""Money against a real SQLite file: earnings, settlement units, bonuses, payouts, wallet.

Earnings come from real answers driven through ``services.work`` (the payroll is its
``earnings``); gold is forced or avoided by stubbing ``services.work.rng`` and
time moves only through the ``FakeClock``.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.config import PayoutsConfig
from bot.domain.errors import ProjectError, TapworkError
from bot.domain.limits import MAX_AMOUNT
from bot.domain.projects import Project, parse_project
from bot.domain.records import LedgerEntry
from bot.services.ledger import AUTO, DISCOUNTED, FULL, ProjectMoney, discounted, judge
from bot.services.work import Outcome
from bot.wiring import Services
from storage import items as item_store
from storage import ledger as ledger_store
from storage.items import DONE
from storage.units import UnitAnswer
from tests.conftest import FixedRandom, add_project, add_worker, sentiment_doc
from tests.state import (
    answered,
    assignments,
    items,
    ledger_count,
    ledger_entries,
    outbox_rows,
    payout_count,
    stored_amounts,
    with_items,
)
from tests.state import (
    units as unit_rows,
)

LABELS = ("positive", "neutral", "negative")
NOW = "2026-01-01T00:00:00.000000Z"
REWARD = 20_000  # "0.02" in micros, the reward of sentiment_doc()


GOLD, PLAIN = FixedRandom(0.0), FixedRandom(0.99)


# -- helpers ---------------------------------------------------------------------------


async def ledger(services: Services) -> list[LedgerEntry]:
    return ledger_entries(services.db)


async def outbox(services: Services, kind: str | None = None
                 ) -> list[tuple[int, dict[str, object]]]:
    return [(n.worker_id, json.loads(n.payload)) for n in outbox_rows(services.db)
            if kind in (None, n.kind)]


async def sums(services: Services) -> dict[tuple[int, str, str], int]:
    """(worker, currency, bucket) -> micros, recomputed in Python from the raw rows."""
    total: dict[tuple[int, str, str], int] = defaultdict(int)
    for e in ledger_entries(services.db):
        assert isinstance(e.amount, int)
        total[(e.worker_id, e.currency, e.bucket)] += e.amount
    return dict(total)


async def bucket(services: Services, worker: int, name: str, currency: str = "USD") -> int:
    balances = (await services.payroll.balances(worker)).get(worker, [])
    return sum(getattr(b, name) for b in balances if b.currency == currency)


async def add_gold(services: Services, project_id: int, golds: list[str],
                   prefix: str = "gold") -> None:
    async with services.db.transaction() as conn:
        await item_store.insert_many(conn, project_id, [
            item_store.NewItem(f"{prefix}-{i}", f"{prefix} text {i}", None, gold, False,
                               {"en": f"why {i}"}, None)
            for i, gold in enumerate(golds)], NOW)


async def gold_project(services: Services, *, golds: int = 6, items: int = 10,
                       **extra: object) -> int:
    """``items`` plain items and ``golds`` gold ones (all "positive")."""
    extra.setdefault("min_accuracy", 0.0)  # wrong gold on purpose never suspends here
    project_id = await add_project(services, items=items, **extra)
    await add_gold(services, project_id, ["positive"] * golds)
    return project_id


Plan = bool | str


async def work(services: Services, clock: FakeClock, worker: int, plan: list[Plan], *,
               project: str = "reviews", seconds: float = 10.0) -> list[int]:
    """Answer one task per entry: ``True``/``False`` is a gold item answered right/wrong,
    a label is a plain item answered with that label. Returns the assignment ids.

    Whether the next task is gold is decided when it is leased (right after the previous
    answer), so the rng is set for the next entry before each answer; the task leased
    after the last answer is given back, so every call starts afresh.
    """
    def rng_for(i: int) -> FixedRandom:
        return GOLD if i < len(plan) and isinstance(plan[i], bool) else PLAIN

    services.work.rng = rng_for(0)
    served = await services.work.start(worker, project)
    task = served.task
    done: list[int] = []
    for i, entry in enumerate(plan):
        assert task is not None, f"no task for entry {i}: {served}"
        async with services.db.read() as conn:
            item = await item_store.get(conn, task.item_id)
        assert item is not None
        if isinstance(entry, bool):
            assert item.gold is not None, f"entry {i} wanted a gold item"
            value = item.gold if entry else next(x for x in LABELS if x != item.gold)
        else:
            assert item.gold is None, f"entry {i} wanted a plain item"
            value = entry
        services.work.rng = rng_for(i + 1)
        await services.work.delivered(task, worker, 1000 + task.assignment_id)
        clock.advance(seconds=seconds)
        result = await services.work.answer_choice(worker, task.assignment_id,
                                                   LABELS.index(value))
        assert result.outcome is Outcome.ACCEPTED
        done.append(task.assignment_id)
        assert result.served is not None
        served, task = result.served, result.served.task
    if task is not None:
        await services.work.stop(worker, task.assignment_id)
    return done


async def worker_in(services: Services, worker: int) -> int:
    await add_worker(services, worker)
    return worker


async def units(services: Services) -> list[tuple[object, ...]]:
    return [(u.id, u.worker_id, u.answers, u.status, u.outcome, u.accuracy)
            for u in unit_rows(services.db)]


# -- amounts: integer micros, rewards converted exactly or refused ---------------------


@pytest.mark.parametrize(("text", "micros"), [
    ("0.02", 20_000), ("1", 1_000_000), ("0.000001", 1), ("12.345678", 12_345_678),
    ("0", 0), ("0.10", 100_000), (" 0.5 ", 500_000), ("1000000", 10**12)])
def test_reward_converts_exactly_to_micros(text: str, micros: int) -> None:
    spec = parse_project(sentiment_doc(reward=text))
    assert spec.reward_micros == micros
    assert type(spec.reward_micros) is int


@pytest.mark.parametrize(("reward", "why"), [
    ("0.0000001", "more than 6 decimals"),
    ("0.1234567", "more than 6 decimals"),
    ("-0.02", "negative"),
    ("-1", "negative"),
    ("abc", "not a decimal"),
    ("1e-2", "not a decimal"),
    ("", "not a decimal"),
    ("NaN", "not a decimal"),
    ("Infinity", "not a decimal"),
    ("0,02", "not a decimal"),
    ("0.02 USD", "not a decimal"),
    (0.02, "decimal string"),
    (2, "decimal string"),
    (True, "decimal string"),
])
def test_reward_that_would_not_convert_exactly_is_refused(reward: object, why: str) -> None:
    with pytest.raises(ProjectError, match=why):
        parse_project(sentiment_doc(reward=reward))


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=MAX_AMOUNT // 1_000_000, places=6, allow_nan=False,
                   allow_infinity=False))
def test_any_reward_of_at_most_six_decimals_is_exact(amount: Decimal) -> None:
    text = f"{amount.copy_abs():f}"  # never "-0.000000"
    assert parse_project(sentiment_doc(reward=text)).reward_micros \
        == int(amount * 1_000_000) == Fraction(text) * 1_000_000


async def test_every_amount_in_the_ledger_is_an_integer(services: Services,
                                                        clock: FakeClock) -> None:
    await gold_project(services, reward="0.000007", settle_unit=3, discount="0.3")
    await worker_in(services, 1)
    await work(services, clock, 1, [True, False, False])
    await services.payroll.bonus(1, 3, "USD", "thanks", "b1")
    assert await services.payroll.settle_due() == 1
    stored = stored_amounts(services.db)
    assert stored and all(kind == "integer" for kind, _ in stored)
    assert all(type(b.available) is int for b in (await services.payroll.balances(1))[1])


# -- earning ----------------------------------------------------------------------------


async def test_each_accepted_answer_earns_pending_once(services: Services,
                                                       clock: FakeClock) -> None:
    await gold_project(services)
    await worker_in(services, 1)
    done = await work(services, clock, 1, ["positive", "negative", "neutral"])
    entries = [(e.kind, e.bucket, e.amount, e.key, e.assignment_id)
               for e in ledger_entries(services.db)]
    assert entries == [("earning", "pending", REWARD, f"earn:{a}", a) for a in done]
    assert await bucket(services, 1, "pending") == 3 * REWARD
    assert await bucket(services, 1, "available") == 0

    # a double tap or a replayed update of an earlier answer earns nothing more
    for assignment in done:
        again = await services.work.answer_choice(1, assignment, 0)
        assert again.outcome is Outcome.ALREADY_ANSWERED
    assert ledger_count(services.db) == 3
    assert await bucket(services, 1, "pending") == 3 * REWARD


async def test_skipped_and_expired_tasks_earn_nothing(services: Services,
                                                      clock: FakeClock) -> None:
    await gold_project(services)
    await worker_in(services, 1)
    services.work.rng = PLAIN
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    skipped = await services.work.skip(1, task.assignment_id)
    assert skipped.served is not None and skipped.served.task is not None
    clock.advance(minutes=11)  # the lease ran out
    late = await services.work.answer_choice(1, skipped.served.task.assignment_id, 0)
    assert late.outcome is Outcome.EXPIRED
    assert ledger_count(services.db) == 0


# -- settlement units --------------------------------------------------------------------


async def test_full_unit_of_right_answers_is_paid_in_full(services: Services,
                                                          clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True])
    assert await services.payroll.settle_due() == 0  # the unit is still filling
    assert await bucket(services, 1, "pending") == REWARD
    await work(services, clock, 1, [True])
    assert await services.payroll.settle_due() == 1
    assert await bucket(services, 1, "pending") == 0
    assert await bucket(services, 1, "available") == 2 * REWARD
    assert await units(services) == [(1, 1, 2, "settled", FULL, 1.0)]
    [(worker, notice)] = await outbox(services, "settled")
    assert worker == 1
    assert notice["outcome"] == FULL and notice["wrong"] == []
    assert notice["value"] == notice["paid"] == 2 * REWARD
    assert notice["currency"] == "USD" and notice["answers"] == 2
    kinds = [(e.kind, e.bucket, e.amount, e.reason) for e in ledger_entries(services.db)
             if e.unit_id == 1 and e.kind != "earning"]
    assert kinds == [("release", "pending", -2 * REWARD, FULL),
                     ("release", "available", 2 * REWARD, FULL)]


async def test_unit_below_unit_accuracy_is_paid_the_discount_and_told_why(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)  # unit_accuracy 1.0, discount 0.5
    await worker_in(services, 1)
    first, second = await work(services, clock, 1, [True, False])
    assert await services.payroll.settle_due() == 1
    assert await bucket(services, 1, "available") == REWARD  # half of 2 * REWARD
    assert await bucket(services, 1, "pending") == 0
    discount = [(e.amount, e.reason, e.key) for e in ledger_entries(services.db)
                if e.kind == "discount"]
    assert discount == [(-REWARD, DISCOUNTED, "unit:1:discount")]
    assert await units(services) == [(1, 1, 2, "settled", DISCOUNTED, 0.5)]
    [(worker, notice)] = await outbox(services, "settled")
    assert worker == 1 and notice["outcome"] == DISCOUNTED
    assert notice["value"] == 2 * REWARD and notice["paid"] == REWARD
    assert notice["accuracy"] == 0.5 and notice["needed"] == 1.0
    [(ext_id, text)] = [(i.ext_id, i.text) for a, i in with_items(services.db)
                        if a.id == second]
    assert notice["wrong"] == [{"item": ext_id, "text": text, "answer": "neutral",
                                "accepted": "positive"}]
    assert next(a.gold_correct for a in assignments(services.db) if a.id == first) == 1


@pytest.mark.parametrize(("plan", "outcome", "paid"), [
    ([True, True, True, False], FULL, 4 * REWARD),      # 0.75 >= 0.75
    ([True, True, False, False], DISCOUNTED, 2 * REWARD),  # 0.5 < 0.75: half of 4
    ([False, False, False, False], DISCOUNTED, 2 * REWARD),
])
async def test_unit_accuracy_is_the_threshold(services: Services, clock: FakeClock,
                                              plan: list[Plan], outcome: str,
                                              paid: int) -> None:
    await gold_project(services, settle_unit=4, unit_accuracy=0.75)
    await worker_in(services, 1)
    await work(services, clock, 1, plan)
    assert await services.payroll.settle_due() == 1
    assert (await units(services))[0][4] == outcome
    assert await bucket(services, 1, "available") == paid


async def test_discount_is_exact_integer_arithmetic_rounded_down(services: Services,
                                                                 clock: FakeClock) -> None:
    # 3 answers of 7 micros = 21; 0.3 of 21 is 6.3 -> 6, never a float's 6.299999
    await gold_project(services, reward="0.000007", settle_unit=3, discount="0.3")
    await worker_in(services, 1)
    await work(services, clock, 1, [False, True, True])
    assert await services.payroll.settle_due() == 1
    assert await bucket(services, 1, "available") == 6
    assert next(e.amount for e in ledger_entries(services.db) if e.kind == "discount") == -15
    [(_, notice)] = await outbox(services, "settled")
    assert (notice["value"], notice["paid"]) == (21, 6)


@pytest.mark.parametrize(("share", "value", "paid"), [
    ("0.29", 100, 29),          # float: int(0.29 * 100) == 28
    ("0.1", 30, 3),
    ("0.7", 10, 7),
    ("0.333333", 1_000_000, 333_333),
    ("0.5", 1, 0),              # rounded down, never up
    ("0", 1_000, 0),
    ("1", 123_457, 123_457),
    (0.29, 100, 29),            # a TOML float is read from its decimal text
])
def test_discounted_share_is_exact(share: object, value: int, paid: int) -> None:
    spec = parse_project(sentiment_doc(discount=share))
    assert discounted(value, Project(1, spec, "open")) == paid


async def test_plain_item_is_judged_against_its_final_label(services: Services,
                                                            clock: FakeClock) -> None:
    """A unit waits until the other workers have made the item's label final."""
    await gold_project(services, overlap=3, settle_unit=1, golds=0)
    for w in (1, 2, 3):
        await worker_in(services, w)
    [a1] = await work(services, clock, 1, ["negative"])
    assert await services.payroll.settle_due() == 0  # one of three answers: not resolved
    await work(services, clock, 2, ["positive"])
    assert await services.payroll.settle_due() == 0
    await work(services, clock, 3, ["positive"])
    item = next(a.item_id for a in assignments(services.db) if a.id == a1)
    assert len({a.item_id for a in answered(services.db)}) == 1
    assert [(i.state, i.label) for i in items(services.db) if i.id == item] \
        == [(DONE, "positive")]
    assert await services.payroll.settle_due() == 3
    assert [(u[1], u[4]) for u in await units(services)] \
        == [(1, DISCOUNTED), (2, FULL), (3, FULL)]
    assert await bucket(services, 1, "available") == REWARD // 2
    assert await bucket(services, 2, "available") == REWARD
    notices = dict(await outbox(services, "settled"))
    assert notices[1]["wrong"] == [{"item": "it-0", "text": "text 0", "answer": "negative",
                                    "accepted": "positive"}]
    assert notices[2]["wrong"] == [] and notices[3]["wrong"] == []


async def test_unresolved_full_unit_is_auto_approved_after_the_idle_hours(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services, overlap=3, settle_unit=1, auto_approve_hours=72)
    await worker_in(services, 1)
    await work(services, clock, 1, ["negative"])
    assert await services.payroll.settle_due() == 0
    clock.advance(hours=71, minutes=59)
    assert await services.payroll.settle_due() == 0
    assert await bucket(services, 1, "pending") == REWARD
    clock.advance(minutes=2)
    assert await services.payroll.settle_due() == 1
    assert await bucket(services, 1, "pending") == 0
    assert await bucket(services, 1, "available") == REWARD
    assert await units(services) == [(1, 1, 1, "settled", AUTO, None)]
    [(_, notice)] = await outbox(services, "settled")
    assert notice["outcome"] == AUTO and notice["paid"] == REWARD
    assert [(r,) for r in dict.fromkeys(e.reason for e in ledger_entries(services.db)
                                        if e.kind == "release")] \
        == [(AUTO,)]


async def test_partly_filled_unit_is_auto_approved_after_the_idle_hours(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=10, auto_approve_hours=5)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, False, "neutral"])
    clock.advance(hours=4)
    assert await services.payroll.settle_due() == 0
    clock.advance(hours=1)
    assert await services.payroll.settle_due() == 1
    # idle means "not judged": paid in full, even with a wrong gold answer inside
    assert await bucket(services, 1, "available") == 3 * REWARD
    # the next answer opens a new unit
    await work(services, clock, 1, ["neutral"])
    assert [(u[2], u[3]) for u in await units(services)] == [(3, "settled"), (1, "filling")]


async def test_auto_approval_shorter_than_an_hour_is_honoured(services: Services,
                                                              clock: FakeClock) -> None:
    """Once a bug: settle_due looked only at units idle for a fixed hour."""
    await gold_project(services, settle_unit=10, auto_approve_hours=0.5)
    await worker_in(services, 1)
    await work(services, clock, 1, ["neutral"])
    clock.advance(minutes=29)
    assert await services.payroll.settle_due() == 0
    clock.advance(minutes=2)
    assert await services.payroll.settle_due() == 1
    assert await units(services) == [(1, 1, 1, "settled", AUTO, None)]


async def test_resolved_unit_is_paid_behind_many_waiting_ones(services: Services,
                                                              clock: FakeClock) -> None:
    """Once a bug: the oldest 200 unresolved units hid every newer one from settle_due."""
    await gold_project(services, overlap=3, settle_unit=1, items=201, golds=1)
    for w in (1, 2, 3):
        await worker_in(services, w)
    await work(services, clock, 1, ["positive"] * 200 + [True], seconds=1)
    assert sum(1 for u in unit_rows(services.db) if u.status == "waiting") == 201
    # 200 units wait for other workers; the last holds a gold answer and can be judged now
    assert await services.payroll.settle_due() == 1
    assert sum(1 for u in unit_rows(services.db)
               if u.status == "settled" and u.outcome == "full") == 1
    assert await services.payroll.settle_due() == 0
    # two more answers make the oldest item final: its unit is judged on the next run
    # (worker 2 agrees, so the item is sure and worker 3, a newcomer, is served it first)
    await work(services, clock, 2, ["positive"])
    assert await services.payroll.settle_due() == 0
    await work(services, clock, 3, ["negative"])
    assert await services.payroll.settle_due() == 3  # workers 1, 2 and 3 on item it-0
    assert [(u.worker_id, u.outcome) for u in sorted(unit_rows(services.db),
                                                     key=lambda u: (u.worker_id, u.id))
            if u.status == "settled"] == [(1, FULL), (1, FULL), (2, FULL), (3, DISCOUNTED)]
    clock.advance(hours=72)  # the rest are auto-approved, all of them
    assert await services.payroll.settle_due() == 199
    assert await bucket(services, 1, "pending") == 0
    assert await bucket(services, 1, "available") == 201 * REWARD


async def test_settling_twice_changes_nothing(services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, False])
    assert await services.payroll.settle_due() == 1
    before, notices = await ledger(services), await outbox(services)
    assert await services.payroll.settle_due() == 0
    clock.advance(hours=100)  # not even the auto-approval settles it again
    assert await services.payroll.settle_due() == 0
    assert await ledger(services) == before
    assert await outbox(services) == notices


async def test_skill_bonus_for_accurate_gold_work(services: Services,
                                                  clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2, min_gold=2,
                       skill_bonus={"min_accuracy": 0.75, "percent": 20})
    await worker_in(services, 1)
    await work(services, clock, 1, [True, True])
    assert await services.payroll.settle_due() == 1
    bonus = [(e.amount, e.reason, e.key, e.bucket) for e in ledger_entries(services.db)
             if e.kind == "bonus"]
    assert bonus == [(2 * REWARD * 20 // 100, "skill", "unit:1:skill", "available")]
    assert await bucket(services, 1, "available") == 2 * REWARD + 8_000
    [(_, notice)] = await outbox(services, "settled")
    assert notice["bonus"] == 8_000


@pytest.mark.parametrize(("plan", "min_gold", "settled_units"), [
    ([True, True], 3, 1),                    # too few gold answers yet
    ([True, False, "positive", "positive"], 2, 2),  # gold accuracy 0.5 < 0.75
])
async def test_no_skill_bonus_below_min_gold_or_min_accuracy(
        services: Services, clock: FakeClock, plan: list[Plan], min_gold: int,
        settled_units: int) -> None:
    await gold_project(services, settle_unit=2, min_gold=min_gold, overlap=1,
                       skill_bonus={"min_accuracy": 0.75, "percent": 20})
    await worker_in(services, 1)
    await work(services, clock, 1, plan)
    assert await services.payroll.settle_due() == settled_units
    assert [e for e in ledger_entries(services.db) if e.kind == "bonus"] == []
    assert all(n["bonus"] == 0 for _, n in await outbox(services, "settled"))


def _answers(right: int, wrong: int) -> list[UnitAnswer]:
    return [UnitAnswer(i, i, f"g{i}", None, "positive" if i < right else "negative",
                       "positive", None, 0) for i in range(right + wrong)]


@settings(max_examples=200, deadline=None)
@given(right=st.integers(0, 30), wrong=st.integers(0, 30),
       needed=st.sampled_from([0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1.0]),
       share=st.sampled_from(["0", "0.1", "0.29", "0.3", "0.5", "0.333333", "1"]),
       reward=st.integers(0, 10**7))
def test_judge_and_discount_match_exact_arithmetic(right: int, wrong: int, needed: float,
                                                   share: str, reward: int) -> None:
    spec = parse_project(sentiment_doc(unit_accuracy=needed, discount=share))
    project = Project(1, spec, "open")
    verdict = judge(project, _answers(right, wrong), idle=False)
    assert verdict is not None
    total = right + wrong
    exact_ok = total == 0 or Fraction(right, total) >= Fraction(str(needed))
    assert verdict.outcome == (FULL if exact_ok else DISCOUNTED)
    assert len(verdict.wrong) == wrong
    value = reward * total
    paid = discounted(value, project)
    assert paid == value * Fraction(share).numerator // Fraction(share).denominator
    assert 0 <= paid <= value and Fraction(paid) <= Fraction(share) * value < paid + 1


def test_judge_waits_for_unresolved_items_unless_idle() -> None:
    project = Project(1, parse_project(sentiment_doc()), "open")
    open_item = [UnitAnswer(1, 1, "a", None, "positive", None, "positive", 1)]
    assert judge(project, open_item, idle=False) is None
    idle = judge(project, open_item, idle=True)
    assert idle is not None and idle.outcome == AUTO and idle.accuracy is None
    final = [UnitAnswer(1, 1, "a", None, "negative", None, "positive", DONE)]
    verdict = judge(project, final, idle=False)
    assert verdict is not None and verdict.outcome == DISCOUNTED
    assert [w.accepted for w in verdict.wrong] == ["positive"]


# -- operator bonuses ----------------------------------------------------------------------


async def test_bonus_with_the_same_key_pays_once(services: Services) -> None:
    await worker_in(services, 1)
    assert await services.payroll.bonus(1, 500_000, "USD", "great week", "week-2") is True
    before = await ledger(services)
    assert await services.payroll.bonus(1, 500_000, "USD", "great week", "week-2") is False
    # a retry with other arguments under the same key is still the same bonus
    assert await services.payroll.bonus(1, 900_000, "USD", "typo", "week-2") is False
    assert await ledger(services) == before
    assert await bucket(services, 1, "available") == 500_000
    assert [(e.kind, e.bucket, e.amount, e.key, e.reason) for e in ledger_entries(services.db)] \
        == [("bonus", "available", 500_000, "bonus:week-2", "operator")]
    [(worker, notice)] = await outbox(services, "bonus")
    assert worker == 1
    assert notice == {"kind": "bonus", "amount": 500_000, "currency": "USD",
                      "reason": "great week"}
    assert await services.payroll.bonus(1, 1, "USD", "another", "week-3") is True
    assert await bucket(services, 1, "available") == 500_001


@pytest.mark.parametrize("amount", [0, -1, -500_000])
async def test_bonus_must_be_positive(services: Services, amount: int) -> None:
    await worker_in(services, 1)
    with pytest.raises(TapworkError):
        await services.payroll.bonus(1, amount, "USD", "oops", "k")
    assert await ledger(services) == [] and await outbox(services) == []


# -- payouts ------------------------------------------------------------------------------


async def test_request_reserves_the_whole_available_balance_at_once(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await services.payroll.bonus(1, 3_000_000, "USD", "welcome", "b")
    await work(services, clock, 1, [True])  # pending money is never requested
    [result] = await services.payroll.request_payout(1, "req:1:10")
    assert result.created and result.payout is not None
    payout = result.payout
    assert (payout.worker_id, payout.currency, payout.amount, payout.status) \
        == (1, "USD", 3_000_000, "requested")
    assert await bucket(services, 1, "available") == 0
    assert await bucket(services, 1, "reserved") == 3_000_000
    assert await bucket(services, 1, "pending") == REWARD
    assert [(e.kind, e.bucket, e.amount, e.payout_id) for e in ledger_entries(services.db)
            if e.kind == "payout"] \
        == [("payout", "available", -3_000_000, payout.id),
            ("payout", "reserved", 3_000_000, payout.id)]

    # a double tap: the same request back, nothing new written
    before = await ledger(services)
    [again] = await services.payroll.request_payout(1, "req:1:10")
    assert not again.created and again.payout == payout
    assert await ledger(services) == before
    assert payout_count(services.db) == 1
    # another tap with a new key finds nothing left: the money is already reserved
    [nothing] = await services.payroll.request_payout(1, "req:1:11")
    assert nothing.payout is None and nothing.refused == "nothing"
    assert await ledger(services) == before


async def test_request_below_the_minimum_is_refused_per_currency(services: Services) -> None:
    services.payroll.config = PayoutsConfig(min_payout={"USD": 5_000_000},
                                            default_min_payout=1_000)
    await worker_in(services, 1)
    await services.payroll.bonus(1, 4_999_999, "USD", "a", "usd")
    await services.payroll.bonus(1, 1_000, "CNY", "b", "cny")
    results = {r.currency: r for r in await services.payroll.request_payout(1, "req:1:1")}
    usd, cny = results["USD"], results["CNY"]
    assert usd.payout is None and not usd.created and usd.refused == "below_minimum"
    assert (usd.minimum, usd.available) == (5_000_000, 4_999_999)
    assert cny.created and cny.payout is not None and cny.payout.amount == 1_000  # == minimum
    assert await bucket(services, 1, "available", "USD") == 4_999_999
    assert await bucket(services, 1, "reserved", "USD") == 0
    assert await bucket(services, 1, "reserved", "CNY") == 1_000
    assert payout_count(services.db) == 1

    await services.payroll.bonus(1, 1, "USD", "c", "usd-2")
    results = {r.currency: r for r in await services.payroll.request_payout(1, "req:1:2")}
    assert results["USD"].created and results["USD"].payout is not None
    assert results["USD"].payout.amount == 5_000_000


async def test_nothing_to_request(services: Services, clock: FakeClock) -> None:
    await gold_project(services)
    await worker_in(services, 1)
    [empty] = await services.payroll.request_payout(1, "req:1:1")
    assert empty.refused == "nothing" and empty.payout is None
    await work(services, clock, 1, ["positive"])  # only pending money
    [pending_only] = await services.payroll.request_payout(1, "req:1:2")
    assert pending_only.refused == "nothing"
    assert payout_count(services.db) == 0


async def test_approval_moves_reserved_to_paid_once(services: Services) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 2_000_000, "USD", "x", "b")
    [request] = await services.payroll.request_payout(1, "req:1:1")
    assert request.payout is not None
    decided = await services.payroll.decide_payout(request.payout.id, True)
    assert decided.status == "approved" and decided.decided_at is not None
    assert await bucket(services, 1, "reserved") == 0
    assert await bucket(services, 1, "paid") == 2_000_000
    assert await bucket(services, 1, "available") == 0
    [(worker, notice)] = await outbox(services, "payout_approved")
    assert worker == 1 and notice["amount"] == 2_000_000

    before, notices = await ledger(services), await outbox(services)
    with pytest.raises(TapworkError, match="already approved"):
        await services.payroll.decide_payout(request.payout.id, True)
    with pytest.raises(TapworkError, match="already approved"):
        await services.payroll.decide_payout(request.payout.id, False, "changed my mind")
    assert await ledger(services) == before and await outbox(services) == notices
    assert [p.status for p in await services.payroll.payouts()] == ["approved"]


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
async def test_rejection_without_a_reason_is_refused(services: Services,
                                                     reason: str) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 2_000_000, "USD", "x", "b")
    [request] = await services.payroll.request_payout(1, "req:1:1")
    assert request.payout is not None
    before, notices = await ledger(services), await outbox(services)
    with pytest.raises(TapworkError, match="reason"):
        await services.payroll.decide_payout(request.payout.id, False, reason)
    assert await ledger(services) == before and await outbox(services) == notices
    assert [p.status for p in await services.payroll.payouts()] == ["requested"]


async def test_rejection_returns_the_money_with_the_reason(services: Services) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 2_000_000, "USD", "x", "b")
    [request] = await services.payroll.request_payout(1, "req:1:1")
    assert request.payout is not None
    decided = await services.payroll.decide_payout(request.payout.id, False,
                                                   "bank details missing")
    assert decided.status == "rejected" and decided.reason == "bank details missing"
    assert await bucket(services, 1, "reserved") == 0
    assert await bucket(services, 1, "available") == 2_000_000
    assert await bucket(services, 1, "paid") == 0
    reversal = [(e.bucket, e.amount, e.detail) for e in ledger_entries(services.db)
                if e.kind == "reversal"]
    assert [(b, a) for b, a, _ in reversal] == [("reserved", -2_000_000),
                                                 ("available", 2_000_000)]
    assert all(json.loads(str(d)) == {"text": "bank details missing"} for *_, d in reversal)
    [(worker, notice)] = await outbox(services, "payout_rejected")
    assert worker == 1
    assert notice == {"kind": "payout_rejected", "amount": 2_000_000, "currency": "USD",
                      "reason": "bank details missing"}
    with pytest.raises(TapworkError, match="already rejected"):
        await services.payroll.decide_payout(request.payout.id, False, "again")
    # the worker may ask again, with a new tap
    [retry] = await services.payroll.request_payout(1, "req:1:2")
    assert retry.created and retry.payout is not None and retry.payout.amount == 2_000_000


async def test_deciding_an_unknown_payout_is_refused(services: Services) -> None:
    with pytest.raises(TapworkError, match="no payout request 42"):
        await services.payroll.decide_payout(42, True)
    assert await ledger(services) == []


# -- the ledger is append-only --------------------------------------------------------------


@pytest.mark.sqlite_only("SQLite's triggers and errors (tests/test_postgres.py: PostgreSQL's)")
@pytest.mark.parametrize("sql", [
    "UPDATE ledger SET amount = amount + 1",
    "UPDATE ledger SET key = key || 'x' WHERE id = 1",
    "DELETE FROM ledger",
    "DELETE FROM ledger WHERE id = 1",
    "INSERT INTO ledger (worker_id, currency, kind, bucket, amount, key, created_at)"
    " VALUES (1, 'USD', 'bonus', 'available', 5, 'bonus:b', 'now')"
    " ON CONFLICT (key) DO UPDATE SET amount = excluded.amount",
    # REPLACE deletes without the DELETE trigger on a connection whose recursive_triggers
    # is off (a plain sqlite3 shell): the insert trigger of migration 8 refuses it first
    "INSERT OR REPLACE INTO ledger (worker_id, currency, kind, bucket, amount, key,"
    " created_at) VALUES (1, 'USD', 'bonus', 'available', 999, 'bonus:b', 'now')",
    "REPLACE INTO ledger (id, worker_id, currency, kind, bucket, amount, key, created_at)"
    " VALUES (1, 1, 'USD', 'bonus', 'available', 999, 'other', 'now')",
])
async def test_the_database_refuses_to_change_an_entry(services: Services, sql: str) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 1_000, "USD", "x", "b")
    before = await ledger(services)
    with pytest.raises(sqlite3.IntegrityError):
        async with services.db.transaction() as conn:
            await conn.execute(sql)
    assert await ledger(services) == before
    # a plain sqlite3 connection (say, an operator's shell) is refused the same way
    plain = sqlite3.connect(services.db.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            plain.execute(sql)
        plain.rollback()
    finally:
        plain.close()
    assert await ledger(services) == before


@pytest.mark.sqlite_only("SQLite's triggers and errors (tests/test_postgres.py: PostgreSQL's)")
async def test_a_key_never_makes_two_entries(services: Services) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 1_000, "USD", "x", "b")
    with pytest.raises(sqlite3.IntegrityError):
        async with services.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO ledger (worker_id, currency, kind, bucket, amount, key,"
                " created_at) VALUES (1, 'USD', 'bonus', 'available', 5, 'bonus:b', 'now')")
    assert ledger_count(services.db) == 1


async def test_balances_are_sums_of_entries(services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2, reward="0.000007", discount="0.3")
    for w in (1, 2):
        await worker_in(services, w)
    await work(services, clock, 1, [True, False, True])
    await work(services, clock, 2, [True, True])
    await services.payroll.settle_due()
    await services.payroll.bonus(2, 2_000_000, "CNY", "x", "b2")
    requests = {r.currency: r for r in await services.payroll.request_payout(2, "req:2:1")}
    assert requests["USD"].refused == "below_minimum"
    cny = requests["CNY"].payout
    assert cny is not None
    await services.payroll.decide_payout(cny.id, True)
    raw = await sums(services)
    shown = await services.payroll.balances()
    for worker, balances in shown.items():
        for b in balances:
            for name in ("pending", "available", "reserved", "paid"):
                assert getattr(b, name) == raw.get((worker, b.currency, name), 0)
    assert {(w, b.currency) for w, bs in shown.items() for b in bs} \
        == {(w, c) for w, c, _ in raw}
    assert all(v >= 0 for v in raw.values())


# -- wallet and history ---------------------------------------------------------------------


async def test_wallet_shows_every_bucket(services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, True])
    await services.payroll.settle_due()
    await services.payroll.bonus(1, 1_000_000, "USD", "x", "b1")
    [first] = await services.payroll.request_payout(1, "req:1:1")
    assert first.payout is not None
    await services.payroll.decide_payout(first.payout.id, True)
    await services.payroll.bonus(1, 1_500_000, "USD", "y", "b2")
    [second] = await services.payroll.request_payout(1, "req:1:2")
    assert second.payout is not None
    await services.payroll.bonus(1, 7, "USD", "z", "b3")
    await work(services, clock, 1, ["neutral"])
    wallet = await services.payroll.wallet(1)
    [usd] = wallet.balances
    assert (usd.currency, usd.pending, usd.available, usd.reserved, usd.paid) \
        == ("USD", REWARD, 7, 1_500_000, 1_000_000 + 2 * REWARD)


async def test_wallet_earned_today_this_week_and_chart(services: Services,
                                                       clock: FakeClock) -> None:
    assert clock.now().weekday() == 0  # FakeClock starts on a Monday, 09:00 UTC
    monday = clock.now().strftime("%Y-%m-%d")
    await gold_project(services, items=20, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, False])  # 40_000 earned, settled at a discount
    clock.advance(days=2)
    wednesday = clock.now().strftime("%Y-%m-%d")
    await services.payroll.settle_due()  # -20_000 today: discounts count when taken
    await work(services, clock, 1, ["positive"] * 3)
    await services.payroll.bonus(1, 5_000, "USD", "x", "b")
    wallet = await services.payroll.wallet(1)
    assert wallet.earned_today == {"USD": 3 * REWARD - REWARD + 5_000}
    assert wallet.earned_week == {"USD": 5 * REWARD - REWARD + 5_000}
    assert wallet.chart_currency == "USD"
    assert len(wallet.chart) == 14
    days = [day for day, _ in wallet.chart]
    assert days[-1] == wednesday and days[-3] == monday
    assert days == sorted(days) and len(set(days)) == 14
    chart = dict(wallet.chart)
    assert chart[monday] == 2 * REWARD
    assert chart[wednesday] == 3 * REWARD - REWARD + 5_000
    assert sum(chart.values()) == 4 * REWARD + 5_000

    clock.advance(days=5)  # next Monday: a new day and a new week
    wallet = await services.payroll.wallet(1)
    assert wallet.earned_today == {} and wallet.earned_week == {}
    assert dict(wallet.chart)[monday] == 2 * REWARD
    clock.advance(days=7)  # the first Monday has left the 14 days, Wednesday has not
    wallet = await services.payroll.wallet(1)
    assert monday not in dict(wallet.chart)
    assert dict(wallet.chart)[wednesday] == 3 * REWARD - REWARD + 5_000


async def test_wallet_hourly_rate_is_earned_over_time_spent(services: Services,
                                                            clock: FakeClock) -> None:
    await gold_project(services)
    await worker_in(services, 1)
    empty = await services.payroll.wallet(1)
    assert empty.balances == () and empty.hourly == {} and empty.chart_currency is None
    assert all(v == 0 for _, v in empty.chart) and len(empty.chart) == 14
    await work(services, clock, 1, ["positive", "neutral"], seconds=30)
    wallet = await services.payroll.wallet(1)
    assert wallet.hourly == {"USD": 2 * REWARD * 3600 // 60}  # 2.40 per hour
    clock.advance(hours=5)  # idle time between tasks is not time spent
    await work(services, clock, 1, ["positive"], seconds=60)
    assert (await services.payroll.wallet(1)).hourly == {"USD": 3 * REWARD * 3600 // 120}


async def test_wallet_a_bonus_alone_is_no_hourly_rate(services: Services) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 5_000, "USD", "x", "b")
    wallet = await services.payroll.wallet(1)
    assert wallet.hourly == {} and wallet.bonuses == {"USD": 5_000}


async def test_wallet_hourly_rate_counts_task_pay_after_discounts_not_bonuses(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2, min_gold=2,
                       skill_bonus={"percent": 50, "min_accuracy": 0.0})
    await worker_in(services, 1)
    await work(services, clock, 1, [True, False], seconds=30)  # a unit paid at a discount
    await work(services, clock, 1, [True, True], seconds=30)   # a unit paid in full
    await services.payroll.settle_due()
    await services.payroll.bonus(1, 1_000_000, "USD", "thanks", "b1")
    wallet = await services.payroll.wallet(1)
    task_pay = 4 * REWARD - REWARD  # half of the first unit's 0.04 was taken off
    skill = (REWARD + 2 * REWARD) * 50 // 100
    assert sum(e.amount for e in ledger_entries(services.db)
               if e.kind == "bonus" and e.reason == "skill") == skill
    assert wallet.hourly == {"USD": task_pay * 3600 // 120}  # 1.80 per hour, bonuses aside
    assert wallet.bonuses == {"USD": 1_000_000 + skill}


async def test_project_median_hourly_leaves_bonuses_out(services: Services,
                                                        clock: FakeClock) -> None:
    await gold_project(services)
    await worker_in(services, 1)
    await work(services, clock, 1, ["positive", "neutral"], seconds=30)
    project = await services.catalog.get("reviews")
    before = await services.payroll.project_money(project)
    assert before.median_hourly == 2 * REWARD * 3600 // 60
    async with services.db.transaction() as conn:  # a bonus on the project's own tasks
        await ledger_store.append(conn, [LedgerEntry(1, "USD", "bonus", "available", 500_000,
                                               "skill:x", project.id, reason="skill")],
                                  "2026-01-01T00:00:00.000000Z")
    after = await services.payroll.project_money(project)
    assert after.median_hourly == before.median_hourly
    assert after.spent == before.spent + 500_000  # the cost of the project still counts it


async def test_wallet_hourly_rate_per_currency_uses_that_currencys_time(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services)
    await gold_project(services, name="yuan", currency="CNY", reward="0.1")
    await worker_in(services, 1)
    await work(services, clock, 1, ["positive"], seconds=60)
    await work(services, clock, 1, ["positive"], seconds=60, project="yuan")
    hourly = (await services.payroll.wallet(1)).hourly
    assert hourly == {"USD": REWARD * 60, "CNY": 100_000 * 60}


async def test_history_hides_moves_between_buckets(services: Services,
                                                   clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, False])
    await services.payroll.settle_due()
    [request] = await services.payroll.request_payout(1, "req:1:1")
    assert request.payout is None  # 20_000 is below the default minimum of 1.00
    await services.payroll.bonus(1, 2_000_000, "USD", "thanks", "b")
    [request] = await services.payroll.request_payout(1, "req:1:2")
    assert request.payout is not None
    await services.payroll.decide_payout(request.payout.id, False, "wrong account")
    [request] = await services.payroll.request_payout(1, "req:1:3")
    assert request.payout is not None
    await services.payroll.decide_payout(request.payout.id, True)

    history = await services.payroll.history(1, limit=50)
    shown = [(e.kind, e.bucket, e.amount) for e in history]
    total = 2 * REWARD - REWARD + 2_000_000
    assert shown == [
        ("payout", "paid", total),
        ("payout", "available", -total),
        ("reversal", "available", total),
        ("payout", "available", -total),
        ("bonus", "available", 2_000_000),
        ("discount", "available", -REWARD),
        ("release", "available", 2 * REWARD),
        ("earning", "pending", REWARD),
        ("earning", "pending", REWARD),
    ]
    assert [e.id for e in history] == sorted((e.id for e in history), reverse=True)
    assert history[2].detail == {"text": "wrong account"}
    hidden = sum(1 for e in ledger_entries(services.db) if e.worker_id == 1)
    assert hidden == len(history) + 5  # release/pending and four moves through reserved
    assert [e.id for e in await services.payroll.history(1, limit=3)] \
        == [e.id for e in history[:3]]
    assert await services.payroll.history(2) == []


async def test_history_is_per_worker_and_limited(services: Services) -> None:
    await worker_in(services, 1)
    await worker_in(services, 2)
    for i in range(15):
        await services.payroll.bonus(1, 1_000 + i, "USD", "x", f"b{i}")
    await services.payroll.bonus(2, 9, "USD", "x", "other")
    history = await services.payroll.history(1)
    assert [e.amount for e in history] == [1_000 + i for i in range(14, 4, -1)]
    assert all(e.worker_id == 1 for e in history)


# -- operators' figures ---------------------------------------------------------------------


async def test_project_money_and_top_earners(services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2, min_hourly="2.00")
    for w in (1, 2):
        await worker_in(services, w)
    start = clock.now()
    await work(services, clock, 1, [True, True], seconds=30)    # full: 40_000
    await work(services, clock, 2, [True, False], seconds=60)   # discounted: 20_000
    assert await services.payroll.settle_due() == 2
    await work(services, clock, 1, ["positive"], seconds=30)    # pending: 20_000
    await services.payroll.bonus(2, 1_000_000, "USD", "not project money", "b")
    project = await services.catalog.get("reviews")
    money = await services.payroll.project_money(project)
    assert (money.spent, money.committed, money.accepted_answers) == (60_000, 20_000, 5)
    assert money.per_answer == 16_000
    # worker 1: 60_000 in 90 s = 2.40/h; worker 2: 20_000 in 120 s = 0.60/h
    assert money.median_hourly == (2_400_000 + 600_000) // 2
    assert money.below_min_hourly is True

    await services.workers.set_display_name(2, "Ann")
    assert await services.payroll.top(project, start) == [(1, None, 60_000),
                                                          (2, "Ann", 20_000)]
    assert await services.payroll.top(project, start, limit=1) == [(1, None, 60_000)]
    assert await services.payroll.top(project, clock.now() + timedelta(seconds=1)) == []


async def test_project_money_before_any_answer(services: Services) -> None:
    await gold_project(services, min_hourly="2.00")
    money = await services.payroll.project_money(await services.catalog.get("reviews"))
    assert money == ProjectMoney(0, 0, 0, None, None, False)


# -- found by these tests -------------------------------------------------------------------


async def test_unit_is_released_in_the_currency_it_was_earned_in(
        services: Services, clock: FakeClock) -> None:
    await gold_project(services, settle_unit=2)
    await worker_in(services, 1)
    await work(services, clock, 1, [True, True])
    with pytest.raises(ProjectError, match="currency cannot change"):
        await services.catalog.save(parse_project(sentiment_doc(currency="CNY", settle_unit=2,
                                                                min_accuracy=0.0)))
    assert await services.payroll.settle_due() == 1
    raw = await sums(services)
    assert all(v >= 0 for v in raw.values()), raw
    assert raw.get((1, "USD", "pending"), 0) == 0
    assert raw.get((1, "USD", "available"), 0) == 2 * REWARD


async def test_repeated_tap_never_makes_a_new_request(services: Services) -> None:
    await worker_in(services, 1)
    await services.payroll.bonus(1, 2_000_000, "USD", "x", "usd")
    [first] = await services.payroll.request_payout(1, "req:1:7")
    assert first.created and first.payout is not None
    await services.payroll.bonus(1, 3_000_000, "CNY", "y", "cny")
    before = await ledger(services)
    again = await services.payroll.request_payout(1, "req:1:7")
    assert [(r.payout, r.created) for r in again] == [(first.payout, False)]
    assert await ledger(services) == before
