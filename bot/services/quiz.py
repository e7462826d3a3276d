"""Qualifying quizzes: an exam with a pass mark, and a practice round for who needs it.

People fail entry exams when nobody trained them, so a worker who misses the exam's first
question before ever practising is not marked down for it: that question becomes the
first of a practice round, which explains every answer, and the exam starts afresh after
it. A worker who gets the first question right goes on with the exam: replayed crowds
showed the practice round, when everyone sat it first, costing a third of all quiz
answers. The exam gives no hints until the end, where every missed question is shown with
its right answer. Quiz answers are never labels, and unpaid unless the project pays for a
passed exam (``quiz.paid``: its questions at the task price, once, in the transaction that
records the pass); a passed exam's answers start the worker's gold record
(``storage.quality.skill_stats``).
Both rounds stop as soon as more questions would change nothing (``bot.domain.quiz_rules``); an
attempt keeps only the questions it asked, so its record reads "4 of 4 right".

A boxes or points question is answered in the Mini App, as a task is
(``drawing_question``, then ``answer(…, drawing=…)``), judged with the project's ``iou``
or ``point_tolerance`` exactly as a gold check at work; its feedback and the exam's
missed questions carry the picture and the worker's drawing, so the chat can show the
right shapes drawn over it (``Work.drawn_feedback``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from bot.clock import to_iso
from bot.domain.project_spec import Localized
from bot.domain.projects import Project
from bot.domain.qualify import Gate
from bot.domain.quality import answer_score, is_correct
from bot.domain.quiz_rules import PRACTICE_MOST, exam_verdict, practice_over
from bot.domain.records import Media, Qualification
from bot.domain.shapes import Drawing, ShapeError
from bot.services.work import Feedback, Work, answer_value, typed_too_long
from storage import items as item_store
from storage import media as media_store
from storage import projects as project_store
from storage import quality as quality_store
from storage import quiz as quiz_store
from storage import workers as worker_store
from storage.connection import Connection


class QuizOutcome(enum.Enum):
    NEXT = "next"                # here is the next question (maybe with feedback)
    TRAINING_DONE = "training_done"
    FINISHED = "finished"        # exam over: see ``result``
    ALREADY_ANSWERED = "already_answered"
    STALE = "stale"              # an old question's button, or a closed attempt
    FORGED = "forged"
    INVALID = "invalid"
    TOO_LONG = "too_long"        # a typed answer over ``MAX_TYPED_ANSWER``
    NO_QUIZ = "no_quiz"
    #: nothing in the project is left for this worker: no practice or exam is started
    NOTHING_LEFT = "nothing_left"


@dataclass(frozen=True)
class Question:
    attempt_id: int
    position: int
    total: int
    phase: str
    project: Project
    text: str | None
    media: Media | None


@dataclass(frozen=True)
class Missed:
    text: str | None
    answer: str
    explain: Localized | None
    #: a drawn question: its picture and what the worker drew (to show both, drawn)
    media_id: int | None = None
    given: str | None = None

    @property
    def feedback(self) -> Feedback:
        """As the feedback of a missed gold check (``Work.drawn_feedback`` draws it)."""
        return Feedback(False, self.answer, self.explain, self.media_id, self.given)


@dataclass(frozen=True)
class ExamResult:
    correct: int
    #: questions asked: fewer than ``questions`` when the verdict came early
    total: int
    #: right answers the whole exam asks for, of ``questions``
    needed: int
    passed: bool
    retry_at: datetime | None
    tries_left: int
    missed: tuple[Missed, ...]
    #: the exam's full length
    questions: int = 0
    #: percent of the words a typed exam asks for (the project's ``pass``)
    needed_share: int = 0
    #: a typed exam: the questions' worth of words right (``answer_score``), which the
    #: verdict went by; None for labels, where it is ``correct``
    words: Fraction | None = None
    #: a passed exam on a project with ``quiz.paid``: micros paid for its ``total``
    #: questions, in ``currency``, at ``price`` each (0: nothing paid)
    paid: int = 0
    price: int = 0
    currency: str = ""

    @property
    def words_share(self) -> int:
        """Percent of the words right over the questions asked (a typed exam)."""
        return round(100 * (self.words or 0) / max(self.total, 1))


    @property
    def early(self) -> bool:
        """The verdict came before the last question."""
        return self.total < self.questions


@dataclass(frozen=True)
class QuizStep:
    outcome: QuizOutcome
    question: Question | None = None
    feedback: Feedback | None = None
    result: ExamResult | None = None
    project: Project | None = None
    #: this answer, a missed first exam question, turned the exam into practice
    practice_started: bool = False
    #: why an INVALID drawing was refused (a translatable message and its values)
    problem: ShapeError | None = None


class Quizzes:
    def __init__(self, work: Work) -> None:
        self.work = work
        self.db = work.db
        self.clock = work.clock

    async def begin(self, worker_id: int, project: Project) -> QuizStep:
        """Start (or resume) the practice round or the exam, as the worker is due."""
        async with self.db.transaction() as conn:
            attempt = await quiz_store.open_attempt(conn, worker_id, project.id)
            if attempt is None:
                worker = await worker_store.get(conn, worker_id)
                gate = await self.work.access_in(conn, worker_id, project, worker)
                if gate.gate is not Gate.QUIZ or project.spec.quiz is None or worker is None:
                    return QuizStep(QuizOutcome.NO_QUIZ, project=project)
                if not await self.work.waiting_for(conn, worker, project, 1):
                    return QuizStep(QuizOutcome.NOTHING_LEFT, project=project)
                # questions in the languages the worker reads (the gate counted the same)
                pool = await quiz_store.pool(conn, project.id,
                                             self.work.languages_for(worker, project))
                # always the exam: a first miss by a worker who has not practised turns it
                # into the practice round (``answer``)
                drawn = self.work.rng.sample(pool, project.spec.quiz.questions)
                attempt_id = await quiz_store.create_attempt(
                    conn, worker_id, project.id, "exam", drawn, self._now())
            else:
                attempt_id = attempt.id
            return QuizStep(QuizOutcome.NEXT, await self._next_question(conn, attempt_id,
                                                                         project),
                            project=project)

    async def drawing_question(self, worker_id: int, attempt_id: int, position: int
                               ) -> Question | None:
        """The question the Mini App was opened for: in this worker's own open attempt,
        the one asked now, of a boxes or points project; None for anything else (the
        page cannot tell it from a question already answered)."""
        async with self.db.read() as conn:
            attempt = await quiz_store.get_attempt(conn, attempt_id)
            if attempt is None or attempt.worker_id != worker_id or attempt.status != "open":
                return None
            row = await project_store.get(conn, attempt.project_id)
            assert row is not None
            project = Project.from_row(row)
            questions = await quiz_store.questions(conn, attempt_id)
            pending = next((q for q in questions if q.answer is None), None)
            if not project.spec.spatial or pending is None or pending.position != position:
                return None
            return await self._next_question(conn, attempt_id, project)

    async def answer(self, worker_id: int, attempt_id: int, position: int, *,
                     choice: int | None = None, text: str | None = None,
                     message_id: int | None = None, drawing: Drawing | None = None
                     ) -> QuizStep:
        """Record the answer to question ``position`` once: a tapped label (``choice``),
        a typed ``text``, or a ``drawing`` from the Mini App (already read by
        ``bot.domain.shapes.read_drawing``)."""
        async with self.db.transaction() as conn:
            attempt = await quiz_store.get_attempt(conn, attempt_id)
            if attempt is None or attempt.worker_id != worker_id:
                return QuizStep(QuizOutcome.FORGED)
            row = await project_store.get(conn, attempt.project_id)
            assert row is not None
            project = Project.from_row(row)
            if message_id is not None and await quiz_store.typed_answer_seen(
                    conn, attempt_id, message_id):
                return QuizStep(QuizOutcome.ALREADY_ANSWERED, project=project)
            if attempt.status != "open":
                return QuizStep(QuizOutcome.STALE, project=project)
            questions = await quiz_store.questions(conn, attempt_id)
            pending = next((q for q in questions if q.answer is None), None)
            if pending is None or position != pending.position:
                answered = any(q.position == position and q.answer is not None
                               for q in questions)
                return QuizStep(QuizOutcome.ALREADY_ANSWERED if answered
                                else QuizOutcome.STALE, project=project)
            if typed_too_long(project.spec, text):
                return QuizStep(QuizOutcome.TOO_LONG, project=project)
            try:
                value = answer_value(project.spec, choice, text, drawing)
            except ShapeError as problem:
                return QuizStep(QuizOutcome.INVALID, project=project, problem=problem)
            if value is None:
                return QuizStep(QuizOutcome.INVALID, project=project)
            item = await item_store.get(conn, pending.item_id)
            assert item is not None and item.gold is not None
            aspect = await self.work.aspect(conn, project, item)
            correct = is_correct(project.spec, value, item.gold, aspect)
            await quiz_store.answer(conn, attempt_id, position, value, correct, self._now(),
                                    message_id)
            phase, practice_started = attempt.phase, False
            score = answer_score(project.spec, value, item.gold, aspect)
            if await self._practice_first(conn, worker_id, project, phase, position, score):
                most = min(len(questions), PRACTICE_MOST)
                await quiz_store.to_practice(conn, attempt_id, most)
                questions, phase, practice_started = questions[:most], "training", True
            feedback = None
            if phase == "training":
                explain = Localized(item.explain) if item.explain else None
                feedback = Feedback(correct, item.gold, explain,
                                    *((item.media_id, value) if project.spec.spatial else ()))
            quiz = project.spec.quiz
            if phase == "exam" and quiz is None:  # the quiz was removed meanwhile
                await quiz_store.drop_unasked(conn, attempt_id)
                await quiz_store.finish(conn, attempt_id, "done", self._now())
                return QuizStep(QuizOutcome.NO_QUIZ, project=project)
            verdict = None
            if phase == "exam":
                assert quiz is not None
                scores = await self._scores(conn, project, questions[:position])
                scores.append(score)
                verdict = exam_verdict(scores, len(questions),
                                       quiz.needed(project.spec.typed))
                over = verdict is not None
            else:
                so_far = [bool(q.correct) for q in questions[:position]] + [correct]
                over = practice_over(so_far, len(questions))
            if not over:
                return QuizStep(QuizOutcome.NEXT, await self._next_question(
                    conn, attempt_id, project), feedback, project=project,
                    practice_started=practice_started)
            # the questions drawn but never asked are no part of the attempt
            await quiz_store.drop_unasked(conn, attempt_id)
            await quiz_store.finish(conn, attempt_id, "done", self._now())
            if phase == "training":
                await self._save(conn, worker_id, project, trained=True)
                return QuizStep(QuizOutcome.TRAINING_DONE, feedback=feedback,
                                project=project, practice_started=practice_started)
            assert verdict is not None
            result = await self._grade(conn, worker_id, project, attempt_id, verdict,
                                       len(questions))
            return QuizStep(QuizOutcome.FINISHED, result=result, project=project)

    async def _practice_first(self, conn: Connection, worker_id: int, project: Project,
                              phase: str, position: int, score: Fraction) -> bool:
        """A missed first exam question, by a worker who has not practised on a project
        with practice on: the attempt becomes the practice round, and the miss its first
        question (it costs no try). Missed means worth less than the pass mark: a wrong
        label, or a typed text with fewer of its words right than ``pass`` asks."""
        quiz = project.spec.quiz
        if phase != "exam" or position != 0 or quiz is None or not quiz.training \
                or score >= Fraction(str(quiz.pass_share)):
            return False
        current = await quality_store.qualification(conn, worker_id, project.id)
        return not (current is not None and current.trained)

    async def open_attempt(self, worker_id: int) -> tuple[int, int] | None:
        """(attempt, position of the next question) of an open typed-answer quiz."""
        async with self.db.read() as conn:
            return await quiz_store.open_typed_question(conn, worker_id)

    async def _scores(self, conn: Connection, project: Project,
                      asked: list[quiz_store.Question]) -> list[Fraction]:
        """What each answered question is worth to the verdict (``answer_score``): its
        right or wrong for a label; for a typed text the share of its words right."""
        if not project.spec.typed:
            return [Fraction(int(bool(q.correct))) for q in asked]
        scores = []
        for q in asked:
            item = await item_store.get(conn, q.item_id)
            assert item is not None and item.gold is not None
            scores.append(answer_score(project.spec, q.answer or "", item.gold))
        return scores

    async def _grade(self, conn: Connection, worker_id: int, project: Project,
                     attempt_id: int, passed: bool, drawn: int) -> ExamResult:
        """Record the verdict ``bot.domain.quiz_rules`` reached after the questions asked."""
        quiz = project.spec.quiz
        assert quiz is not None
        questions = await quiz_store.questions(conn, attempt_id)
        correct = sum(1 for q in questions if q.correct)
        score = sum(await self._scores(conn, project, questions), Fraction(0))
        current = await quality_store.qualification(conn, worker_id, project.id)
        attempts = (current.attempts if current else 0) + 1
        tries_left = max(quiz.attempts - attempts, 0)
        retry_at = None
        if not passed and tries_left:
            retry_at = self.clock.now() + timedelta(hours=quiz.cooldown_hours)
        await self._save(conn, worker_id, project, attempts=attempts,
                         status="passed" if passed else "failed",
                         retry_at=to_iso(retry_at) if retry_at else None,
                         # a typed exam is scored by words, gold checks by the
                         # tolerance: the two do not add up, so only a labelling
                         # exam starts the gold record
                         exam=((len(questions), correct)
                               if passed and not project.spec.typed else None))
        paid = 0
        if passed and quiz.paid:  # in the pass's own transaction: both land, or neither
            paid = await self.work.earnings.pay_exam(conn, worker_id, project, attempt_id,
                                                     len(questions), self._now())
        missed = []
        for q in questions:
            if q.correct:
                continue
            item = await item_store.get(conn, q.item_id)
            assert item is not None
            picture = (item.media_id, q.answer) if project.spec.spatial else (None, None)
            missed.append(Missed(item.text, item.gold or "",
                                 Localized(item.explain) if item.explain else None, *picture))
        return ExamResult(correct, len(questions), quiz.pass_count, passed, retry_at,
                          tries_left, tuple(missed), drawn,
                          round(100 * quiz.pass_share),
                          score if project.spec.typed else None, paid,
                          project.spec.reward_micros, project.spec.currency)

    async def _save(self, conn: Connection, worker_id: int, project: Project, *,
                    trained: bool | None = None, attempts: int | None = None,
                    status: str | None = None, retry_at: str | None = None,
                    exam: tuple[int, int] | None = None) -> None:
        """Update the quiz standing only; a suspension stays as it is. ``exam`` is the
        passed exam's (answers, right ones): the start of the worker's gold record."""
        current = await quality_store.qualification(conn, worker_id, project.id)
        current = current or Qualification(worker_id, project.id, "new", 0, False, None, None)
        # a new status always comes with its retry time (None clears it)
        updated = replace(
            current,
            trained=current.trained if trained is None else trained,
            attempts=current.attempts if attempts is None else attempts,
            status=current.status if status is None else status,
            retry_at=current.retry_at if status is None else retry_at,
            exam_answers=current.exam_answers if exam is None else exam[0],
            exam_right=current.exam_right if exam is None else exam[1])
        await quality_store.save_qualification(conn, updated, self._now())

    async def _next_question(self, conn: Connection, attempt_id: int,
                             project: Project) -> Question:
        attempt = await quiz_store.get_attempt(conn, attempt_id)
        assert attempt is not None
        questions = await quiz_store.questions(conn, attempt_id)
        pending = next(q for q in questions if q.answer is None)
        item = await item_store.get(conn, pending.item_id)
        assert item is not None
        media = await media_store.get(conn, item.media_id) if item.media_id else None
        return Question(attempt_id, pending.position, len(questions), attempt.phase, project,
                        item.text, media)

    def _now(self) -> str:
        return to_iso(self.clock.now())
