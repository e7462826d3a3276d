"""Quizzes, gold checks, too-fast answers and dynamic overlap against a real SQLite file."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Collection
from datetime import timedelta
from fractions import Fraction

import pytest

from bot.clock import FakeClock
from bot.domain import routing
from bot.domain.project_spec import Localized
from bot.domain.projects import Project
from bot.domain.qualify import Gate
from bot.services.leasing import Empty, Served, Task
from bot.services.quiz import QuizOutcome, QuizStep
from bot.services.work import AnswerResult, Feedback, Outcome
from bot.wiring import Services
from storage import items as item_store
from storage.items import DONE, FULL, STARTED
from tests.conftest import FixedRandom, add_project, add_worker
from tests.state import (
    assignments,
    items,
    project_id_of,
    qualifications,
    quiz_attempt_count,
    quiz_attempts,
    quiz_questions,
    with_items,
)

LABELS = ("positive", "neutral", "negative")
NOW = "2026-01-01T00:00:00.000000Z"


async def add_items(services: Services, project_id: int, count: int, *, prefix: str,
                    gold: bool = True, quiz: bool = False,
                    golds: tuple[str, ...] = LABELS) -> dict[str, str]:
    """``count`` items whose text is unique; returns text -> gold answer."""
    answers = {f"{prefix} {i}": golds[i % len(golds)] for i in range(count)}
    async with services.db.transaction() as conn:
        await item_store.insert_many(conn, project_id, [
            item_store.NewItem(f"{prefix}-{i}", text, None, answers[text] if gold else None,
                               quiz, {"en": f"why {text}"}, None)
            for i, text in enumerate(answers)], NOW)
    return answers


async def quiz_project(services: Services, *, pool: int = 10, items: int = 5,
                       name: str = "reviews", **quiz: object) -> tuple[Project, dict[str, str]]:
    project_id = await add_project(services, items=items, name=name, quiz=dict(quiz))
    answers = await add_items(services, project_id, pool, prefix=f"{name}-quiz", quiz=True)
    return await services.catalog.get(name), answers


def choice_for(gold: str, right: bool) -> int:
    index = LABELS.index(gold)
    return index if right else (index + 1) % len(LABELS)


async def run_quiz(services: Services, worker: int, project: Project, answers: dict[str, str],
                   wrong: Collection[int] = ()) -> list[QuizStep]:
    """Begin and answer every question; positions in ``wrong`` are answered wrongly."""
    step = await services.quizzes.begin(worker, project)
    assert step.outcome is QuizOutcome.NEXT and step.question is not None
    steps = [step]
    while step.outcome is QuizOutcome.NEXT:
        question = step.question
        assert question is not None and question.text is not None
        step = await services.quizzes.answer(
            worker, question.attempt_id, question.position,
            choice=choice_for(answers[question.text], question.position not in wrong))
        steps.append(step)
    return steps


async def pass_quiz(services: Services, worker: int, project: Project,
                    answers: dict[str, str]) -> None:
    last = (await run_quiz(services, worker, project, answers))[-1]  # no miss, no practice
    assert last.result is not None and last.result.passed


async def answer(services: Services, clock: FakeClock, worker: int, task: Task,
                 seconds: float, choice: int = 0) -> AnswerResult:
    """Deliver the task, let ``seconds`` pass on the phone, then tap ``choice``."""
    await services.work.delivered(task, worker, 1000 + task.assignment_id)
    clock.advance(seconds=seconds)
    return await services.work.answer_choice(worker, task.assignment_id, choice)


def next_task(result: AnswerResult) -> Task | None:
    assert result.outcome is Outcome.ACCEPTED and result.served is not None
    return result.served.task


# -- the quiz gate ---------------------------------------------------------------------


async def test_project_with_a_quiz_is_not_ready_until_the_pool_holds_one_exam(
        services: Services) -> None:
    project_id = await add_project(services, items=3, quiz={"questions": 4})
    await add_worker(services, 1)
    await add_items(services, project_id, 3, prefix="q", quiz=True)
    # neither gold checks nor quiz items without an answer make up the pool
    await add_items(services, project_id, 3, prefix="g")
    await add_items(services, project_id, 2, prefix="nogold", quiz=True, gold=False)
    served = await services.work.start(1, "reviews")
    assert served.task is None and served.empty is Empty.GATED
    assert served.access is not None and served.access.gate is Gate.NOT_READY
    assert "reviews" not in [p.spec.name for p, _ in await services.catalog.open_projects()]
    project = await services.catalog.get("reviews")
    assert (await services.quizzes.begin(1, project)).outcome is QuizOutcome.NO_QUIZ

    await add_items(services, project_id, 1, prefix="q4", quiz=True)
    served = await services.work.start(1, "reviews")
    assert served.empty is Empty.GATED
    assert served.access is not None and served.access.gate is Gate.QUIZ
    assert served.access.training and served.access.tries_left == 3
    assert "reviews" in [p.spec.name for p, _ in await services.catalog.open_projects()]
    assert assignments(services.db) == []


async def test_project_without_a_quiz_is_open_at_once(services: Services) -> None:
    await add_project(services, items=1)
    await add_worker(services, 1)
    served = await services.work.start(1, "reviews")
    assert served.task is not None
    assert [p.spec.name for p, _ in await services.catalog.open_projects()] == ["reviews"]


# -- training and exam -----------------------------------------------------------------


async def test_training_with_feedback_then_exam_then_work(services: Services) -> None:
    project, answers = await quiz_project(services, pool=12)
    await add_worker(services, 1)

    # the exam comes first; its first question missed, before any practice, turns it into
    # the practice round: never two right in a row here, so all five questions (the
    # most), each answered with right/wrong, the right answer, why
    steps = await run_quiz(services, 1, project, answers, wrong={0, 1, 3})
    first, second = steps[0].question, steps[1].question
    assert first is not None and second is not None
    assert (first.phase, first.position, first.total) == ("exam", 0, 10)
    assert (second.phase, second.position, second.total) == ("training", 1, 5)
    assert [s.practice_started for s in steps] == [False, True] + [False] * 4
    assert [s.outcome for s in steps] == [QuizOutcome.NEXT] * 5 + [QuizOutcome.TRAINING_DONE]
    for position, step in enumerate(steps[1:]):
        assert step.feedback is not None
        assert step.feedback.correct is (position not in {0, 1, 3})
        shown = steps[position].question
        assert shown is not None and shown.text is not None
        assert step.feedback.answer == answers[shown.text]
        assert step.feedback.explain == Localized({"en": f"why {shown.text}"})
    assert [s.question.position for s in steps[1:-1] if s.question] == [1, 2, 3, 4]
    assert len({s.question.text for s in steps[:-1] if s.question}) == 5

    gate = await services.work.access(1, project)
    assert gate.gate is Gate.QUIZ and not gate.training and gate.tries_left == 3
    assert (await services.work.start(1, "reviews")).empty is Empty.GATED

    # exam: a miss at the start and one late keep the verdict open to the last of the
    # ten questions, which decides by the share; no feedback on the way
    steps = await run_quiz(services, 1, project, answers, wrong={0, 7})
    assert steps[0].question is not None
    assert (steps[0].question.phase, steps[0].question.total) == ("exam", 10)
    assert [s.outcome for s in steps] == [QuizOutcome.NEXT] * 10 + [QuizOutcome.FINISHED]
    assert all(s.feedback is None for s in steps)
    result = steps[-1].result
    assert result is not None
    assert (result.correct, result.total, result.needed, result.passed) == (8, 10, 8, True)
    assert not result.early
    missed_texts = []
    for position in (0, 7):
        question = steps[position].question
        assert question is not None and question.text is not None
        missed_texts.append(question.text)
    assert [m.text for m in result.missed] == missed_texts
    assert [m.answer for m in result.missed] == [answers[t] for t in missed_texts]
    assert [m.explain for m in result.missed] == [Localized({"en": f"why {t}"})
                                                 for t in missed_texts]

    # passing unlocks the project; the quiz is not offered again
    assert (await services.work.access(1, project)).gate is Gate.OPEN
    assert (await services.quizzes.begin(1, project)).outcome is QuizOutcome.NO_QUIZ
    assert assignments(services.db) == []
    served = await services.work.start(1, "reviews")
    assert served.task is not None and served.task.text is not None
    assert served.task.text.startswith("text ")


async def test_exam_without_training_and_pass_mark_rounding(services: Services) -> None:
    project, answers = await quiz_project(services, pool=3, questions=3, training=False,
                                          **{"pass": 0.7})
    await add_worker(services, 1)
    await add_worker(services, 2)
    steps = await run_quiz(services, 1, project, answers, wrong={2})
    assert steps[0].question is not None and steps[0].question.phase == "exam"
    result = steps[-1].result
    assert result is not None
    assert (result.correct, result.needed, result.passed) == (2, 3, False)  # 0.7*3 -> 3
    steps = await run_quiz(services, 2, project, answers)
    assert steps[-1].result is not None and steps[-1].result.passed


async def test_failing_gives_a_cooldown_and_the_last_try_closes(services: Services,
                                                                clock: FakeClock) -> None:
    project, answers = await quiz_project(services, attempts=2, training=False,
                                          cooldown_hours=24)
    await add_worker(services, 1)
    failed_at = clock.now()
    # three misses of ten when 8 are needed: passing is impossible, the exam stops there
    steps = await run_quiz(services, 1, project, answers, wrong={0, 1, 2})
    result = steps[-1].result
    assert result is not None
    assert (result.correct, result.total, result.needed, result.passed) == (0, 3, 8, False)
    assert result.early and result.questions == 10
    assert result.retry_at == failed_at + timedelta(hours=24)
    assert result.tries_left == 1
    assert len(result.missed) == 3

    served = await services.work.start(1, "reviews")
    assert served.empty is Empty.GATED and served.access is not None
    assert served.access.gate is Gate.COOLDOWN
    assert served.access.retry_at == failed_at + timedelta(hours=24)
    assert served.access.tries_left == 1
    assert (await services.quizzes.begin(1, project)).outcome is QuizOutcome.NO_QUIZ

    clock.advance(hours=23, minutes=59)
    assert (await services.work.access(1, project)).gate is Gate.COOLDOWN
    clock.advance(minutes=1)
    again = await services.work.access(1, project)
    assert again.gate is Gate.QUIZ and again.tries_left == 1

    steps = await run_quiz(services, 1, project, answers, wrong=set(range(10)))
    result = steps[-1].result
    assert result is not None
    assert (result.correct, result.total, result.passed, result.tries_left) == (0, 3, False, 0)
    assert result.retry_at is None
    assert len(result.missed) == 3

    for days in (0, 2, 400):
        clock.advance(days=days)
        served = await services.work.start(1, "reviews")
        assert served.task is None and served.empty is Empty.GATED
        assert served.access is not None and served.access.gate is Gate.CLOSED
    assert (await services.quizzes.begin(1, project)).outcome is QuizOutcome.NO_QUIZ
    assert assignments(services.db) == []
    assert quiz_attempt_count(services.db, 1) == 2
    # each attempt keeps the questions it asked, every one answered
    asked = quiz_questions(services.db)
    assert (len(asked), sum(1 for q in asked if q.answer is not None)) == (6, 6)


async def test_begin_resumes_the_open_attempt(services: Services) -> None:
    project, answers = await quiz_project(services, training=False)
    await add_worker(services, 1)
    first = await services.quizzes.begin(1, project)
    assert first.question is not None and first.question.text is not None
    await services.quizzes.answer(1, first.question.attempt_id, 0,
                                  choice=choice_for(answers[first.question.text], True))
    again = await services.quizzes.begin(1, project)
    assert again.outcome is QuizOutcome.NEXT and again.question is not None
    assert again.question.attempt_id == first.question.attempt_id
    assert again.question.position == 1
    assert quiz_attempt_count(services.db) == 1


async def test_double_forged_and_stale_quiz_answers_change_nothing(services: Services) -> None:
    project, answers = await quiz_project(services, training=False)
    for w in (1, 2):
        await add_worker(services, w)
    step = await services.quizzes.begin(1, project)
    question = step.question
    assert question is not None and question.text is not None
    attempt = question.attempt_id
    right = choice_for(answers[question.text], True)

    # five taps on the same button at once: one answer
    taps = await asyncio.gather(*[services.quizzes.answer(1, attempt, 0, choice=right)
                                  for _ in range(5)])
    assert sorted(t.outcome.value for t in taps) == ["already_answered"] * 4 + ["next"]
    # a later tap with another choice does not change the recorded answer
    assert (await services.quizzes.answer(1, attempt, 0, choice=(right + 1) % 3)).outcome \
        is QuizOutcome.ALREADY_ANSWERED
    # someone else's attempt, an attempt that does not exist
    assert (await services.quizzes.answer(2, attempt, 1, choice=0)).outcome \
        is QuizOutcome.FORGED
    assert (await services.quizzes.answer(1, 999_999, 1, choice=0)).outcome \
        is QuizOutcome.FORGED
    # a question not yet shown, a choice the project does not have
    assert (await services.quizzes.answer(1, attempt, 5, choice=0)).outcome \
        is QuizOutcome.STALE
    assert (await services.quizzes.answer(1, attempt, 1, choice=7)).outcome \
        is QuizOutcome.INVALID
    assert (await services.quizzes.answer(1, attempt, 1, choice=-1)).outcome \
        is QuizOutcome.INVALID
    recorded = [(q.position, q.answer, q.correct) for q in quiz_questions(services.db)
                if q.answer is not None]
    assert recorded == [(0, answers[question.text], 1)]
    assert quiz_attempt_count(services.db) == 1

    # finish it: answers to a closed attempt change nothing, nothing was an assignment
    step = await services.quizzes.begin(1, project)
    while step.outcome is QuizOutcome.NEXT:
        q = step.question
        assert q is not None and q.text is not None and q.attempt_id == attempt
        step = await services.quizzes.answer(1, attempt, q.position,
                                             choice=choice_for(answers[q.text], True))
    # all right: passed once 8 of 10 is 95% sure, after 6 (bot.quiz_rules)
    assert step.outcome is QuizOutcome.FINISHED
    assert step.result is not None
    assert (step.result.correct, step.result.total, step.result.passed) == (6, 6, True)
    for position in (5, 6, 9):  # the last question asked, and ones never asked
        late = await services.quizzes.answer(1, attempt, position, choice=0)
        assert late.outcome in (QuizOutcome.STALE, QuizOutcome.ALREADY_ANSWERED)
    asked = quiz_questions(services.db)
    assert (len(asked), sum(1 for q in asked if q.answer is not None)) == (6, 6)
    qual = [(q.status, q.attempts) for q in qualifications(services.db)]
    assert qual == [("passed", 1)]
    assert assignments(services.db) == []


async def test_quiz_items_are_never_tasks_paid_or_labelled(services: Services) -> None:
    project, answers = await quiz_project(services, items=4, pool=10)
    for w in (1, 2, 3):
        await add_worker(services, w)
        await pass_quiz(services, w, project, answers)
    services.work.rng = FixedRandom(0.0)  # gold whenever possible: still never a quiz item
    served_items: list[int] = []
    for w in (1, 2, 3):
        task = (await services.work.start(w, "reviews")).task
        while task is not None:
            served_items.append(task.item_id)
            task = next_task(await services.work.answer_choice(w, task.assignment_id, 0))
    quiz_ids = {i.id for i in items(services.db) if i.quiz == 1}
    assert len(served_items) == 12
    assert not quiz_ids & set(served_items)
    assert [a for a, i in with_items(services.db) if i.quiz == 1] == []
    untouched = [(i.answers, i.leases, i.label, i.confidence) for i in items(services.db)
                 if i.quiz == 1]
    assert untouched == [(0, 0, None, None)] * 10


async def test_a_worker_who_has_not_passed_gets_no_task_anywhere(services: Services) -> None:
    project, answers = await quiz_project(services, items=3, training=False)
    for w in (1, 2):
        await add_worker(services, w)
    await pass_quiz(services, 1, project, answers)
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    # worker 2 never passed: nothing through start, skip or another's assignment
    served = await services.work.start(2, "reviews")
    assert served == Served(None, Empty.GATED, project, served.access)
    assert served.access is not None and served.access.gate is Gate.QUIZ
    assert (await services.work.answer_choice(2, task.assignment_id, 0)).outcome \
        is Outcome.FORGED
    assert (await services.work.skip(2, task.assignment_id)).outcome is Outcome.FORGED
    assert [a for a in assignments(services.db) if a.worker_id == 2] == []


async def test_transcription_quiz_grades_typed_answers_by_word_error_rate(
        services: Services) -> None:
    project_id = await add_project(services, items=2, name="speech", kind="transcription",
                                   quiz={"questions": 2, "training": False, "pass": 0.9})
    golds = ("one two three four five six seven eight nine ten",
             "alpha beta gamma delta epsilon zeta eta theta iota kappa")
    answers = await add_items(services, project_id, 2, prefix="clip", quiz=True, golds=golds)
    project = await services.catalog.get("speech")
    await add_worker(services, 1)
    step = await services.quizzes.begin(1, project)
    assert step.question is not None and step.question.text is not None
    assert await services.quizzes.open_attempt(1) == (step.question.attempt_id, 0)
    gold = answers[step.question.text]
    typed = gold.replace("ten", "tin").replace("kappa", "kapa").upper()  # one slip in ten
    attempt = step.question.attempt_id
    step2 = await services.quizzes.answer(1, attempt, 0, text=typed, message_id=50)
    assert step2.outcome is QuizOutcome.NEXT
    again = await services.quizzes.answer(1, attempt, 1, text="x", message_id=50)
    assert again.outcome is QuizOutcome.ALREADY_ANSWERED
    assert step2.question is not None and step2.question.text is not None
    assert await services.quizzes.open_attempt(1) == (attempt, 1)
    gold2 = answers[step2.question.text]
    done = await services.quizzes.answer(1, attempt, 1, text=f"  {gold2},  ", message_id=51)
    assert done.outcome is QuizOutcome.FINISHED
    # 9 of 10 words, then 10 of 10: 1.9 questions' worth of words, 1.8 needed at 0.9
    assert done.result is not None and done.result.passed and done.result.correct == 2
    assert done.result.words == Fraction(19, 10) and done.result.words_share == 95
    assert done.result.needed_share == 90
    assert await services.quizzes.open_attempt(1) is None
    assert (await services.work.start(1, "speech")).task is not None


async def test_a_typed_exam_is_passed_by_the_share_of_words_right(services: Services) -> None:
    """Two slips in ten words are outside the tolerance of a single answer (0.1), so
    neither answer is right; but 80 % of the words are, which is the pass mark."""
    project_id = await add_project(services, items=2, name="speech", kind="transcription",
                                   quiz={"questions": 2, "training": True, "pass": 0.8})
    golds = ("one two three four five six seven eight nine ten",
             "alpha beta gamma delta epsilon zeta eta theta iota kappa")
    answers = await add_items(services, project_id, 2, prefix="clip", quiz=True, golds=golds)
    project = await services.catalog.get("speech")
    for w in (1, 2):
        await add_worker(services, w)
    steps = []
    for worker, slips in ((1, 2), (1, 2), (2, 3)):
        step = steps[-1] if worker == 1 and steps else await services.quizzes.begin(
            worker, project)
        assert step.question is not None and step.question.text is not None
        words = answers[step.question.text].split()
        steps.append(await services.quizzes.answer(
            worker, step.question.attempt_id, step.question.position,
            text=" ".join(["x"] * slips + words[slips:]), message_id=len(steps)))
    # 2 slips in each: 80 % of the words, passed, and the first answer, worth the pass
    # mark, started no practice
    result = steps[1].result
    assert result is not None and result.passed and result.correct == 0
    assert (result.words_share, result.needed_share) == (80, 80)
    assert not steps[0].practice_started
    # 3 slips in the first answer: 70 %, a miss, so practice starts
    assert steps[2].practice_started and steps[2].feedback is not None


async def test_reinstating_does_not_skip_the_quiz(services: Services) -> None:
    project, answers = await quiz_project(services, attempts=1, training=False)
    for w in (1, 2):
        await add_worker(services, w)
    await run_quiz(services, 1, project, answers, wrong=set(range(10)))
    assert (await services.work.access(1, project)).gate is Gate.CLOSED
    for w in (1, 2):  # 1 used their only try; 2 never took the quiz
        assert await services.work.set_suspended(w, project, True, "operator")
        assert await services.work.set_suspended(w, project, False, "operator")
    one = await services.work.start(1, "reviews")
    two = await services.work.start(2, "reviews")
    assert one.task is None and one.access is not None and one.access.gate is Gate.CLOSED
    assert two.task is None and two.access is not None and two.access.gate is Gate.QUIZ


async def test_finishing_an_exam_does_not_lift_a_suspension(services: Services) -> None:
    project, answers = await quiz_project(services, training=False)
    await add_worker(services, 1)
    step = await services.quizzes.begin(1, project)
    assert step.question is not None
    assert await services.work.set_suspended(1, project, True, "operator")
    while step.outcome is QuizOutcome.NEXT:
        q = step.question
        assert q is not None and q.text is not None
        step = await services.quizzes.answer(1, q.attempt_id, q.position,
                                             choice=choice_for(answers[q.text], True))
    served = await services.work.start(1, "reviews")
    assert served.task is None
    assert served.access is not None and served.access.gate is Gate.SUSPENDED


# -- gold checks -----------------------------------------------------------------------


async def test_gold_is_never_mixed_in_when_the_draw_misses(services: Services) -> None:
    project_id = await add_project(services, items=3, overlap=1, gold_rate=0.5)
    await add_items(services, project_id, 3, prefix="gold")
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.75)  # not below a new worker's 1.5 x gold_rate
    texts = []
    task = (await services.work.start(1, "reviews")).task
    while task is not None:
        texts.append(task.text)
        task = next_task(await services.work.answer_choice(1, task.assignment_id, 0))
    assert texts == ["text 0", "text 1", "text 2"]
    # normal work is gone: gold is never served on its own
    services.work.rng = FixedRandom(0.0)
    served = await services.work.start(1, "reviews")
    assert served.task is None and served.empty is Empty.NOTHING_LEFT
    await add_worker(services, 2)
    assert (await services.work.start(2, "reviews")).empty is Empty.NOTHING_LEFT
    assert [a for a, i in with_items(services.db) if i.gold is not None] == []


async def test_gold_is_served_once_per_worker_while_work_remains(services: Services) -> None:
    project_id = await add_project(services, items=2, overlap=3)
    answers = await add_items(services, project_id, 2, prefix="gold")
    services.work.rng = FixedRandom(0.0)
    per_worker: dict[int, list[str | None]] = {}
    for w in (1, 2, 3, 4):
        await add_worker(services, w)
        per_worker[w] = []
        task = (await services.work.start(w, "reviews")).task
        while task is not None:
            per_worker[w].append(task.text)
            task = next_task(await services.work.answer_choice(w, task.assignment_id, 0))
    for w in (1, 2, 3):
        assert per_worker[w] == ["gold 0", "gold 1", "text 0", "text 1"]
    assert per_worker[4] == []  # overlap 3: no normal work left, so no gold either
    gold_rows = [(i.text, n) for i, n in Counter(
        i for _, i in with_items(services.db) if i.gold is not None).items()]
    assert sorted(gold_rows) == [("gold 0", 3), ("gold 1", 3)]
    assert set(answers) == {"gold 0", "gold 1"}


async def test_gold_rate_follows_the_random_draws(services: Services) -> None:
    project_id = await add_project(services, items=30, overlap=1, gold_rate=0.25,
                                   min_gold=10_000)  # answers are not judged here
    await add_items(services, project_id, 30, prefix="gold")
    await add_worker(services, 1)
    services.work.rng = random.Random(7)
    draws = random.Random(7)
    expected: list[bool] = []
    normal_left, gold_left = 30, 30
    while normal_left:
        # a worker never judged (min_gold 10,000) is checked at the learning rate
        is_gold = draws.random() < 0.25 * routing.LEARNING_GOLD and gold_left > 0
        expected.append(is_gold)
        if is_gold:
            gold_left -= 1
        else:
            normal_left -= 1
    served: list[bool] = []
    task = (await services.work.start(1, "reviews")).task
    while task is not None:
        assert task.text is not None
        served.append(task.text.startswith("gold"))
        task = next_task(await services.work.answer_choice(1, task.assignment_id, 0))
    assert served == expected
    assert 3 <= sum(served) <= 30  # gold is mixed in, not everything and not nothing


async def test_gold_feedback_right_wrong_and_switched_off(services: Services) -> None:
    project_id = await add_project(services, items=3)
    answers = await add_items(services, project_id, 2, prefix="gold")
    await add_project(services, items=3, name="quiet", feedback=False)
    quiet_id = project_id_of(services.db, "quiet")
    assert isinstance(quiet_id, int)
    await add_items(services, quiet_id, 1, prefix="qgold")
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.0)

    task = (await services.work.start(1, "reviews")).task
    assert task is not None and task.text == "gold 0"
    right = await services.work.answer_choice(1, task.assignment_id,
                                              choice_for(answers["gold 0"], True))
    assert right.feedback == Feedback(True, answers["gold 0"],
                                          Localized({"en": "why gold 0"}))
    task = next_task(right)
    assert task is not None and task.text == "gold 1"
    wrong = await services.work.answer_choice(1, task.assignment_id,
                                              choice_for(answers["gold 1"], False))
    assert wrong.feedback == Feedback(False, answers["gold 1"],
                                          Localized({"en": "why gold 1"}))
    task = next_task(wrong)
    assert task is not None and task.text == "text 0"
    normal = await services.work.answer_choice(1, task.assignment_id, 0)
    assert normal.feedback is None and normal.suspended is None
    checks = [(i.text, a.gold_correct) for a, i in with_items(services.db)
              if a.status == "answered"]
    assert checks == [("gold 0", 1), ("gold 1", 0), ("text 0", None)]

    task = (await services.work.start(1, "quiet")).task
    assert task is not None and task.text == "qgold 0"
    silent = await services.work.answer_choice(1, task.assignment_id, 2)
    assert silent.outcome is Outcome.ACCEPTED and silent.feedback is None
    assert next(a.gold_correct for a, i in with_items(services.db) if i.text == "qgold 0") == 0


async def test_low_gold_accuracy_suspends_and_an_operator_reinstates(
        services: Services) -> None:
    project_id = await add_project(services, items=10, min_gold=5, min_accuracy=0.7)
    answers = await add_items(services, project_id, 8, prefix="gold")
    other_id = await add_project(services, items=2, name="other")
    await add_items(services, other_id, 2, prefix="ogold")
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.0)

    # wrong, wrong, right, right: 2 of 4 right, but fewer than min_gold checks so far
    task = (await services.work.start(1, "reviews")).task
    for right in (False, False, True, True):
        assert task is not None and task.text is not None
        result = await services.work.answer_choice(
            1, task.assignment_id, choice_for(answers[task.text], right))
        assert result.suspended is None
        task = next_task(result)
    assert task is not None and task.text == "gold 4"
    result = await services.work.answer_choice(1, task.assignment_id,
                                               choice_for(answers["gold 4"], False))
    assert result.outcome is Outcome.ACCEPTED
    assert result.suspended == "gold"
    assert result.feedback is not None and not result.feedback.correct
    assert result.served is not None and result.served.task is None
    assert result.served.empty is Empty.GATED
    assert result.served.access is not None
    assert result.served.access.gate is Gate.SUSPENDED
    assert result.served.access.reason == "gold"

    served = await services.work.start(1, "reviews")
    assert served.task is None and served.empty is Empty.GATED
    assert served.access is not None and served.access.gate is Gate.SUSPENDED
    assert served.access.reason == "gold"
    # gold accuracy is per project: the other project is not affected
    assert (await services.work.start(1, "other")).task is not None

    project = await services.catalog.get("reviews")
    assert await services.work.set_suspended(1, project, False, "operator")
    assert not await services.work.set_suspended(1, project, False, "operator")
    served = await services.work.start(1, "reviews")
    assert served.task is not None and served.task.text == "gold 5"
    # no quiz in this project: reinstating lifts the suspension and nothing else
    assert [(q.status, q.reason) for q in qualifications(services.db)
            if q.project_id == project_id] == [("new", None)]


async def test_right_gold_answers_keep_a_worker_working(services: Services) -> None:
    project_id = await add_project(services, items=3, min_gold=3, min_accuracy=0.6)
    answers = await add_items(services, project_id, 5, prefix="gold")
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.0)
    task = (await services.work.start(1, "reviews")).task
    for right in (True, False, True, True, False):  # 3/5 = 0.6 is enough
        assert task is not None and task.text is not None
        result = await services.work.answer_choice(
            1, task.assignment_id, choice_for(answers[task.text], right))
        assert result.suspended is None
        task = next_task(result)
    assert task is not None and task.text == "text 0"


async def test_operator_suspension_releases_the_open_task(services: Services) -> None:
    await add_project(services, items=1, overlap=1)
    for w in (1, 2):
        await add_worker(services, w)
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    project = await services.catalog.get("reviews")
    assert await services.work.set_suspended(1, project, True, "operator")
    assert not await services.work.set_suspended(1, project, True, "operator")
    assert await services.work.current(1) is None
    late = await services.work.answer_choice(1, task.assignment_id, 0)
    assert late.outcome is Outcome.NOT_OPEN
    served = await services.work.start(1, "reviews")
    assert served.access is not None and served.access.gate is Gate.SUSPENDED
    assert served.access.reason == "operator"
    other = (await services.work.start(2, "reviews")).task
    assert other is not None and other.item_id == task.item_id


async def test_open_projects_does_not_count_gold_checks_as_waiting(services: Services
                                                                   ) -> None:
    project_id = await add_project(services, items=1, overlap=1)
    await add_items(services, project_id, 3, prefix="gold")
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.99)
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    assert next_task(await services.work.answer_choice(1, task.assignment_id, 0)) is None
    assert [(p.spec.name, waiting) for p, waiting in await services.catalog.open_projects()] \
        == [("reviews", 0)]


# -- too fast --------------------------------------------------------------------------


async def test_time_runs_from_delivery_and_fast_answers_are_flagged(
        services: Services, clock: FakeClock) -> None:
    await add_project(services, items=4, overlap=1, min_seconds=3)
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.99)
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    clock.advance(seconds=30)  # the lease is old, but the phone only just showed it
    result = await answer(services, clock, 1, task, 1)
    assert result.suspended is None
    task = next_task(result)
    assert task is not None
    result = await answer(services, clock, 1, task, 5)
    task = next_task(result)
    assert task is not None
    await services.work.delivered(task, 1, 77)
    clock.advance(seconds=1)
    await services.work.delivered(task, 1, 78)  # shown again: the clock does not restart
    clock.advance(seconds=3)
    result = await services.work.answer_choice(1, task.assignment_id, 0)
    task = next_task(result)
    assert task is not None
    clock.advance(seconds=2)  # never delivered: time runs from the lease
    await services.work.answer_choice(1, task.assignment_id, 0)
    flags = [(a.too_fast, round(a.seconds or 0)) for a in assignments(services.db)]
    assert flags == [(1, 1.0), (0, 5.0), (0, 4.0), (1, 2.0)]


async def test_an_answer_taking_exactly_min_seconds_is_not_too_fast(
        services: Services, clock: FakeClock) -> None:
    await add_project(services, items=1, overlap=1, min_seconds=3)
    await add_worker(services, 1)
    task = (await services.work.start(1, "reviews")).task
    assert task is not None
    await answer(services, clock, 1, task, 3)
    [(too_fast, seconds)] = [(a.too_fast, a.seconds) for a in assignments(services.db)]
    assert seconds == pytest.approx(3.0, abs=1e-3)
    assert too_fast == 0


async def test_seven_fast_of_the_last_twenty_suspend(services: Services,
                                                     clock: FakeClock) -> None:
    await add_project(services, items=30, overlap=1, min_seconds=3)
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.99)
    task = (await services.work.start(1, "reviews")).task
    # 1 fast, 13 slow, 5 fast, 1 slow, 1 fast: 7 fast in all, but the first has rolled
    # out of the last 20, which hold 6 -> still working
    plan = [1.0] + [10.0] * 13 + [1.0] * 5 + [10.0] + [1.0]
    for seconds in plan:
        assert task is not None
        result = await answer(services, clock, 1, task, seconds)
        assert result.suspended is None
        task = next_task(result)
    # one more fast answer: 7 of the last 20
    assert task is not None
    result = await answer(services, clock, 1, task, 0.5)
    assert result.suspended == "too_fast"
    assert result.served is not None and result.served.empty is Empty.GATED
    served = await services.work.start(1, "reviews")
    assert served.task is None
    assert served.access is not None and served.access.gate is Gate.SUSPENDED
    assert served.access.reason == "too_fast"
    assert sum(1 for a in assignments(services.db) if a.too_fast == 1) == 8
    project = await services.catalog.get("reviews")
    assert await services.work.set_suspended(1, project, False, "operator")
    assert (await services.work.start(1, "reviews")).task is not None


async def test_no_automatic_speed_rule_before_fifty_answers(services: Services,
                                                            clock: FakeClock) -> None:
    await add_project(services, items=12, overlap=1)
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.99)
    task = (await services.work.start(1, "reviews")).task
    for seconds in [10.0] * 10 + [0.5]:
        assert task is not None
        task = next_task(await answer(services, clock, 1, task, seconds))
    assert sum(1 for a in assignments(services.db) if a.too_fast == 1) == 0


async def test_half_the_median_applies_once_fifty_answers_exist(services: Services,
                                                                clock: FakeClock) -> None:
    await add_project(services, items=60, overlap=1)
    await add_worker(services, 1)
    services.work.rng = FixedRandom(0.99)
    task = (await services.work.start(1, "reviews")).task
    for seconds in [10.0] * 55 + [1.0]:
        assert task is not None
        task = next_task(await answer(services, clock, 1, task, seconds))
    flagged = [(round(a.seconds or 0),) for a in assignments(services.db) if a.too_fast == 1]
    assert flagged == [(1.0,)]


# -- dynamic overlap -------------------------------------------------------------------


async def overlap_item(services: Services, choices: list[int]) -> list[Task | None]:
    """One item, overlap 3 up to 5 at 0.9; worker n+1 answers ``choices[n]``; returns what
    each of them was served and then what the next worker would get."""
    await add_project(services, items=1, overlap=3, max_overlap=5, confidence=0.9)
    served: list[Task | None] = []
    for w, choice in enumerate(choices, start=1):
        await add_worker(services, w)
        task = (await services.work.start(w, "reviews")).task
        served.append(task)
        if task is not None:
            await services.work.answer_choice(w, task.assignment_id, choice)
    return served


async def item_row(services: Services) -> tuple[object, ...]:
    """The first normal item (not gold, not quiz)."""
    return next((i.state, i.answers, i.label, i.confidence) for i in items(services.db)
                if i.gold is None and i.quiz == 0)


async def test_three_agreeing_answers_finish_the_item(services: Services) -> None:
    served = await overlap_item(services, [1, 1, 1])
    assert all(t is not None for t in served)
    state, answers, label, confidence = await item_row(services)
    assert (state, answers, label) == (DONE, 3, "neutral")
    assert isinstance(confidence, float) and confidence == pytest.approx(0.512 / 0.514)
    await add_worker(services, 4)
    assert (await services.work.start(4, "reviews")).empty is Empty.NOTHING_LEFT


async def test_a_split_asks_one_more_worker(services: Services) -> None:
    served = await overlap_item(services, [0, 0, 2])
    assert all(t is not None for t in served)
    state, answers, label, confidence = await item_row(services)
    assert (state, answers, label) == (STARTED, 3, "positive")
    assert isinstance(confidence, float) and confidence < 0.9
    assert confidence == pytest.approx(0.064 / 0.073)
    for w in (4, 5):
        await add_worker(services, w)
    fourth = (await services.work.start(4, "reviews")).task
    first = served[0]
    assert fourth is not None and first is not None and fourth.item_id == first.item_id
    assert (await item_row(services))[0] == FULL  # just one more, not two
    assert (await services.work.start(5, "reviews")).empty is Empty.NOTHING_LEFT
    await services.work.answer_choice(4, fourth.assignment_id, 0)
    state, answers, label, confidence = await item_row(services)
    assert (state, answers, label) == (DONE, 4, "positive")
    assert isinstance(confidence, float) and confidence > 0.9


async def test_a_returned_lease_reopens_the_extra_slot(services: Services) -> None:
    await overlap_item(services, [0, 0, 2])
    await add_worker(services, 4)
    await add_worker(services, 5)
    fourth = (await services.work.start(4, "reviews")).task
    assert fourth is not None
    await services.work.stop(4, fourth.assignment_id)
    assert (await item_row(services))[0] == STARTED
    assert (await services.work.start(5, "reviews")).task is not None


async def test_five_answers_always_finish_the_item(services: Services) -> None:
    served = await overlap_item(services, [0, 1, 0, 1, 2, 0])
    assert all(t is not None for t in served[:5])
    assert served[5] is None
    state, answers, label, confidence = await item_row(services)
    assert (state, answers) == (DONE, 5)
    assert label == "positive"  # 2-2-1: the tie goes to the label listed first
    assert isinstance(confidence, float) and confidence < 0.9
    assert len(assignments(services.db)) == 5


async def test_fixed_overlap_finishes_at_overlap_even_when_split(services: Services) -> None:
    await add_project(services, items=1, overlap=3)
    for w, choice in enumerate([0, 1, 2, 0], start=1):
        await add_worker(services, w)
        task = (await services.work.start(w, "reviews")).task
        if w <= 3:
            assert task is not None
            await services.work.answer_choice(w, task.assignment_id, choice)
        else:
            assert task is None
    state, answers, _label, _confidence = await item_row(services)
    assert (state, answers) == (DONE, 3)


async def test_gold_accuracy_weighs_the_live_estimate(services: Services) -> None:
    project_id = await add_project(services, items=1, overlap=3, max_overlap=5,
                                   confidence=0.9, min_gold=100)
    answers = await add_items(services, project_id, 6, prefix="gold")
    services.work.rng = FixedRandom(0.0)
    # worker 1 gets every gold check right, workers 2 and 3 every one wrong
    for w, right in ((1, True), (2, False), (3, False)):
        await add_worker(services, w)
        task = (await services.work.start(w, "reviews")).task
        while task is not None and task.text in answers:
            result = await services.work.answer_choice(
                w, task.assignment_id, choice_for(answers[task.text], right))
            task = next_task(result)
        assert task is not None and task.text == "text 0"
        await services.work.answer_choice(w, task.assignment_id, 2 if w == 1 else 0)
    state, count, label, _confidence = await item_row(services)
    assert (count, label) == (3, "negative")  # the reliable worker outweighs two others
    assert state == DONE


async def test_training_is_never_longer_than_the_exam(services: Services) -> None:
    project, answers = await quiz_project(services, pool=3, questions=3)
    await add_worker(services, 1)
    steps = await asyncio.gather(services.quizzes.begin(1, project),
                                 services.quizzes.begin(1, project))
    assert steps[0].question is not None and steps[1].question is not None
    assert steps[0].question.attempt_id == steps[1].question.attempt_id  # one attempt
    assert (steps[0].question.phase, steps[0].question.total) == ("exam", 3)
    training = await run_quiz(services, 1, project, answers, wrong={0, 1, 2})
    assert training[1].question is not None
    assert (training[1].question.phase, training[1].question.total) == ("training", 3)
    assert training[-1].outcome is QuizOutcome.TRAINING_DONE
    gate = await services.work.access(1, project)  # practice costs no try
    assert gate.gate is Gate.QUIZ and gate.tries_left == 3 and not gate.training
    exam = await run_quiz(services, 1, project, answers)
    assert exam[0].question is not None and exam[0].question.phase == "exam"
    assert exam[-1].result is not None and exam[-1].result.passed


async def test_nobody_is_sent_into_a_quiz_when_no_work_is_left(services: Services) -> None:
    """/tasks, notices and the quiz's own start all ask whether work is left first; and
    work running out during practice means no exam is started after it."""
    for w in (1, 2, 3):
        await add_worker(services, w)
    await services.broadcasts.notify_events()  # nothing of the projects below yet
    # a project with a full quiz pool but no work at all
    project, _answers = await quiz_project(services, items=0, name="empty")
    assert await services.work.offers(1, 10) == []
    assert await services.broadcasts.notify_events() == 0
    assert (await services.quizzes.begin(1, project)).outcome is QuizOutcome.NOTHING_LEFT
    assert (await services.work.start(1, "empty")).empty is Empty.NOTHING_LEFT

    # one task for one answer: worker 2 takes it while worker 1 is practising
    one = await add_project(services, items=1, name="one", overlap=1, quiz={})
    answers = await add_items(services, one, 10, prefix="one-quiz", quiz=True)
    project = await services.catalog.get("one")
    assert [p.spec.name for p, _n in await services.work.offers(1, 10)] == ["one"]
    assert (await run_quiz(services, 1, project, answers, wrong={0}))[-1].outcome \
        is QuizOutcome.TRAINING_DONE
    await pass_quiz(services, 2, project, answers)
    task = (await services.work.start(2, "one")).task
    assert task is not None
    await services.work.answer_choice(2, task.assignment_id, 0)
    assert await services.work.offers(1, 10) == []
    assert await services.work.offers(3, 10) == []
    assert (await services.quizzes.begin(1, project)).outcome is QuizOutcome.NOTHING_LEFT
    assert (await services.quizzes.begin(3, project)).outcome is QuizOutcome.NOTHING_LEFT
    assert [(a.worker_id, a.phase) for a in quiz_attempts(services.db)
            if a.project_id == project.id] == [(1, "training"), (2, "exam")]


async def test_stats_report_quiz_answers_per_qualified_worker(services: Services) -> None:
    """The number issue 13 cut, where the operator sees it: every quiz answer (practice,
    failed and passed exams) per worker who passed."""
    project, answers = await quiz_project(services, training=True)
    for w in (1, 2, 3):
        await add_worker(services, w)
    [before] = await services.reports.stats()
    assert (before.quiz_answers, before.qualified, before.quiz_per_qualified) == (0, 0, None)
    await pass_quiz(services, 1, project, answers)          # exam 6, no practice
    await run_quiz(services, 2, project, answers, wrong={0})  # first missed: practice 3
    await run_quiz(services, 2, project, answers, wrong={0, 1, 2})  # failed after 3
    [stats] = await services.reports.stats()
    assert (stats.quiz_answers, stats.qualified) == (12, 1)
    assert stats.quiz_per_qualified == 12.0
    await pass_quiz(services, 3, project, answers)
    [stats] = await services.reports.stats()
    assert (stats.quiz_answers, stats.qualified, stats.quiz_per_qualified) == (18, 2, 9.0)
