"""The exam a worker passed starts their gold record (issue 13), against a real SQLite file.

Its answers already say how good the worker is, so they count with the gold checks for
routing, for the live estimate's weights and for suspension, until an operator's
reinstatement starts the record afresh; but the exam alone never stops an item below
``overlap`` (a lucky guesser passes by being right on exactly those questions), nor
earns the lowest gold rate, which waits for checks at work. And practice comes only to a
worker who misses the exam's first question.
"""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.domain import routing
from bot.domain.projects import Project
from bot.services.quiz import QuizOutcome
from bot.wiring import Services
from storage import quality as quality_store
from storage.items import DONE
from tests.conftest import FixedRandom, add_project, add_worker
from tests.state import items, qualifications, quiz_attempts
from tests.test_quiz import add_items, choice_for, next_task, run_quiz


async def quiz_project(services: Services, *, pool: int, items: int = 5,
                       quiz: dict[str, object], **keys: object
                       ) -> tuple[Project, dict[str, str]]:
    """A project with these keys and quiz, and a pool of ``pool`` quiz questions."""
    project_id = await add_project(services, items=items, quiz=quiz, **keys)
    answers = await add_items(services, project_id, pool, prefix="quiz", quiz=True)
    return await services.catalog.get("reviews"), answers


async def skill(services: Services, worker: int, name: str = "reviews") -> routing.Skill:
    project = await services.catalog.get(name)
    async with services.db.read() as conn:
        return await services.work.standing.skill(conn, worker, project)


async def test_a_passed_exam_is_the_start_of_the_gold_record(services: Services) -> None:
    project, answers = await quiz_project(
        services, pool=12, quiz={"questions": 6, "training": True, "pass": 0.8})
    for w in (1, 2, 3):
        await add_worker(services, w)
    assert await skill(services, 1) == routing.Skill()

    # four right settle a 6-question exam at 5 needed: 4 of 4, proven at once for routing,
    # but checked at the plain rate until gold checks at work prove them
    steps = await run_quiz(services, 1, project, answers)
    assert steps[-1].result is not None and steps[-1].result.passed
    assert steps[-1].result.total == 4
    assert await skill(services, 1) == routing.Skill(exam=4, exam_right=4)
    assert routing.proven(project.spec, await skill(services, 1))
    assert routing.gold_rate(project.spec, await skill(services, 1)) == pytest.approx(0.1)
    # one miss: 5 of 6, passed, but too close to the line to skip the learning rate
    await run_quiz(services, 2, project, answers, wrong={2})
    assert await skill(services, 2) == routing.Skill(exam=6, exam_right=5)
    assert not routing.proven(project.spec, await skill(services, 2))
    assert routing.gold_rate(project.spec, await skill(services, 2)) == pytest.approx(0.15)
    # a failed exam is no part of anyone's record
    await run_quiz(services, 3, project, answers, wrong={1, 2})
    assert await skill(services, 3) == routing.Skill()
    assert [(q.worker_id, q.exam_answers, q.exam_right) for q in qualifications(services.db)
            ] == [(1, 4, 4), (2, 6, 5), (3, 0, 0)]
    # nobody missed a first question, so nobody practised
    assert {a.phase for a in quiz_attempts(services.db)} == {"exam"}


async def test_suspension_counts_the_passed_exam_until_a_reinstatement(
        services: Services) -> None:
    project, answers = await quiz_project(
        services, pool=6, items=6, min_gold=2, min_accuracy=0.7, gold_rate=1.0,
        quiz={"questions": 3, "training": False, "pass": 1.0})
    gold = await add_items(services, project.id, 6, prefix="gold")
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.0)  # a gold check whenever one is left
    assert (await run_quiz(services, 1, project, answers))[-1].result is not None

    # gold: wrong, right. Alone 1 of 2 (0.5) would suspend at min_gold 2; with the exam's
    # 3 of 3 it is 4 of 5 (0.8)
    task = (await services.work.start(1, "reviews")).task
    for right in (False, True):
        assert task is not None and task.text in gold
        result = await services.work.answer_choice(
            1, task.assignment_id, choice_for(gold[task.text], right))
        assert result.suspended is None
        task = next_task(result)
    assert await skill(services, 1) == routing.Skill(2, 1, 3, 3)
    async with services.db.read() as conn:
        assert await quality_store.skill_stats(conn, 1, project.id) == (5, 4)

    # one more miss: 4 of 6 (0.67), suspended
    assert task is not None and task.text in gold
    result = await services.work.answer_choice(
        1, task.assignment_id, choice_for(gold[task.text], False))
    assert result.suspended == "gold"
    # reinstated: the record starts afresh, the exam no longer counts anywhere
    assert await services.work.set_suspended(1, project, False, "operator")
    assert await skill(services, 1) == routing.Skill(3, 1)  # the gold checks, all of them
    [q] = qualifications(services.db)
    assert q.checks_from is not None and (q.exam_answers, q.exam_right) == (3, 3)


async def test_the_live_estimate_weighs_the_exam_with_the_gold_checks(
        services: Services) -> None:
    project, answers = await quiz_project(
        services, pool=12, items=1, overlap=3,
        quiz={"questions": 6, "training": False, "pass": 0.5})
    for w in (1, 2):
        await add_worker(services, w)
    await run_quiz(services, 1, project, answers)                  # 2 of 2: 3 of 6 is sure
    await run_quiz(services, 2, project, answers, wrong={0, 1, 2})       # 3 of 6
    served = {}
    for w in (1, 2):
        task = (await services.work.start(w, "reviews")).task
        assert task is not None
        served[w] = task
        await services.work.answer_choice(w, task.assignment_id, w - 1)
    async with services.db.read() as conn:
        rows = await quality_store.answers_with_gold_stats(conn, served[1].item_id,
                                                           project.id)
    # no gold checks at work yet: the record is the exam alone, kept apart
    assert [tuple(r[2:]) for r in rows] == [(0, 0, 2, 2), (0, 0, 6, 3)]


async def test_workers_known_by_their_exam_alone_do_not_stop_an_item_early(
        services: Services) -> None:
    project, answers = await quiz_project(
        services, pool=12, items=1, overlap=3, min_overlap=2, max_overlap=5,
        quiz={"questions": 6, "training": False, "pass": 0.8})
    for w in (1, 2, 3):
        await add_worker(services, w)
        await run_quiz(services, w, project, answers)                # 4 of 4 each
    for w in (1, 2):
        task = (await services.work.start(w, "reviews")).task
        assert task is not None
        await services.work.answer_choice(w, task.assignment_id, 0)
    # two perfect exams agree: sure (0.99), but the item waits for its third answer
    [item] = [i for i in items(services.db) if not i.quiz]
    assert item.answers == 2 and item.confidence is not None and item.confidence > 0.99
    assert item.state != DONE
    task = (await services.work.start(3, "reviews")).task
    assert task is not None and task.item_id == item.id
    await services.work.answer_choice(3, task.assignment_id, 0)
    [item] = [i for i in items(services.db) if not i.quiz]
    assert (item.answers, item.state) == (3, DONE)


async def test_practice_comes_only_after_a_missed_first_question(
        services: Services, clock: FakeClock) -> None:
    project, answers = await quiz_project(
        services, pool=8, quiz={"questions": 4, "pass": 0.75, "training": True,
                                "cooldown_hours": 1})
    await add_worker(services, 1)
    # right first: the exam goes on without practice, and fails at the second miss
    steps = await run_quiz(services, 1, project, answers, wrong={1, 2})
    assert steps[-1].result is not None and not steps[-1].result.passed
    assert not any(s.practice_started for s in steps)
    assert [a.phase for a in quiz_attempts(services.db)] == ["exam"]
    # still not practised: on the retry a missed first question starts practice, which
    # costs no try
    clock.advance(hours=2)
    assert (await services.work.access(1, project)).training
    steps = await run_quiz(services, 1, project, answers, wrong={0})
    assert steps[1].practice_started and steps[-1].outcome is QuizOutcome.TRAINING_DONE
    assert [a.phase for a in quiz_attempts(services.db)] == ["exam", "training"]
    gate = await services.work.access(1, project)
    assert not gate.training and gate.tries_left == 2
    # practised once: a missed first question of the next exam counts
    steps = await run_quiz(services, 1, project, answers, wrong={0})
    assert not any(s.practice_started for s in steps)
    assert steps[-1].result is not None and steps[-1].result.passed
    assert steps[-1].result.correct == 3 and steps[-1].result.total == 4


async def test_without_practice_a_missed_first_question_counts(services: Services) -> None:
    project, answers = await quiz_project(
        services, pool=8, quiz={"questions": 4, "pass": 0.75, "training": False})
    await add_worker(services, 1)
    steps = await run_quiz(services, 1, project, answers, wrong={0})
    assert steps[1].question is not None and steps[1].question.phase == "exam"
    assert steps[-1].result is not None and (steps[-1].result.correct,
                                             steps[-1].result.total) == (3, 4)
