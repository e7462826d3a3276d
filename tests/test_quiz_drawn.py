"""Quizzes of boxes and points projects: each question answered in the Mini App (only
by its own worker, only the question asked now, once), judged by the project's IoU or
point tolerance, with the picture and the worker's drawing kept for feedback (after each
practice answer, and for each missed exam question at the end)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from bot.domain.shapes import Drawing, read_drawing
from bot.services.quiz import Question, QuizOutcome, QuizStep
from bot.wiring import Services
from tests.conftest import add_worker
from tests.drawn import PERSON, add_drawn_project, box, boxes_doc, points_doc
from tests.state import quiz_questions

QUIZ = {"questions": 3, "pass": 0.6}


def _boxes(dx: float) -> Drawing:
    """The gold person box moved right by ``dx`` (0.04: IoU 0.82, right; 0.2: 0.33)."""
    x0, y0, x1, y1 = PERSON
    return read_drawing("boxes", [box("person", x0 + dx, y0, x1 + dx, y1)])


async def _quiz_project(services: Services, folder: Path) -> None:
    """Five pictures, each with the gold person box: three quiz questions, two tasks."""
    gold = [box("person", *PERSON)]
    await add_drawn_project(services, folder, boxes_doc(quiz=QUIZ), items=5,
                            gold={0: gold, 1: gold, 2: gold}, quiz={0, 1, 2})


async def _answer(services: Services, worker: int, step: QuizStep, dx: float) -> QuizStep:
    assert step.question is not None
    q = step.question
    return await services.quizzes.answer(worker, q.attempt_id, q.position,
                                         drawing=_boxes(dx))


async def test_a_boxes_quiz_is_answered_by_drawing_and_judged_by_iou(
        services: Services, tmp_path: Path) -> None:
    await _quiz_project(services, tmp_path)
    await add_worker(services, 1)
    await add_worker(services, 2)
    project = await services.catalog.get("people")
    step = await services.quizzes.begin(1, project)
    assert step.outcome is QuizOutcome.NEXT and step.question is not None
    first: Question = step.question
    # the exam comes first; a missed first question turns into practice (issue 13)
    assert first.phase == "exam" and first.media is not None
    # the Mini App's page finds the question asked now, for its own worker only
    found = await services.quizzes.drawing_question(1, first.attempt_id, first.position)
    assert found is not None and found.media == first.media
    assert await services.quizzes.drawing_question(2, first.attempt_id, 0) is None
    assert await services.quizzes.drawing_question(1, first.attempt_id, 1) is None
    # a label tap or a box of a label the project lacks is no answer: nothing recorded
    tap = await services.quizzes.answer(1, first.attempt_id, 0, choice=0)
    assert tap.outcome is QuizOutcome.INVALID
    dog = read_drawing("boxes", [box("dog", 0.1, 0.1, 0.5, 0.5)])
    refused = await services.quizzes.answer(1, first.attempt_id, 0, drawing=dog)
    assert refused.outcome is QuizOutcome.INVALID and refused.problem is not None
    assert [q.answer for q in quiz_questions(services.db)] == [None, None, None]

    # a box far off misses the first exam question, which becomes practice: a box off by
    # a little is right (IoU 0.82 >= 0.7); each practice answer's feedback carries the
    # picture and the drawing, to be drawn over it
    missed = await _answer(services, 1, step, 0.2)
    assert missed.practice_started and missed.question is not None
    assert missed.question.phase == "training"
    assert missed.feedback is not None and not missed.feedback.correct
    assert missed.feedback.media_id == first.media.id
    assert missed.feedback.given == '[{"label":"person","box":[0.4,0.25,0.8,0.9]}]'
    assert missed.feedback.answer == '[{"label":"person","box":[0.2,0.25,0.6,0.9]}]'
    again = await services.quizzes.answer(1, first.attempt_id, 0, drawing=_boxes(0.0))
    assert again.outcome is QuizOutcome.ALREADY_ANSWERED  # once, like a tap
    right = await _answer(services, 1, missed, 0.04)
    assert right.feedback is not None and right.feedback.correct
    done = await _answer(services, 1, right, 0.0)
    assert done.outcome is QuizOutcome.TRAINING_DONE  # two right in a row: practice over

    # the exam: one missed, two right of three (0.6 needs 2): passed, the miss drawn
    step = await services.quizzes.begin(1, project)
    assert step.question is not None and step.question.phase == "exam"
    exam_first = step.question
    step = await _answer(services, 1, step, 0.3)
    assert step.feedback is None  # no hints during the exam
    step = await _answer(services, 1, step, 0.0)
    step = await _answer(services, 1, step, 0.01)
    assert step.outcome is QuizOutcome.FINISHED and step.result is not None
    assert step.result.passed and (step.result.correct, step.result.total) == (2, 3)
    [miss] = step.result.missed
    assert exam_first.media is not None and miss.media_id == exam_first.media.id
    assert miss.given is not None and '"box":[0.5,0.25,0.9,0.9]' in miss.given
    picture = await services.work.drawn_feedback(project, miss.feedback)
    assert picture is not None
    with Image.open(io.BytesIO(picture)) as shown:
        assert shown.format == "JPEG"
    # passed: the project's tasks are open to the worker now
    served = await services.work.start(1, "people")
    assert served.task is not None


async def test_a_points_quiz_uses_the_point_tolerance_of_the_picture(
        services: Services, tmp_path: Path) -> None:
    gold = [[0.2, 0.5], [0.8, 0.5]]
    await add_drawn_project(services, tmp_path,
                            points_doc(quiz={"questions": 2, "training": False}),
                            items=3, gold={0: gold, 1: gold}, quiz={0, 1},
                            size=(900, 300))
    await add_worker(services, 1)
    project = await services.catalog.get("shoes")
    step = await services.quizzes.begin(1, project)
    assert step.question is not None and step.question.phase == "exam"
    # 0.06 down a picture three times as wide as high is near (within 0.05 of the
    # diagonal); 0.06 across it is not
    down = read_drawing("points", [[0.2, 0.56], [0.8, 0.5]])
    across = read_drawing("points", [[0.26, 0.5], [0.8, 0.5]])
    q = step.question
    step = await services.quizzes.answer(1, q.attempt_id, q.position, drawing=down)
    assert step.question is not None
    q = step.question
    step = await services.quizzes.answer(1, q.attempt_id, q.position, drawing=across)
    assert step.result is not None and (step.result.correct, step.result.total) == (1, 2)
    assert not step.result.passed
