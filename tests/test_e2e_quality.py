"""End to end: quiz, cooldown, gold feedback, suspension and dynamic overlap on a phone."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.domain.projects import parse_project
from bot.sim.crowd import answer_tasks, join, open_task, task_id
from bot.sim.phone import Phone
from handlers.callbacks import Pick
from tests.conftest import FixedRandom, Running, sentiment_doc
from tests.state import assignments, quiz_attempts, quiz_questions, with_items

LABEL = {"positive": "😊 Positive", "neutral": "😐 Neutral", "negative": "🙁 Negative"}
WRONG = {"positive": "🙁 Negative", "neutral": "😊 Positive", "negative": "😊 Positive"}

QUIZ = [("quiz: what a lovely day", "positive"), ("quiz: the bus leaves at noon", "neutral"),
        ("quiz: this is awful", "negative")]
GOLD = [("check: I adore this", "positive"), ("check: it is grey", "neutral"),
        ("check: worst ever", "negative")]


async def load(bot: Running, tmp_path: Path, name: str, items: list[dict[str, object]],
               **doc: object) -> int:
    project, _ = await bot.services.catalog.save(parse_project(sentiment_doc(name, **doc)))
    file = tmp_path / f"{name}.jsonl"
    file.write_text("".join(json.dumps(i) + "\n" for i in items))
    result = await bot.services.catalog.import_file(name, file)
    assert result.ok, result.errors
    await bot.services.broadcasts.notify_events()  # before anyone joins: nobody to tell
    return project.id


def truth_of(text: str) -> str:
    for sentence, label in QUIZ + GOLD:
        if sentence in text:
            return label
    return "neutral"


async def answer_question(phone: Phone, right: bool) -> None:
    message = phone.last
    assert message is not None
    shown = phone.text(message) or ""
    label = truth_of(shown)
    await phone.tap(LABEL[label] if right else WRONG[label], message)
    await phone.wait_for(lambda p: (p.text() or "") != shown)  # the next question is up


async def test_quiz_cooldown_gold_feedback_and_suspension(bot: Running,
                                                          tmp_path: Path) -> None:
    items: list[dict[str, object]] = [
        {"id": f"q{i}", "text": t, "gold": g, "quiz": True, "explain": f"because {g}"}
        for i, (t, g) in enumerate(QUIZ)]
    items += [{"id": f"g{i}", "text": t, "gold": g, "explain": {"en": f"it is {g}"}}
              for i, (t, g) in enumerate(GOLD)]
    items += [{"id": f"w{i}", "text": f"work item {i}"} for i in range(6)]
    project_id = await load(bot, tmp_path, "qualified", items, gold_rate=1.0, min_gold=2,
                            min_accuracy=0.7,
                            quiz={"questions": 3, "pass": 1.0, "attempts": 3,
                                  "cooldown_hours": 24})
    phone = bot.server.phone(300, "Eun")
    gate = await join(phone, "qualified")
    assert "practice round" in (phone.text(gate) or "")
    assert task_id(gate) is None

    # a forged tap for the project changes nothing: no task for the unqualified
    await phone.tap_data(gate, Pick(project_id).pack())
    await phone.wait_for(lambda p: "practice round" in (p.text() or ""))
    assert [a for a in assignments(bot.services.db) if a.worker_id == 300] == []

    # the exam first; its first question missed turns it into the practice round
    await phone.tap("▶️ Start the exam")
    await phone.wait_text("Exam question 1 of at most 3")
    await answer_question(phone, right=False)
    note = await phone.wait_text("Practice 2 of at most 3")
    assert "✗ Not quite. The right answer is:" in (phone.text(note) or "")
    assert "because" in (phone.text(note) or "")
    assert "That first question was practice, so it does not count" in (
        phone.text(note) or "")
    await answer_question(phone, right=True)
    await phone.wait_text("Practice 3 of at most 3")
    await answer_question(phone, right=True)
    done = await phone.wait_text("Practice finished")
    assert "you need 3 of them right" in (phone.text(done) or "")

    await phone.tap("▶️ Start the exam")
    await phone.wait_text("Exam question 1 of at most 3")
    # every answer must be right: the first miss fails at once, no pointless third
    for right in (True, False):
        await answer_question(phone, right=right)
    result = await phone.wait_text("Exam finished early")
    text = phone.text(result) or ""
    assert "1 of 2 right." in text and "What you missed" in text
    assert "Tries left: 2" in text

    # still in the cooldown: the exam cannot be started again
    await phone.tap("📋 Other projects")
    await phone.wait_text("Pick a project")
    await phone.tap(next(b for row in phone.buttons() for b in row if "Reviews" in b))
    await phone.wait_text("You can take the exam again from")

    bot.clock.advance(hours=25)
    await phone.tap("📋 Other projects")
    await phone.wait_text("Pick a project")
    await phone.tap(next(b for row in phone.buttons() for b in row if "Reviews" in b))
    await phone.wait_text("The exam has up to 3 questions")
    await phone.tap("▶️ Start the exam")
    await phone.wait_text("Exam question 1 of at most 3")
    for _ in range(3):
        await answer_question(phone, right=True)
    await phone.wait_text("You passed!")
    # 3 of 3 right proves the worker, who is then checked at half gold_rate: the draw is
    # fixed so that a gold check comes first
    bot.services.work.rng = FixedRandom(0.0)
    await phone.tap("▶️ Start working")
    task = await phone.wait_for(open_task)
    assert "check:" in (phone.text(task) or "")  # a gold check comes first

    await phone.tap(WRONG[truth_of(phone.text(task) or "")], task)
    explained = await phone.wait_for(
        lambda p: p.last if "Not quite" in (p.text() or "") else None)
    assert "it is" in (phone.text(explained) or "")  # the explain text, at once
    await phone.tap(WRONG[truth_of(phone.text(explained) or "")], explained)
    paused = await phone.wait_text("You are paused from this project")
    assert "70%" in (phone.text(paused) or "") and task_id(paused) is None
    access = await bot.services.work.access(300, await bot.services.catalog.get("qualified"))
    assert access.reason == "gold"
    # quiz answers are never work
    assert [a for a, i in with_items(bot.services.db) if a.worker_id == 300 and i.quiz] == []


async def test_a_strong_worker_skips_practice_and_passes_after_six(bot: Running,
                                                                   tmp_path: Path) -> None:
    """Issue 13: practice only after a missed first question, and 8 of 10 is settled after
    6 right answers, so a strong worker reaches paid work after 6 quiz answers, not 15."""
    items: list[dict[str, object]] = [
        {"id": f"q{i}", "text": f"quiz: a lovely day {i}", "gold": "positive", "quiz": True}
        for i in range(12)]
    items += [{"id": f"w{i}", "text": f"work item {i}"} for i in range(3)]
    await load(bot, tmp_path, "strong", items,
               quiz={"questions": 10, "pass": 0.8, "training": True})
    phone = bot.server.phone(310, "Ha")
    gate = await join(phone, "strong")
    shown = phone.text(gate) or ""
    assert "The exam has up to 10 questions; you need 8 of them right" in shown
    assert "If you miss the first question, it does not count" in shown
    assert "until you get 2 right in a row (at most 5 questions)" in shown
    await phone.tap("▶️ Start the exam", gate)
    for n in range(1, 7):
        await phone.wait_text(f"Exam question {n} of at most 10")
        await phone.tap(LABEL["positive"])
    result = await phone.wait_text("Exam finished early")
    text = phone.text(result) or ""
    assert "6 of 6 right." in text and "You passed!" in text
    assert "What you missed" not in text
    assert not any("Exam question 7" in (phone.text(m) or "") or "Practice" in (
        phone.text(m) or "") for m in phone.messages)
    questions = quiz_questions(bot.services.db)
    assert [(a.phase, sum(1 for q in questions if q.attempt_id == a.id),
             sum(1 for q in questions if q.attempt_id == a.id and q.answer is not None))
            for a in quiz_attempts(bot.services.db) if a.worker_id == 310] \
        == [("exam", 6, 6)]
    await phone.tap("▶️ Start working", result)
    task = await phone.wait_for(open_task)
    assert "work item" in (phone.text(task) or "")


async def test_dynamic_overlap_stops_on_agreement_and_asks_more_on_disagreement(
        bot: Running, tmp_path: Path) -> None:
    for name in ("agree", "dispute"):
        await load(bot, tmp_path, name, [{"id": "x", "text": f"{name} item"}],
                   overlap=2, max_overlap=4, confidence=0.9)
    phones = [bot.server.phone(400 + i, f"P{i}") for i in range(5)]

    async def answer_with(phone: Phone, project: str, label: str) -> None:
        await join(phone, project)
        assert await answer_tasks(phone, lambda text, buttons: label, limit=1) == 1

    await answer_with(phones[0], "agree", "😊 Positive")
    await answer_with(phones[1], "agree", "😊 Positive")
    late = await join(phones[2], "agree")
    assert task_id(late) is None  # two agreeing answers were enough

    await answer_with(phones[0], "dispute", "😊 Positive")
    await answer_with(phones[1], "dispute", "🙁 Negative")
    await answer_with(phones[2], "dispute", "😊 Positive")  # 2-1: still not sure enough
    await answer_with(phones[3], "dispute", "😊 Positive")  # the fourth is the maximum
    assert task_id(await join(phones[4], "dispute")) is None
    out = io.StringIO()
    await bot.services.reports.export("dispute", out)
    (row,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert row["label"] == "positive" and 0 < row["confidence"] <= 1
