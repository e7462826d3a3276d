"""End to end: hostile and clumsy input through the stand-in (issue 11). Each test first
reproduced a defect the attack campaign found."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.domain.projects import parse_project
from handlers.callbacks import Answer, Pick, QuizAnswer, QuizStart
from tests.conftest import OPERATOR_ID, Running, sentiment_doc
from tests.state import broadcast_count, quiz_attempt_count

WRONG = "something went wrong"


async def quiz_project(bot: Running, tmp_path: Path) -> int:
    project, _ = await bot.services.catalog.save(parse_project(sentiment_doc(
        quiz={"questions": 2, "pass": 0.5, "training": False})))
    file = tmp_path / "items.jsonl"
    file.write_text("".join(json.dumps(i) + "\n" for i in [
        {"id": "w1", "text": "work"},
        {"id": "q1", "text": "quiz one", "quiz": True, "gold": "positive"},
        {"id": "q2", "text": "quiz two", "quiz": True, "gold": "positive"}]))
    assert (await bot.services.catalog.import_file("reviews", file)).ok
    return project.id


@pytest.mark.parametrize("known", [False, True], ids=["no-row", "row-without-consent"])
async def test_no_quiz_or_work_without_consent(bot: Running, tmp_path: Path,
                                               known: bool) -> None:
    project_id = await quiz_project(bot, tmp_path)
    phone = bot.server.phone(600, "Eve")
    if known:
        await bot.services.workers.seen(600, "Eve", "en")
    # a custom client sends the quiz start (and a task pick) with no consent given
    await phone.send("/help")
    help_text = await phone.wait_text("/tasks")
    for data in (QuizStart(project_id).pack(), Pick(project_id).pack(),
                 QuizAnswer(1, 0, 0).pack(), Answer(1, 0).pack()):
        await phone.tap_data(help_text, data)
        await phone.wait_for(lambda p: sum("Before you start" in (p.text(m) or "")
                                           for m in p.messages) >= 1)
    await phone.send("/tasks")
    await phone.send("I think it is positive")
    await asyncio.sleep(0.3)
    assert quiz_attempt_count(bot.services.db) == 0
    texts = [phone.text(m) or "" for m in phone.messages]
    assert not any(WRONG in t for t in texts)
    assert sum("Before you start" in t for t in texts) >= 3
    worker = await bot.services.workers.get(600)
    assert worker is not None and worker.consent_at is None
    # agreeing from the notice the quiz start brought goes on to that project
    first = next(m for m in phone.messages if "Before you start" in (phone.text(m) or ""))
    await phone.tap("✅ I agree", first)
    await phone.wait_text("The exam has up to 2 questions")


@pytest.mark.parametrize("command", ["/quick ²", "/quick ٣", "/quick 99999999999999999999",
                                     "/reject ² reason", "/worker ²",
                                     "/worker 99999999999999999999999"])
async def test_odd_numbers_get_the_usage_line(bot: Running, command: str) -> None:
    operator = bot.server.phone(OPERATOR_ID, "Op")
    await bot.services.workers.seen(OPERATOR_ID, "Op", "en")
    await bot.services.workers.consent(OPERATOR_ID)
    await operator.send(command)
    reply = await operator.wait_text("Use: /")
    assert command.split()[0] in (operator.text(reply) or "")
    assert not any(WRONG in (operator.text(m) or "") for m in operator.messages)


async def test_a_huge_number_in_callback_data_is_refused_politely(bot: Running) -> None:
    phone = bot.server.phone(610, "Ann")
    await phone.send("/start")
    notice = await phone.wait_text("Before you start")
    await phone.tap_data(notice, "ok:99999999999999999999999999999")
    await phone.wait_alert()
    assert phone.alerts[-1] == "Sorry, this button does not work any more."
    await phone.tap_data(notice, "p:99999999999999999999999999999")
    await phone.wait_alert(2)
    assert not any(WRONG in (phone.text(m) or "") for m in phone.messages)


async def test_editing_a_broadcast_command_does_not_send_it_again(bot: Running,
                                                                  tmp_path: Path) -> None:
    await quiz_project(bot, tmp_path)
    worker = bot.server.phone(620, "W")
    await bot.services.workers.seen(620, "W", "en")
    await bot.services.workers.consent(620)
    operator = bot.server.phone(OPERATOR_ID, "Op")
    sent = await operator.send("/broadcast reviews Come back, new tasks!")
    await operator.wait_text("Broadcast #1 to 1 workers started")
    await worker.wait_text("Come back")
    await operator.edit(sent, "/broadcast reviews Come back, new tasks for you!")
    await operator.wait_text("Edited messages are not read")
    await asyncio.sleep(0.3)
    assert len(worker.messages) == 1
    assert len(await bot.services.broadcasts.unfinished()) == 0
    assert broadcast_count(bot.services.db) == 1
