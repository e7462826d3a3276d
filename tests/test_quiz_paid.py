"""A paid exam (``quiz.paid``): a pass credits the questions that attempt asked at the task
price, once, in the pass's own transaction; practice, failed attempts and projects that do
not pay write nothing. On both storage backends (the ``services`` and ``bot`` fixtures)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import FakeClock
from bot.config import load_config
from bot.domain.money import format_money
from bot.domain.projects import Project, parse_project
from bot.domain.qualify import Access, Gate
from bot.i18n import gettext_for
from bot.services.quiz import ExamResult, QuizOutcome
from bot.services.reports import ProjectStats
from bot.sim.crowd import join
from bot.wiring import Services
from handlers.callbacks import QuizAnswer
from handlers.quiz_text import gate_text, quiz_cost, result_text
from tests.conftest import Running, add_project, add_worker, sentiment_doc
from tests.state import ledger_entries, quiz_attempts, quiz_questions
from tests.test_quiz import LABELS, add_items, choice_for, run_quiz
from tests.test_wording import _ascii_words

PRICE = 20_000  # "0.02" USD in micros


async def exam_project(services: Services, *, paid: bool = True, reward: str = "0.02",
                       **quiz: object) -> tuple[Project, dict[str, str]]:
    """A 6-question exam at 0.8 (5 of 6), no practice round, retries at once."""
    settings: dict[str, object] = {"questions": 6, "pass": 0.8, "training": False,
                                   "cooldown_hours": 0, "paid": paid, **quiz}
    project_id = await add_project(services, items=5, quiz=settings, reward=reward)
    answers = await add_items(services, project_id, 12, prefix="exam", quiz=True)
    return await services.catalog.get("reviews"), answers


def exam_pay(services: Services) -> list[tuple[int, str, str, str, int, str]]:
    """(worker, kind, bucket, reason, amount, key) of every exam's pay in the ledger."""
    return [(e.worker_id, e.kind, e.bucket, e.reason or "", e.amount, e.key)
            for e in ledger_entries(services.db) if e.key.startswith("quiz:")]


def asked(services: Services, attempt_id: int) -> int:
    """The questions the attempt asked (answered), as the database keeps them."""
    return sum(1 for q in quiz_questions(services.db)
               if q.attempt_id == attempt_id and q.answer is not None)


async def test_a_pass_pays_the_questions_it_asked_once(services: Services) -> None:
    project, answers = await exam_project(services)
    await add_worker(services, 1)
    steps = await run_quiz(services, 1, project, answers)
    result = steps[-1].result
    assert result is not None and result.passed
    attempt = steps[0].question.attempt_id if steps[0].question else 0
    questions = asked(services, attempt)
    # a perfect start passes early: fewer questions than the exam's 6, and only those pay
    assert questions == result.total < 6
    assert exam_pay(services) == [(1, "bonus", "available", "quiz", questions * PRICE,
                                   f"quiz:{attempt}")]
    assert (result.paid, result.price, result.currency) == (questions * PRICE, PRICE, "USD")
    # the same answer again (a repeated update) finds the attempt closed: nothing more
    last = steps[-2].question
    assert last is not None and last.text is not None
    again = await services.quizzes.answer(1, last.attempt_id, last.position,
                                          choice=choice_for(answers[last.text], True))
    assert again.outcome is QuizOutcome.STALE and again.result is None
    # a replica that got as far as paying the same attempt writes nothing either
    async with services.db.transaction() as conn:
        assert await services.payroll.pay_exam(conn, 1, project, attempt, questions,
                                                "2026-01-02T00:00:00.000000Z") == 0
    assert len(exam_pay(services)) == 1
    wallet = await services.payroll.wallet(1)
    assert [(b.currency, b.available, b.pending) for b in wallet.balances] == \
        [("USD", questions * PRICE, 0)]


async def test_a_double_tap_on_the_last_question_pays_once(services: Services) -> None:
    project, answers = await exam_project(services)
    await add_worker(services, 1)
    step = await services.quizzes.begin(1, project)
    while True:
        question = step.question
        assert question is not None and question.text is not None
        choice = choice_for(answers[question.text], True)
        if question.position == 3:  # 4 of 4 right settles 5 of 6 at 95 %: the last one
            break
        step = await services.quizzes.answer(1, question.attempt_id, question.position,
                                             choice=choice)
    both = await asyncio.gather(*(services.quizzes.answer(
        1, question.attempt_id, question.position, choice=choice) for _ in range(2)))
    outcomes = sorted(s.outcome.value for s in both)
    # the second finds the attempt closed by the first
    assert outcomes == sorted([QuizOutcome.FINISHED.value, QuizOutcome.STALE.value])
    assert [row[4] for row in exam_pay(services)] == [4 * PRICE]


async def test_practice_and_failed_attempts_are_not_paid(services: Services) -> None:
    project, answers = await exam_project(services, training=True)
    await add_worker(services, 1)
    # a missed first question: practice (3 questions: wrong, right, right), unpaid
    practice = await run_quiz(services, 1, project, answers, wrong={0})
    assert practice[-1].outcome is QuizOutcome.TRAINING_DONE
    # two misses in six cannot reach 5 of 6: failed, unpaid
    failed = await run_quiz(services, 1, project, answers, wrong={1, 2})
    assert failed[-1].result is not None and not failed[-1].result.passed
    assert failed[-1].result.paid == 0
    assert exam_pay(services) == []
    passed = await run_quiz(services, 1, project, answers)
    result = passed[-1].result
    assert result is not None and result.passed
    attempts = [a for a in quiz_attempts(services.db) if a.worker_id == 1]
    assert [a.phase for a in attempts] == ["training", "exam", "exam"]
    paid_attempt = attempts[-1].id
    # only the passed attempt's own questions, not practice's nor the failed one's
    assert exam_pay(services) == [(1, "bonus", "available", "quiz",
                                   asked(services, paid_attempt) * PRICE,
                                   f"quiz:{paid_attempt}")]
    stats = next(s for s in await services.reports.stats() if s.name == "reviews")
    unpaid = asked(services, attempts[0].id) + asked(services, attempts[1].id)
    assert stats.quiz_answers == unpaid + asked(services, paid_attempt)
    assert stats.paid_exam_answers == asked(services, paid_attempt)
    assert (stats.qualified, stats.unpaid_per_qualified) == (1, float(unpaid))


async def test_an_exam_that_is_not_paid_pays_nothing(services: Services) -> None:
    project, answers = await exam_project(services, paid=False)
    await add_worker(services, 1)
    result = (await run_quiz(services, 1, project, answers))[-1].result
    assert result is not None and result.passed and result.paid == 0
    assert exam_pay(services) == [] and ledger_entries(services.db) == []
    stats = next(s for s in await services.reports.stats() if s.name == "reviews")
    assert stats.paid_exam_answers == 0
    assert stats.unpaid_per_qualified == stats.quiz_per_qualified == result.total


async def test_a_free_project_pays_nothing_even_when_paid(services: Services) -> None:
    project, answers = await exam_project(services, reward="0")
    await add_worker(services, 1)
    result = (await run_quiz(services, 1, project, answers))[-1].result
    assert result is not None and result.passed and result.paid == 0
    assert ledger_entries(services.db) == []


# -- what the worker reads ---------------------------------------------------------------

def _spec(paid: bool = True) -> Project:
    spec = parse_project(sentiment_doc(quiz={"questions": 6, "paid": paid}))
    return Project(1, spec, "open")


def _no_english(text: str, language: str) -> list[str]:
    """English words left once the amounts (``US$0.08``: a currency sign) are removed."""
    for micros in (PRICE, 4 * PRICE):
        text = text.replace(format_money(micros, "USD", language), " ")
    return _ascii_words(text)


def test_the_result_says_what_was_paid_in_each_language() -> None:
    result = ExamResult(4, 4, 5, True, None, 2, (), 6, 80, None, 4 * PRICE, PRICE, "USD")
    for language in ("en", "ko", "zh"):
        text = result_text(_spec(), result, gettext_for(language))
        assert format_money(4 * PRICE, "USD", language) in text
        assert format_money(PRICE, "USD", language) in text
        if language != "en":
            assert _no_english(text, language) == [], text
    assert "Your 4 exam answers are paid: $0.08 ($0.02 each)" in \
        result_text(_spec(), result, gettext_for("en"))
    unpaid = ExamResult(4, 4, 5, True, None, 2, (), 6, 80)
    assert "paid" not in result_text(_spec(), unpaid, gettext_for("en"))


def test_the_gate_says_the_exam_is_paid_before_it_starts() -> None:
    for training in (True, False):
        gate = Access(Gate.QUIZ, training=training, tries_left=3)
        for language in ("en", "ko", "zh"):
            text, _markup = gate_text(_spec(), gate, gettext_for(language))
            assert format_money(PRICE, "USD", language) in text, text
            if language != "en":
                assert _no_english(text, language) == [], text
        english, _markup = gate_text(_spec(), gate, gettext_for("en"))
        assert "This exam is paid" in english
        plain, _markup = gate_text(_spec(paid=False), gate, gettext_for("en"))
        assert "paid" not in plain and "$" not in plain


def test_project_says_how_many_exam_answers_were_paid() -> None:
    stats = ProjectStats("reviews", "sentiment", "open", "USD", 0, 0, 0, 0, 0, 0, 0, 0, 0,
                         None, None, False, quiz_answers=40, qualified=5,
                         paid_exam_answers=30)
    assert quiz_cost(stats, True, gettext_for("en")) == (
        "Quiz: 40 answers, 5 workers passed; 30 answers of passed exams were paid, so 2 "
        "unpaid answers per qualified worker.")
    for language in ("ko", "zh"):
        text = quiz_cost(stats, True, gettext_for(language))
        assert all(n in text for n in ("40", "5", "30", "2")) and not _ascii_words(text)
    unpaid = replace(stats, paid_exam_answers=0)
    assert quiz_cost(unpaid, False, gettext_for("en")) == (
        "Quiz: 40 answers, 5 workers passed; 8 answers per qualified worker.")


def test_tapwork_stats_counts_the_paid_exam_answers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "tapwork.db"\n')

    async def pass_a_paid_exam() -> int:
        services = await Services.open(load_config(config), FakeClock())
        try:
            project, answers = await exam_project(services)
            await add_worker(services, 1)
            result = (await run_quiz(services, 1, project, answers))[-1].result
            assert result is not None and result.passed
            return result.total
        finally:
            await services.close()

    total = asyncio.run(pass_a_paid_exam())
    assert main(["stats", "-c", str(config)]) == 0
    assert f"{total:g} ({total}/1), {total} paid" in capsys.readouterr().out
    assert main(["stats", "-c", str(config), "--json"]) == 0
    [stats] = json.loads(capsys.readouterr().out)
    assert (stats["quiz_answers"], stats["paid_exam_answers"]) == (total, total)
    assert stats["spent"] == total * PRICE  # paid out of the project's money at once


# -- on a phone --------------------------------------------------------------------------

async def test_a_phone_passes_a_paid_exam_and_a_replayed_answer_pays_once(
        bot: Running, tmp_path: Path) -> None:
    doc = sentiment_doc(quiz={"questions": 6, "pass": 0.8, "training": False,
                              "paid": True})
    await bot.services.catalog.save(parse_project(doc))
    truth = {f"quiz: sentence {i}": LABELS[i % 3] for i in range(8)}
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps({"id": f"q{i}", "text": text, "gold": gold,
                                        "quiz": True}) + "\n"
                            for i, (text, gold) in enumerate(truth.items()))
                    + "".join(json.dumps({"id": f"w{i}", "text": f"work {i}"}) + "\n"
                              for i in range(3)))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    phone = bot.server.phone(700, "Min", language_code="ko")
    gate = await join(phone, "reviews")
    assert "이 시험은 보수가 있어요" in (phone.text(gate) or "")
    await phone.tap(phone.buttons(gate)[0][0], gate)  # ▶️ start the exam
    tap = None
    for _ in range(6):
        message = await phone.wait_text("quiz: sentence")
        shown = phone.text(message) or ""
        gold = next(g for t, g in truth.items() if t in shown)
        data = next(b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
                    for b in row if (q := QuizAnswer.parse(b.get("callback_data")))
                    and q.choice == LABELS.index(gold))
        tap = await phone.tap_data(message, data)
        done = await phone.wait_for(lambda p, s=shown: p.text() if p.text() != s else None)
        if "합격했어요" in done:
            break
    assert tap is not None
    bot.server.replay(tap)  # the last answer's update delivered again
    bot.server.replay(tap)
    await bot.server.wait_drained()
    paid = exam_pay(bot.services)
    assert len(paid) == 1 and paid[0][0] == 700
    attempt = int(paid[0][5].removeprefix("quiz:"))
    assert paid[0][4] == asked(bot.services, attempt) * PRICE
    result = phone.text() or ""
    assert format_money(paid[0][4], "USD", "ko") in result
    assert _no_english(result.replace(format_money(paid[0][4], "USD", "ko"), " "),
                       "ko") == [], result
