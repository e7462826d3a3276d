"""Spending answers where they change a label (issue 13): when an item stops, which open
item a worker is served, and how many gold checks they see.

The posteriors are worked by hand: one-coin workers, a uniform prior over the labels, a
worker right ``acc`` of the time and wrong (1 - acc) / (k - 1) of the time on each other
label.
"""

from __future__ import annotations

import math
import random

import pytest

from bot.domain import quality, routing
from bot.domain.project_spec import ProjectSpec
from bot.domain.projects import parse_project
from bot.domain.routing import OPEN, SPLIT, SURE, Skill
from bot.services.leasing import Task
from bot.wiring import Services
from storage import assignments as assignment_store
from storage import items as item_store
from storage.items import FRESH, STARTED
from tests.conftest import FixedRandom, add_project, add_worker, sentiment_doc

NOW, LATER = "2026-01-01T00:00:00.000000Z", "2099-01-01T00:00:00.000000Z"
STRONG, NEW = 0.95, quality.PRIOR_ACCURACY


def spec(**extra: object) -> ProjectSpec:
    return parse_project(sentiment_doc(**extra))


def binary(**extra: object) -> ProjectSpec:
    return parse_project(sentiment_doc(kind="classification", labels=["yes", "no"], **extra))


def estimate(project: ProjectSpec, answers: list[tuple[int, str]],
             accuracy: dict[int, float]) -> quality.Estimate:
    found = quality.live_estimate(project, answers, accuracy)
    assert found is not None
    return found


def done(project: ProjectSpec, answers: list[tuple[int, str]],
         accuracy: dict[int, float]) -> bool:
    found = estimate(project, answers, accuracy)
    return quality.item_done(project, len(answers), found.confidence, found.change)


# -- stopping -----------------------------------------------------------------------------

def test_two_agreeing_strong_workers_stop_at_min_overlap() -> None:
    project = spec(overlap=3, min_overlap=2, max_overlap=5)
    answers = [(1, "positive"), (2, "positive")]
    found = estimate(project, answers, {1: STRONG, 2: STRONG})
    # truth positive: .95 * .95; neutral or negative: .025 * .025 each
    assert found.confidence == pytest.approx(0.95**2 / (0.95**2 + 2 * 0.025**2))
    # one answer against it, even from a .95 worker, leaves positive ahead: nothing flips
    assert found.change == 0
    assert done(project, answers, {1: STRONG, 2: STRONG})
    # without min_overlap the same two answers wait for the third
    assert not done(spec(overlap=3, max_overlap=5), answers, {1: STRONG, 2: STRONG})


def test_a_split_waits_and_is_split() -> None:
    project = spec(overlap=3, min_overlap=2, max_overlap=5)
    answers = [(1, "positive"), (2, "negative")]
    found = estimate(project, answers, {1: STRONG, 2: STRONG})
    # positive and negative: .95 * .025 each; neutral: .025 * .025
    assert found.confidence == pytest.approx(0.95 * 0.025 / (2 * 0.95 * 0.025 + 0.025**2))
    assert found.change > 0.4  # the next answer decides it
    assert not done(project, answers, {1: STRONG, 2: STRONG})
    assert routing.need(project, 2, found.confidence) == SPLIT


def test_max_overlap_caps_a_dispute() -> None:
    project = spec(overlap=3, min_overlap=2, max_overlap=4)
    answers = [(1, "positive"), (2, "negative"), (3, "neutral"), (4, "positive")]
    found = estimate(project, answers, {})
    assert found.confidence < project.confidence
    assert not quality.item_done(project, 3, found.confidence, found.change)
    assert quality.item_done(project, 4, found.confidence, found.change)


def test_a_new_workers_answer_counts_less() -> None:
    project = spec(overlap=3, min_overlap=2, max_overlap=5)
    # a proven worker against a newcomer (the prior's 0.8): the proven one leads
    found = estimate(project, [(1, "positive"), (2, "negative")], {1: STRONG})
    assert found.label == "positive"
    assert found.confidence == pytest.approx(
        0.95 * 0.1 / (0.95 * 0.1 + 0.025 * 0.8 + 0.025 * 0.1))
    assert not done(project, [(1, "positive"), (2, "negative")], {1: STRONG})
    # two agreeing newcomers are less sure than two agreeing proven workers: at 0.95 on
    # a yes/no item, 0.64 / (0.64 + 0.04) = 0.941 waits, 0.9025 / 0.905 stops
    strict = binary(overlap=3, min_overlap=2, max_overlap=5, confidence=0.95)
    agree = [(1, "yes"), (2, "yes")]
    assert estimate(strict, agree, {}).confidence == pytest.approx(0.64 / 0.68)
    assert not done(strict, agree, {})
    assert done(strict, agree, {1: STRONG, 2: STRONG})


def test_below_overlap_a_label_one_answer_could_flip_waits() -> None:
    # yes (.95), yes (.8), no (.8): posterior of yes = .95; a .95 worker answering no would
    # tie it, which happens with chance .05 * .95 + .95 * .05 = .095
    project = binary(overlap=4, min_overlap=2, max_overlap=5, confidence=0.92)
    answers = [(1, "yes"), (2, "yes"), (3, "no")]
    found = estimate(project, answers, {1: STRONG})
    assert found.confidence == pytest.approx(0.95)
    assert found.change == pytest.approx(0.05 * 0.95 + 0.95 * 0.05)
    assert not done(project, answers, {1: STRONG})  # 0.095 > 1 - 0.92
    # from overlap on, being sure is enough, as before
    assert quality.item_done(project, 4, found.confidence, found.change)


EXAM_ONLY = quality.Record(exam=4, exam_right=4)      # a perfect exam, settled at 4 of 4
AT_WORK = quality.Record(gold=3, correct=3)            # three gold checks right at work


def test_an_exam_alone_never_stops_an_item_early() -> None:
    """Two workers who passed the exam perfectly agree: sure, but they wait for a third.

    4 of 4 is 0.90 smoothed, the same as three gold checks right and one exam answer, so
    the posterior is the same; only where the record comes from differs."""
    project = binary(overlap=3, min_overlap=2, max_overlap=5, gold_rate=0.1)
    agree = [(1, "yes"), (2, "yes")]
    exams = quality.item_estimate(project, agree, {1: EXAM_ONLY, 2: EXAM_ONLY})
    assert exams is not None
    assert exams.confidence == pytest.approx(0.81 / (0.81 + 0.01))  # the exam is weighed
    assert exams.change == 1.0
    assert not quality.item_done(project, 2, exams.confidence, exams.change)
    # the old rule stopped here: the same weights, change 0
    plain = estimate(project, agree, {1: 0.9, 2: 0.9})
    assert plain.change == 0
    assert quality.item_done(project, 2, plain.confidence, plain.change)
    # a third exam-only worker agreeing reaches overlap: sure is enough from there
    three = quality.item_estimate(project, [*agree, (3, "yes")],
                                  {w: EXAM_ONLY for w in (1, 2, 3)})
    assert three is not None
    assert quality.item_done(project, 3, three.confidence, three.change)


def test_one_worker_proven_at_work_lets_an_item_stop_early() -> None:
    project = binary(overlap=3, min_overlap=2, max_overlap=5)
    agree = [(1, "yes"), (2, "yes")]
    found = quality.item_estimate(project, agree, {1: EXAM_ONLY, 2: AT_WORK})
    assert found is not None and found.change == 0
    assert quality.item_done(project, 2, found.confidence, found.change)
    # being proven at work does not make a split settled
    split = quality.item_estimate(project, [(1, "yes"), (2, "no")],
                                  {1: AT_WORK, 2: AT_WORK})
    assert split is not None
    assert not quality.item_done(project, 2, split.confidence, split.change)


def test_only_gold_checks_at_work_prove_a_worker_for_stopping_early() -> None:
    project = binary(min_accuracy=0.7)
    assert not quality.may_stop_early(project, [])
    assert not quality.may_stop_early(project, [EXAM_ONLY, EXAM_ONLY])
    assert not quality.may_stop_early(project, [quality.Record(exam=6, exam_right=6)])
    # an exam plus two checks right: 6 of 6 judged, but only 2 of 2 at work (0.66 at worst)
    assert not quality.may_stop_early(project, [quality.Record(2, 2, 4, 4)])
    assert not quality.may_stop_early(project, [quality.Record(5, 4)])  # 0.80: too close
    assert quality.may_stop_early(project, [EXAM_ONLY, AT_WORK])
    assert quality.may_stop_early(project, [quality.Record(20, 18)])
    # without gold checks nobody could ever be proven at work: the posterior decides alone
    assert quality.may_stop_early(binary(gold_rate=0), [EXAM_ONLY, EXAM_ONLY])
    # the whole record still weighs the answers, and still proves for routing
    assert quality.Record(2, 2, 4, 4).accuracy == pytest.approx(quality.worker_accuracy(6, 6))
    assert routing.proven(project, Skill(4, 4))


def test_a_transcription_stops_by_its_own_estimate() -> None:
    """Typed gold checks are judged at a word error rate few careful workers meet, so the
    rule is for labels only: texts keep the text estimate, whoever typed them."""
    project = parse_project(sentiment_doc(kind="transcription", overlap=3, min_overlap=2,
                                          max_overlap=5))
    answers = [(1, "hello world"), (2, "hello world")]
    found = quality.item_estimate(project, answers, {1: EXAM_ONLY, 2: EXAM_ONLY})
    assert found == quality.live_estimate(project, answers, {})
    assert found is not None and found.change == 0.0


def test_without_min_overlap_an_item_stops_as_it_always_did() -> None:
    project = spec(overlap=3, max_overlap=3)
    assert project.floor == 3
    assert not quality.item_done(project, 2, 0.999, 0.0)
    assert quality.item_done(project, 3, 0.2, 1.0)
    assert quality.wanted_answers(project, 0) == 3


def test_an_item_that_may_stop_early_is_leased_to_min_overlap_workers_at_once() -> None:
    project = spec(overlap=3, min_overlap=2, max_overlap=5)
    assert [quality.wanted_answers(project, n) for n in range(6)] == [2, 2, 3, 4, 5, 5]


# -- need buckets and skill ------------------------------------------------------------------

def test_need_buckets() -> None:
    project = spec()
    assert routing.need(project, 0, None) == OPEN
    assert routing.need(project, 2, 0.97) == SURE
    assert routing.need(project, 1, 0.8) == OPEN  # one newcomer's answer
    # halfway between a guess (1/3) and 0.9 is 0.617
    assert routing.need(project, 2, 0.6) == SPLIT
    assert routing.need(project, 2, 0.62) == OPEN


def test_a_worker_is_proven_only_well_above_the_line() -> None:
    project = spec(min_gold=5, min_accuracy=0.7)
    assert not routing.proven(project, Skill())
    assert not routing.proven(project, Skill(2, 2))   # 0.87 smoothed, 0.66 at worst
    assert routing.proven(project, Skill(3, 3))       # 0.89 smoothed, 0.705 at worst
    assert routing.proven(project, Skill(4, 4))       # a perfect 6-question exam
    assert routing.proven(project, Skill(5, 5))       # 0.91 smoothed, 0.72 at worst
    assert not routing.proven(project, Skill(5, 4))   # 0.80: too close to 0.7 to tell
    assert routing.proven(project, Skill(20, 18))
    assert routing.order(project, Skill(5, 5)) == (SPLIT, OPEN, SURE)
    assert routing.order(project, Skill()) == (SURE, OPEN, SPLIT)


def test_without_gold_everyone_gets_the_split_items_first() -> None:
    """No gold check can prove a worker, so nobody is held to the settled items."""
    project = spec(gold_rate=0.0)
    assert routing.order(project, Skill()) == (SPLIT, OPEN, SURE)
    assert routing.order(project, Skill(5, 5)) == (SPLIT, OPEN, SURE)


def test_gold_rate_is_higher_while_learning_and_averages_to_gold_rate() -> None:
    project = spec(gold_rate=0.1, min_gold=5, min_accuracy=0.7)
    assert routing.gold_rate(project, Skill()) == pytest.approx(0.15)
    assert routing.gold_rate(project, Skill(2, 2)) == pytest.approx(0.15)
    assert routing.gold_rate(project, Skill(3, 3)) == pytest.approx(0.05)
    assert routing.gold_rate(project, Skill(6, 4)) == pytest.approx(0.15)  # near the line
    assert routing.gold_rate(project, Skill(20, 19)) == pytest.approx(0.05)
    assert routing.gold_rate(spec(gold_rate=0.9), Skill()) == 1.0
    # a mixed crowd, each worker with the tasks they do: half of the tasks by workers
    # still learned (newcomers, one close to the line), half by proven ones
    crowd = [(Skill(), 300), (Skill(2, 2), 200), (Skill(8, 6), 500),
             (Skill(30, 29), 600), (Skill(12, 12), 400)]
    tasks = sum(n for _, n in crowd)
    average = sum(routing.gold_rate(project, s) * n for s, n in crowd) / tasks
    assert average == pytest.approx(project.gold_rate)


def test_the_exam_routes_a_worker_but_only_checks_at_work_earn_the_lowest_gold_rate(
        ) -> None:
    """A perfect exam proves a worker for routing, but they are checked at the plain rate
    until gold checks at work prove them too: only those let their items stop early
    (``quality.may_stop_early``), and at the proven rate they took long to come."""
    project = spec(gold_rate=0.1, min_gold=5, min_accuracy=0.7)
    exam = Skill(exam=4, exam_right=4)                      # 4 of 4, settled
    assert routing.proven(project, exam)
    assert routing.order(project, exam) == (SPLIT, OPEN, SURE)
    assert not routing.proven_at_work(project, exam)
    assert routing.gold_rate(project, exam) == pytest.approx(0.1)
    # two checks right with it: 6 of 6 in all, but 2 of 2 at work (0.66 at worst)
    assert routing.gold_rate(project, Skill(2, 2, 4, 4)) == pytest.approx(0.1)
    # a third check right: proven at work, the lowest rate
    assert routing.proven_at_work(project, Skill(3, 3, 4, 4))
    assert routing.gold_rate(project, Skill(3, 3, 4, 4)) == pytest.approx(0.05)
    # an exam passed with a miss proves nothing: the learning rate
    assert routing.gold_rate(project, Skill(exam=6, exam_right=5)) == pytest.approx(0.15)
    # a close exam is routed as learning but does not hold back a record proven at work
    assert not routing.proven(project, Skill(3, 3, 6, 4))   # 7 of 9: 0.78 smoothed
    assert routing.gold_rate(project, Skill(3, 3, 6, 4)) == pytest.approx(0.05)


# -- routing through the work service ---------------------------------------------------------

async def make_proven(services: Services, project_id: int, worker: int, gold_ids: list[int]
                      ) -> None:
    """Right answers on gold items, written as the work loop writes them."""
    async with services.db.transaction() as conn:
        for item_id in gold_ids:
            lease = await assignment_store.create(conn, item_id, worker, project_id, NOW,
                                                  LATER)
            assert await assignment_store.record_answer(conn, lease.id, worker, "positive",
                                                        NOW, None, 5.0, True, False)


async def add_gold(services: Services, project_id: int, count: int) -> None:
    """Gold items (answer: positive), numbered after the project's work items."""
    async with services.db.transaction() as conn:
        await item_store.insert_many(conn, project_id, [
            item_store.NewItem(f"gold-{i}", f"gold {i}", None, "positive", False, None, None)
            for i in range(count)], NOW)


def gold_ids(count: int, after: int) -> list[int]:
    return list(range(after + 1, after + count + 1))


async def set_need(services: Services, item_id: int, answers: int, confidence: float
                   ) -> None:
    """An item started by others, its live estimate as it would be."""
    project = spec()
    async with services.db.transaction() as conn:
        await item_store.set_progress(conn, item_id, answers, 0, STARTED, "positive",
                                      confidence, routing.need(project, answers, confidence))


def text_of(task: Task | None) -> str | None:
    return task.text if task is not None else None


async def routed_project(services: Services) -> int:
    """Items 1-6: 1 sure, 2 split, 3 split, 4 open (leaning), 5 and 6 fresh; gold 7-11."""
    project_id = await add_project(services, items=6, overlap=3, max_overlap=5,
                                   min_gold=5, min_accuracy=0.7, gold_rate=0.1)
    await add_gold(services, project_id, 5)
    await set_need(services, 1, 2, 0.97)
    await set_need(services, 2, 2, 0.5)
    await set_need(services, 3, 2, 0.45)
    await set_need(services, 4, 1, 0.8)
    services.work.rng = FixedRandom(0.99)  # no gold checks here
    return project_id


async def test_a_proven_worker_gets_the_most_uncertain_item_oldest_first(
        services: Services) -> None:
    project_id = await routed_project(services)
    await add_worker(services, 1)
    await make_proven(services, project_id, 1, gold_ids(5, 6))
    served = []
    task = (await services.work.start(1, "reviews")).task
    while task is not None:
        served.append(task.text)
        # a stop and a fresh start each time, so each choice is made on the buckets above
        await services.work.stop(1, task.assignment_id)
        task = (await services.work.start(1, "reviews")).task
        if len(served) > 6:
            break
    # split (older first), then leaning, then sure: every started item before a fresh one
    assert served[:4] == ["text 1", "text 2", "text 3", "text 0"]
    assert served[4] == "text 4"


async def test_a_new_worker_gets_the_sure_item_first(services: Services) -> None:
    await routed_project(services)
    await add_worker(services, 2)
    task = (await services.work.start(2, "reviews")).task
    assert text_of(task) == "text 0"  # item 1, the one the crowd is already sure of


async def test_an_old_item_is_served_before_newer_ones_of_the_same_need(
        services: Services) -> None:
    project_id = await add_project(services, items=5, overlap=3)
    await add_gold(services, project_id, 5)
    for item_id in (5, 2, 4):  # made split in another order than their age
        await set_need(services, item_id, 2, 0.5)
    services.work.rng = FixedRandom(0.99)
    await add_worker(services, 1)
    await make_proven(services, project_id, 1, gold_ids(5, 5))
    task = (await services.work.start(1, "reviews")).task
    assert text_of(task) == "text 1"  # item 2: the oldest split item


async def test_a_new_worker_sees_more_gold_than_a_proven_one(services: Services) -> None:
    project_id = await add_project(services, items=80, overlap=2, gold_rate=0.2,
                                   min_gold=5, min_accuracy=0.7)
    await add_gold(services, project_id, 40)
    for worker in (1, 2):
        await add_worker(services, worker)
    await make_proven(services, project_id, 1, gold_ids(5, 80))
    seen: dict[int, int] = {}
    for worker in (1, 2):
        services.work.rng = random.Random(11)  # the same draws for both
        gold, tasks = 0, 0
        task = (await services.work.start(worker, "reviews")).task
        while task is not None and tasks < 40:
            gold += bool(task.text and task.text.startswith("gold"))
            tasks += 1
            result = await services.work.answer_choice(worker, task.assignment_id, 0)
            task = result.served.task if result.served else None
        seen[worker] = gold
    # the newcomer is checked at 0.3 until five right answers prove them, then at 0.1;
    # the proven worker at 0.1 throughout
    assert seen[2] > seen[1], seen
    assert seen[1] <= math.ceil(40 * 0.1 * 2), seen


async def test_fresh_items_keep_need_open(services: Services) -> None:
    await add_project(services, items=2, overlap=3)
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.99)
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    await services.work.stop(1, task.assignment_id)
    async with services.db.read() as conn:
        item = await item_store.get(conn, task.item_id)
    assert item is not None and item.state == FRESH and item.need == OPEN
